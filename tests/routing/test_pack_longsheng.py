"""龙胜各族自治县 (regulation 003): one row per article the longsheng pack implements.

Each row is named after the article (as the pack's ``basis`` cites it) and checks the loaded Policy
and, where the rule is about text, what ``routing.rules`` decides on a realistic message.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from intake.core.text import normalize
from routing import policy as policies
from routing import rules
from routing.policy import Deadline, Extension, FollowUp, Hours, Limit, NoReply, Ratings, Rehandle
from routing.workdays import WorkdayCalendar, due_date
from tests.routing.packs import check_urgent, decide_under, urgent_cases

PACK = policies.load("longsheng")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, a normal working day


def decide(text: str) -> tuple[str, str, str | None]:
    return decide_under(PACK, text)


# ---------------------------------------------------------------- the Policy object

# article, what the row checks, field, expected value
FIELDS = [
    (
        "003 第十二条(二)",
        "limits counted from the next working day",
        lambda p: p.counting,
        "next_working_day",
    ),
    (
        "003 第十二条(二)7",
        "urgent: finished within 24 hours",
        lambda p: p.urgent_deadline,
        Deadline(hours=24, basis="003 第十二条(二)7"),
    ),
    ("003 第十七条", "接诉即办 topics are urgent", lambda p: p.urgent_topics.basis, "003 第十七条"),
    (
        "003 第一条; 国办发〔2020〕53号",
        "110, 119, 120, 122 (96333 falls back to 119)",
        lambda p: (p.emergency_basis, sorted({line.number for line in p.emergency_lines})),
        ("003 第一条; 国办发〔2020〕53号", ["110", "119", "120", "122"]),
    ),
    (
        "003 第四条(三)",
        "party, congress, CPPCC, discipline, courts, procuratorate, army",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "003 第四条(三)"),
        ["congress", "court", "cppcc", "discipline", "military", "organization", "party", "procuratorate"],
    ),
    (
        "003 第四条(四)",
        "litigation (with information disclosure) and petitions",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "003 第四条(四)"),
        ["litigation", "petition"],
    ),
    (
        "003 第四条(三)",
        "the court reply names the county court",
        lambda p: "龙胜各族自治县人民法院" in next(r.reply for r in p.redirects if r.code == "court"),
        True,
    ),
    ("003 第四条", "no family redirect", lambda p: "family" in {r.code for r in p.redirects}, False),
    (
        "003 第四条",
        "declines",
        lambda p: [r.code for r in p.declines],
        [
            "duplicate",
            "already_resolved",
            "out_of_jurisdiction",
            "secret_or_privacy",
            "abusive",
            "no_content",
            "incomplete",
        ],
    ),
    ("003 第十二条(一)", "ordinary tickets: no signing limit", lambda p: p.handling.sign_within, None),
    (
        "003 第十二条(二)7",
        "urgent tickets signed within 30 minutes",
        lambda p: p.handling.urgent_sign_within,
        Limit(minutes=30, basis="003 第十二条(二)7"),
    ),
    (
        "003 第十二条(三)",
        "return within 1 working day of signing",
        lambda p: p.handling.return_within,
        Limit(working_days=1, basis="003 第十二条(三)"),
    ),
    (
        "003 第十二条(三)",
        "urgent return within 30 minutes",
        lambda p: p.handling.urgent_return_within,
        Limit(minutes=30, basis="003 第十二条(三)"),
    ),
    (
        "003 第十二条(二)9",
        "extension: at most the original limit",
        lambda p: p.handling.extension,
        Extension(max_multiple=1, basis="003 第十二条(二)9", tell_citizen="003 第十二条(二)9"),
    ),
    (
        "003 第十二条(二)9",
        "a 24-hour urgent ticket is extended by at most 24 hours",
        lambda p: p.handling.extension.longest(p.urgent_deadline).hours,
        24,
    ),
    (
        "003 第十三条(二)",
        "ratings named: 满意, 不满意",
        lambda p: p.survey.ratings,
        Ratings(values=("满意", "不满意"), basis="003 第十三条(二)"),
    ),
    (
        "003 第十三条(二)",
        "no SMS reply in 24 hours counts as 满意",
        lambda p: p.survey.no_reply,
        NoReply(rating="满意", after=Limit(hours=24, basis="003 第十三条(二)"), basis="003 第十三条(二)"),
    ),
    (
        "003 第十三条(三)",
        "a first 不满意 goes to a person",
        lambda p: p.survey.person_follow_up,
        FollowUp(after_unsatisfied=1, basis="003 第十三条(三)"),
    ),
    (
        "003 第十三条(三)",
        "and back to the unit, with no count",
        lambda p: p.survey.rehandle,
        Rehandle(basis="003 第十三条(三)"),
    ),
    (
        "003 第十一条(二)",
        "7 days × 24 hours",
        lambda p: p.hours,
        Hours(always_staffed=True, basis="003 第十一条(二)"),
    ),
    ("003 第十一条(二)", "staffed at 3 a.m.", lambda p: p.hours.is_staffed(time(3)), True),
    (
        "003 第二十四条(一)",
        "yellow and red cards, without thresholds",
        lambda p: [(c.colour, c.unsigned_after, c.unreplied_after) for c in p.supervision.cards],
        [("yellow", None, None), ("red", None, None)],
    ),
    ("003 第二十四条(一)", "so no card can be computed", lambda p: p.supervision.card(5, 30), None),
    (
        "003 第十五条(二)",
        "a unit completes a knowledge question within 3 working days",
        lambda p: (p.knowledge.question_within, p.knowledge.basis),
        (Limit(working_days=3, basis="003 第十五条(二)"), "003 第十五条(二)"),
    ),
]


@pytest.mark.parametrize("field, expected", [pytest.param(f, e, id=f"{a} {w}") for a, w, f, e in FIELDS])
def test_policy_field(field, expected):
    assert field(PACK) == expected


# article, category, working days, due for a ticket dispatched Monday 2026-11-23 10:00
DEADLINES = [
    ("003 第十二条(二)1", "consult", 2, "2026-11-25"),
    ("003 第十二条(二)2", "help", 3, "2026-11-26"),
    ("003 第十二条(二)3", "suggestion", 5, "2026-11-30"),
    ("003 第十二条(二)4", "complaint", 10, "2026-12-07"),
    ("003 第十二条(二)5", "report", 10, "2026-12-07"),
    ("003 第三条", "praise", 2, "2026-11-25"),
]


@pytest.mark.parametrize(
    "article, category, days, due",
    [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]} working days") for row in DEADLINES],
)
def test_category_deadline(article, category, days, due):
    assert PACK.deadline_for(category) == Deadline(working_days=days, basis=article)
    got = due_date(WorkdayCalendar(), NOW, TZ, working_days=days, counting=PACK.counting)
    assert got == due


def test_003_第十二条_二_7_an_outage_is_due_in_24_hours():
    assert rules.is_urgent(normalize("我们村停水三天了，一直没人来修").match, PACK)
    got = due_date(WorkdayCalendar(), NOW, TZ, hours=PACK.urgent_deadline.hours)
    assert got == "2026-11-24T10:00:00+08:00"


def test_003_第三条_praise_is_its_own_category():
    assert rules.classify(normalize("感谢龙胜镇卫生院的医生，服务态度特别好").match, PACK) == "praise"
    assert "praise" in PACK.categories


# ---------------------------------------------------------------- decisions on messages

EMERGENCY = "003 第一条; 国办发〔2020〕53号"

# article, message, expected (kind, code); the decision's basis must be the article
DECISIONS = [
    (EMERGENCY, "电梯突然停了，我和孩子被困在电梯里出不来，快来人", ("transfer", "119")),
    (EMERGENCY, "国道上两辆车相撞了，司机被卡在车里", ("transfer", "122")),
    (EMERGENCY, "楼下厨房着火了，冒了好大的烟", ("transfer", "119")),
    (EMERGENCY, "我爸突然晕倒了，叫不醒", ("transfer", "120")),
    (EMERGENCY, "楼下有人拿着刀在砍人", ("transfer", "110")),
    ("003 第四条(三)", "我的党组织关系怎么转过来", ("redirect", "party")),
    ("003 第四条(三)", "法院判决对方还钱，到现在也不执行", ("redirect", "court")),
    ("003 第四条(三)", "我儿子在部队当兵，想问问部队的探亲假怎么休", ("redirect", "military")),
    ("003 第四条(三)", "村支书贪污扶贫款，我要举报", ("redirect", "discipline")),
    ("003 第四条(三)", "这次干部提拔任前公示的人有问题", ("redirect", "organization")),
    ("003 第四条(四)", "我想申请政府信息公开，查一下我们村的征地批复", ("redirect", "litigation")),
    ("003 第四条(四)", "这个事我已经去信访局上访过了，还是没解决", ("redirect", "petition")),
    ("003 第四条(一)", "阳朔那边有家饭店宰客，我要投诉", ("decline", "out_of_jurisdiction")),
    ("003 第四条(二)", "帮我查一下我前妻现在的住址", ("decline", "secret_or_privacy")),
    ("003 第四条(六)", "你们这帮废物，什么都不管", ("decline", "abusive")),
    ("003 第四条(七)", "你好！", ("decline", "no_content")),
    ("003 第四条(七)", "我要投诉", ("decline", "incomplete")),
]


@pytest.mark.parametrize(
    "article, text, expected",
    [pytest.param(*row, id=f"{row[0]} {row[2][0]} {row[2][1]}") for row in DECISIONS],
)
def test_decision(article, text, expected):
    kind, code, basis = decide(text)
    assert (kind, code) == expected
    assert basis == article


# What 003 does not name is accepted: the article that sets the scope, the message, the category.
NOT_NAMED = [
    ("003 第四条", "no family redirect", "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下", "help"),
    (
        "003 第四条",
        "no anonymous-rights decline",
        "老板拖欠我三个月工资不给，我不想留名字和电话",
        "complaint",
    ),
    ("003 第四条(一)", "a town of 龙胜 is in the jurisdiction", "龙脊镇有家饭店宰客，我要投诉", "complaint"),
]


@pytest.mark.parametrize("text, category", [pytest.param(t, c, id=f"{a} {w}") for a, w, t, c in NOT_NAMED])
def test_accepted(text, category):
    assert decide(text) == ("accept", category, None)


def test_show_prints_the_003_rules(cli):
    result = cli("policy", "show", "longsheng")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "urgent sign within   30 minutes" in out and "003 第十二条(二)7" in out
    assert "urgent return within 30 minutes" in out
    assert "no reply             满意 after 24 hours" in out
    assert "after the first 不满意" in out
    assert "staffed              7 × 24 h" in out
    assert "yellow card          no thresholds set" in out


# ---------------------------------------------------------------- urgent (突发): this pack's own kinds

# article, message, urgent under this pack, due for a ticket dispatched Monday 2026-11-23 10:00
URGENT = [
    ("003 第十七条", "跟团旅游，导游强制购物，我要投诉", True, "2026-11-24T10:00:00+08:00"),
    ("003 第十七条", "工地晚上施工噪音太大，吵得睡不着，我要投诉", True, "2026-11-24T10:00:00+08:00"),
    ("003 第十七条", "菜市场门口占道经营，车都过不去", True, "2026-11-24T10:00:00+08:00"),
    ("003 第十七条", "我们村停水三天了，一直没人来修", True, "2026-11-24T10:00:00+08:00"),
    ("003 第十七条", "工地上几十个工人聚集在公司门口讨要工资", False, "2026-11-26"),
]


@pytest.mark.parametrize("article, text, urgent, due", urgent_cases(URGENT))
def test_urgent_kinds(article, text, urgent, due):
    check_urgent(PACK, NOW, article, text, urgent, due)
