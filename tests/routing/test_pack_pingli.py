"""平利县 (regulation 002): one row per article the pingli pack implements.

Each row is named after the article (as the pack's ``basis`` cites it) and checks the loaded Policy
and, where the rule is about text, what ``routing.rules`` decides on a realistic message.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from intake.core.text import normalize
from routing import policy as policies
from routing import rules
from routing.policy import Deadline, Extension, FollowUp, Hours, Limit, Ratings, Rehandle
from routing.workdays import WorkdayCalendar, due_date
from tests.routing.packs import check_urgent, decide_under, urgent_cases

PACK = policies.load("pingli")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, a normal working day


def decide(text: str) -> tuple[str, str, str | None]:
    return decide_under(PACK, text)


# ---------------------------------------------------------------- the Policy object

# article, what the row checks, field, expected value
FIELDS = [
    ("002 第六条", "no praise category", lambda p: "praise" in p.categories, False),
    ("002 第十二条", "limits counted from the day after receipt", lambda p: p.counting, "next_working_day"),
    (
        "002 第二十二条",
        "urgent: finished within 2 working days",
        lambda p: p.urgent_deadline,
        Deadline(working_days=2, basis="002 第二十二条"),
    ),
    ("002 第二十二条", "urgent topics", lambda p: p.urgent_topics.basis, "002 第二十二条"),
    (
        "002 第二十二条",
        "urgent kinds: (一) outages, (二) disasters, (三) dangerous facilities",
        lambda p: p.urgent_topics.topics,
        ("outage", "network", "disaster", "manhole", "power_line", "road_collapse", "dangerous_facility"),
    ),
    (
        "002 第七条(二)",
        "110, 119, 120, 122 and 96333 all transfer",
        lambda p: [line.number for line in p.emergency_lines],
        ["110", "119", "122", "120", "96333"],  # listed in order of priority
    ),
    ("002 第八条(一)", "instant answers", lambda p: p.answer_basis, "002 第八条(一)"),
    (
        "002 第七条(三)",
        "party, congress, CPPCC, courts, procuratorate, army",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "002 第七条(三)"),
        ["congress", "court", "cppcc", "military", "party", "procuratorate"],
    ),
    (
        "002 第七条(四)",
        "litigation and petitions",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "002 第七条(四)"),
        ["litigation", "petition"],
    ),
    (
        "002 第七条(六)",
        "corruption is declined, but the citizen is told where to go",
        lambda p: [(r.code, "12388" in (r.reply or "")) for r in p.redirects if r.basis == "002 第七条(六)"],
        [("discipline", True)],
    ),
    (
        "002 第七条",
        "no organisation-department or family redirect",
        lambda p: {"organization", "family"} & {r.code for r in p.redirects},
        set(),
    ),
    (
        "002 第七条",
        "declines, in order",
        lambda p: [r.code for r in p.declines],
        [
            "duplicate",
            "already_resolved",
            "out_of_jurisdiction",
            "secret_or_privacy",
            "abusive",
            "no_content",
            "incomplete",
            "anonymous_rights",
        ],
    ),
    (
        "002 第十条(一)",
        "sign within 24 hours",
        lambda p: p.handling.sign_within,
        Limit(hours=24, basis="002 第十条(一)"),
    ),
    (
        "002 第二十二条",
        "urgent: handle within 2 hours",
        lambda p: p.handling.urgent_sign_within,
        Limit(hours=2, basis="002 第二十二条"),
    ),
    (
        "002 第十条(二)",
        "return a wrong ticket within 2 working days",
        lambda p: p.handling.return_within,
        Limit(working_days=2, basis="002 第十条(二)"),
    ),
    (
        "002 第十三条",
        "extension: twice at most, each the original limit, never for urgent tickets",
        lambda p: p.handling.extension,
        Extension(
            max_count=2,
            max_multiple=1,
            excludes_urgent=True,
            basis="002 第十三条",
            tell_citizen="002 第十四条",
        ),
    ),
    (
        "002 第十三条",
        "a 2-day consultation is extended 2 working days at a time",
        lambda p: p.handling.extension.longest(p.categories["consult"]).working_days,
        2,
    ),
    (
        "002 第十七条",
        "ratings: 满意, 基本满意, 不满意",
        lambda p: p.survey.ratings,
        Ratings(values=("满意", "基本满意", "不满意"), basis="002 第十七条"),
    ),
    (
        "002 第十八条",
        "a first 不满意 is re-handled once within 5 working days",
        lambda p: p.survey.rehandle,
        Rehandle(max_count=1, within=Limit(working_days=5, basis="002 第十八条"), basis="002 第十八条"),
    ),
    (
        "002 第二十条",
        "a second 不满意 goes to a person",
        lambda p: p.survey.person_follow_up,
        FollowUp(after_unsatisfied=2, basis="002 第二十条"),
    ),
    ("002 第二十条", "no default for a silent citizen", lambda p: p.survey.no_reply, None),
    (
        "002 第二十二条",
        "read as 7 × 24 hours (002 names no hours)",
        lambda p: p.hours,
        Hours(always_staffed=True, basis="002 第二十二条"),
    ),
    ("002 第二十六条", "no card rules", lambda p: p.supervision.cards, ()),
]


@pytest.mark.parametrize("field, expected", [pytest.param(f, e, id=f"{a} {w}") for a, w, f, e in FIELDS])
def test_policy_field(field, expected):
    assert field(PACK) == expected


# article, category, working days, due for a ticket dispatched Monday 2026-11-23 10:00
DEADLINES = [
    ("002 第十二条(一)", "consult", 2, "2026-11-25"),
    ("002 第十二条(二)", "help", 5, "2026-11-30"),
    ("002 第十二条(二)", "suggestion", 5, "2026-11-30"),
    ("002 第十二条(二)", "complaint", 5, "2026-11-30"),
    ("002 第十二条(二)", "report", 5, "2026-11-30"),
]


@pytest.mark.parametrize(
    "article, category, days, due",
    [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]} working days") for row in DEADLINES],
)
def test_category_deadline(article, category, days, due):
    assert PACK.deadline_for(category) == Deadline(working_days=days, basis=article)
    got = due_date(WorkdayCalendar(), NOW, TZ, working_days=days, counting=PACK.counting)
    assert got == due


# ---------------------------------------------------------------- decisions on messages

# article, message, expected (kind, code); the decision's basis must be the article
DECISIONS = [
    ("002 第七条(二)", "电梯突然停了，我和孩子被困在电梯里出不来，快来人", ("transfer", "96333")),
    ("002 第七条(二)", "国道上两辆车相撞了，司机被卡在车里", ("transfer", "122")),
    ("002 第七条(二)", "楼下厨房着火了，冒了好大的烟", ("transfer", "119")),
    ("002 第七条(二)", "我爸突然晕倒了，叫不醒", ("transfer", "120")),
    ("002 第七条(二)", "楼下有人拿着刀在砍人", ("transfer", "110")),
    ("002 第七条(三)", "我的党组织关系怎么转过来", ("redirect", "party")),
    ("002 第七条(三)", "法院判决对方还钱，到现在也不执行", ("redirect", "court")),
    ("002 第七条(三)", "我儿子在部队当兵，想问问部队的探亲假怎么休", ("redirect", "military")),
    ("002 第七条(四)", "公司拖欠工资，我准备申请劳动仲裁", ("redirect", "litigation")),
    ("002 第七条(四)", "这个事我已经去信访局上访过了，还是没解决", ("redirect", "petition")),
    ("002 第七条(六)", "村支书贪污扶贫款，我要举报", ("redirect", "discipline")),
    ("002 第七条(一)", "旬阳那边有个工地晚上施工噪音太大，我要投诉", ("decline", "out_of_jurisdiction")),
    ("002 第七条(五)", "帮我查一下我前妻现在的住址", ("decline", "secret_or_privacy")),
    ("002 第七条(八)", "你们这帮废物，什么都不管", ("decline", "abusive")),
    ("002 第七条(八)", "你好！", ("decline", "no_content")),
    ("002 第七条(九)", "我要投诉", ("decline", "incomplete")),
    ("002 第七条(十)", "老板拖欠我三个月工资不给，我不想留名字和电话", ("decline", "anonymous_rights")),
]


@pytest.mark.parametrize(
    "article, text, expected",
    [pytest.param(*row, id=f"{row[0]} {row[2][0]} {row[2][1]}") for row in DECISIONS],
)
def test_decision(article, text, expected):
    kind, code, basis = decide(text)
    assert (kind, code) == expected
    assert basis == article


def test_002_第七条_the_reply_names_the_article():
    """002 第七条 (last paragraph): the citizen is told that and why the matter is not accepted."""
    found = rules.detect_redirect(normalize("村支书贪污扶贫款，我要举报").match, PACK)
    assert found and "第七条（六）" in found.reply and "不予受理" in found.reply


# What 002 does not name is accepted: the article that sets the scope, the message, the category.
NOT_NAMED = [
    (
        "002 第七条(十)",
        "an anonymous report on a public matter",
        "匿名举报，城关镇有家饭店往河里偷排污水",
        "report",
    ),
    (
        "002 第七条(十)",
        "a rights claim that gives a phone number",
        "老板拖欠我三个月工资不给，我电话是13800000000",
        "complaint",
    ),
    ("002 第七条", "no organisation-department redirect", "这次干部提拔任前公示的人有问题", "help"),
    ("002 第七条", "no family redirect", "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下", "help"),
    (
        "002 第七条(四)",
        "no information-disclosure redirect",
        "我想申请政府信息公开，查一下我们村的征地批复",
        "help",
    ),
]


@pytest.mark.parametrize("text, category", [pytest.param(t, c, id=f"{a} {w}") for a, w, t, c in NOT_NAMED])
def test_accepted(text, category):
    assert decide(text) == ("accept", category, None)


def test_002_第二十二条_an_outage_is_urgent():
    assert rules.is_urgent(normalize("我们村停水三天了，一直没人来修").match, PACK)
    due = due_date(WorkdayCalendar(), NOW, TZ, working_days=2, counting=PACK.counting)
    assert due == "2026-11-25"


def test_show_prints_the_002_rules(cli):
    result = cli("policy", "show", "pingli")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sign within          24 hours" in out and "002 第十条(一)" in out
    assert "urgent sign within   2 hours" in out
    assert "at most 1 × the original limit; 2 times" in out and "not for urgent tickets" in out
    assert "满意 / 基本满意 / 不满意" in out
    assert "back to the unit: 1 time(s), each within 5 working days" in out
    assert "after the second 不满意" in out
    assert "  96333 " in out


# ---------------------------------------------------------------- urgent (突发): this pack's own kinds

# article, message, urgent under this pack, due for a ticket dispatched Monday 2026-11-23 10:00
URGENT = [
    ("002 第二十二条", "我们村停水三天了，一直没人来修", True, "2026-11-25"),
    ("002 第二十二条", "路口的井盖丢了，很危险", True, "2026-11-25"),
    ("002 第二十二条", "跟团旅游，导游强制购物，我要投诉", False, "2026-11-30"),
    ("002 第二十二条", "工地晚上施工噪音太大，吵得睡不着，我要投诉", False, "2026-11-30"),
    ("002 第二十二条", "工地上几十个工人聚集在公司门口讨要工资", False, "2026-11-30"),
]


@pytest.mark.parametrize("article, text, urgent, due", urgent_cases(URGENT))
def test_urgent_kinds(article, text, urgent, due):
    check_urgent(PACK, NOW, article, text, urgent, due)
