"""翁源县 (regulation 000): one row per article the wengyuan pack implements.

Each row is named after the article (as the pack's ``basis`` cites it) and checks the loaded Policy
and, where the rule is about text, what ``routing.rules`` decides on a realistic message.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.core.models import Ticket
from intake.core.text import normalize
from routing import policy as policies
from routing import rules
from routing.deadlines import Deadlines
from routing.policy import (
    Deadline,
    DeemedReplied,
    Extension,
    FollowUp,
    KeyItems,
    Limit,
    Ratings,
    Rehandle,
)
from routing.workdays import WorkdayCalendar, due_date
from tests.routing.packs import check_urgent, decide_under, urgent_cases

PACK = policies.load("wengyuan")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, a normal working day


def decide(text: str) -> tuple[str, str, str | None]:
    return decide_under(PACK, text)


# ---------------------------------------------------------------- the Policy object

# article, what the row checks, field, expected value
FIELDS = [
    ("000 第七条", "no praise category", lambda p: "praise" in p.categories, False),
    (
        "000 第十四条",
        "one incident reported by 3 different people in a day is a key item",
        lambda p: p.key_items,
        KeyItems(reporters=3, basis="000 第十四条"),
    ),
    ("000 第十六条", "limits counted from the next working day", lambda p: p.counting, "next_working_day"),
    (
        "000 第十六条",
        "urgent: reply within 2 working days",
        lambda p: p.urgent_deadline,
        Deadline(working_days=2, basis="000 第十六条"),
    ),
    ("000 第十四条", "urgent topics", lambda p: p.urgent_topics.basis, "000 第十四条"),
    (
        "000 第九条(三)",
        "transfers to 110, 119, 120 (122 falls back to 110)",
        lambda p: sorted({line.number for line in p.emergency_lines}),
        ["110", "119", "120"],
    ),
    ("000 第六条", "instant answers", lambda p: p.answer_basis, "000 第六条"),
    (
        "000 第九条(一)",
        "redirects: congress, CPPCC, 人武部, court, procuratorate, litigation; no party",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "000 第九条(一)"),
        ["congress", "court", "cppcc", "litigation", "military", "procuratorate"],
    ),
    (
        "000 第十条",
        "declines only what 第十条 and 第七条 name",
        lambda p: [r.code for r in p.declines],
        [
            "duplicate",
            "already_resolved",
            "out_of_jurisdiction",
            "secret_or_privacy",
            "consumer_mediated",
            "settled_history",
            "abusive",
            "no_content",
        ],
    ),
    (
        "000 第二十二条",
        "sign within 1 working day (the yellow-card limit)",
        lambda p: p.handling.sign_within,
        Limit(working_days=1, basis="000 第二十二条"),
    ),
    (
        "000 第十五条; 000 第十六条",
        "return a wrong ticket within 1 working day",
        lambda p: p.handling.return_within,
        Limit(working_days=1, basis="000 第十五条; 000 第十六条"),
    ),
    (
        "000 第十六条",
        "the return window opens at dispatch (分转至本单位起)",
        lambda p: p.handling.return_from,
        "dispatch",
    ),
    ("000 第十六条", "no urgent signing limit: 立即", lambda p: p.handling.urgent_sign_within, None),
    (
        "000 第十六条",
        "extension: at most the original limit, asked 2 working days before expiry",
        lambda p: p.handling.extension,
        Extension(
            max_multiple=1,
            ask_working_days_before_expiry=2,
            basis="000 第十六条",
            tell_citizen="000 第十六条",
        ),
    ),
    (
        "000 第十六条",
        "a 15-day complaint may be extended by at most 15 working days",
        lambda p: p.handling.extension.longest(p.categories["complaint"]).working_days,
        15,
    ),
    (
        "000 第十七条",
        "ratings: satisfied or not",
        lambda p: p.survey.ratings,
        Ratings(values=("满意", "不满意"), basis="000 第十七条"),
    ),
    (
        "000 第十九条",
        "call-back within 3 working days of closure",
        lambda p: p.survey.callback_within,
        Limit(working_days=3, basis="000 第十九条"),
    ),
    ("000 第十九条", "no default for a silent citizen", lambda p: p.survey.no_reply, None),
    (
        "000 第十九条",
        "an unsatisfied citizen is asked by a person",
        lambda p: p.survey.person_follow_up,
        FollowUp(after_unsatisfied=1, basis="000 第十九条"),
    ),
    (
        "000 第二十条",
        "re-handling with no count or limit",
        lambda p: p.survey.rehandle,
        Rehandle(basis="000 第二十条"),
    ),
    (
        "000 第十七条",
        "a unit that called the citizen in vain on 2 consecutive days has replied (视为已答复)",
        lambda p: p.handling.unreachable,
        DeemedReplied(days=2, basis="000 第十七条"),
    ),
    (
        "000 第十七条",
        "the article is the unit's, not the survey's: call-backs keep the deployment's defaults",
        lambda p: (p.survey.calls.unreachable, p.survey.calls.attempts, p.survey.calls.per_day),
        (None, 3, None),
    ),
    ("000 第十三条", "not staffed round the clock", lambda p: p.hours.always_staffed, False),
    ("000 第十三条", "voicemail outside staffed hours", lambda p: p.hours.off_hours, "voicemail"),
    ("000 第十三条", "the hours themselves are not given", lambda p: p.hours.is_staffed(time(10)), None),
    (
        "000 第二十二条",
        "green, yellow and red cards",
        lambda p: [(c.colour, c.basis) for c in p.supervision.cards],
        [("green", "000 第二十二条"), ("yellow", "000 第二十二条"), ("red", "000 第二十二条")],
    ),
]


@pytest.mark.parametrize("field, expected", [pytest.param(f, e, id=f"{a} {w}") for a, w, f, e in FIELDS])
def test_policy_field(field, expected):
    assert field(PACK) == expected


# article, category, working days, due for a ticket dispatched Monday 2026-11-23 10:00
DEADLINES = [
    ("000 第十六条", "consult", 5, "2026-11-30"),
    ("000 第十六条", "help", 5, "2026-11-30"),
    ("000 第十六条", "suggestion", 15, "2026-12-14"),
    ("000 第十六条", "complaint", 15, "2026-12-14"),
    ("000 第十六条", "report", 15, "2026-12-14"),
]


@pytest.mark.parametrize(
    "article, category, days, due",
    [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]} working days") for row in DEADLINES],
)
def test_category_deadline(article, category, days, due):
    spec = PACK.deadline_for(category)
    assert spec == Deadline(working_days=days, basis=article)
    got = due_date(WorkdayCalendar(), NOW, TZ, working_days=days, counting=PACK.counting)
    assert got == due


# article, yellow/red rule, whole working days unsigned, unreplied, card
CARDS = [
    ("000 第二十二条", "accepted and replied on time", 0, 4, "green"),
    ("000 第二十二条", "not accepted by the next working day", 1, 0, "yellow"),
    ("000 第二十二条", "not replied after 5 working days", 0, 5, "yellow"),
    ("000 第二十二条", "not accepted within 2 working days", 2, 0, "red"),
    ("000 第二十二条", "not replied after 15 working days", 0, 15, "red"),
]


@pytest.mark.parametrize(
    "unsigned, unreplied, card", [pytest.param(*row[2:], id=f"{row[0]} {row[1]}") for row in CARDS]
)
def test_supervision_card(unsigned, unreplied, card):
    assert PACK.supervision.card(unsigned, unreplied) == card


# ---------------------------------------------------------------- decisions on messages

# article, message, expected (kind, code); the decision's basis must be the article
DECISIONS = [
    ("000 第九条(三)", "楼下厨房着火了，冒了好大的烟", ("transfer", "119")),
    ("000 第九条(三)", "我爸突然晕倒了，叫不醒", ("transfer", "120")),
    ("000 第九条(三)", "楼下有人拿着刀在砍人", ("transfer", "110")),
    ("000 第九条(三)", "电梯突然停了，我和孩子被困在电梯里出不来，快来人", ("transfer", "119")),
    ("000 第九条(三)", "国道上两辆车相撞了，司机被卡在车里", ("transfer", "110")),
    ("000 第九条(一)", "今年征兵体检什么时候开始", ("redirect", "military")),
    ("000 第九条(一)", "法院判决对方还钱，到现在也不执行", ("redirect", "court")),
    ("000 第九条(一)", "我想联系我们选区的人大代表", ("redirect", "congress")),
    ("000 第九条(一)", "公司拖欠工资，我准备申请劳动仲裁", ("redirect", "litigation")),
    ("000 第九条(二)", "村支书贪污扶贫款，我要举报", ("redirect", "discipline")),
    ("000 第九条(二)", "这次干部提拔任前公示的人有问题", ("redirect", "organization")),
    ("000 第九条(四)", "这个事我已经去信访局上访过了，还是没解决", ("redirect", "petition")),
    ("000 第九条(五)", "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下", ("redirect", "family")),
    ("000 第十条(一)", "英德市区有家网吧噪音很大，投诉一下", ("decline", "out_of_jurisdiction")),
    ("000 第十条(二)", "帮我查一下我前妻现在的住址", ("decline", "secret_or_privacy")),
    ("000 第七条", "你好！", ("decline", "no_content")),
    (
        "000 第十条(四)",
        "我买的冰箱坏了，消协已经调解过了，商家答应换货但是现在又反悔了",
        ("decline", "consumer_mediated"),
    ),
    (
        "000 第十条(五)",
        "我家宅基地的历史遗留问题，镇里早就有了结论，但我还是不服",
        ("decline", "settled_history"),
    ),
    ("000 第十条(六)", "你们这帮废物，什么都不管", ("decline", "abusive")),
]


@pytest.mark.parametrize(
    "article, text, expected",
    [pytest.param(*row, id=f"{row[0]} {row[2][0]} {row[2][1]}") for row in DECISIONS],
)
def test_decision(article, text, expected):
    kind, code, basis = decide(text)
    assert (kind, code) == expected
    assert basis == article


# What 000 does not name is accepted: the article that sets the scope, the message, the category.
NOT_NAMED = [
    ("000 第九条(一)", "no party committee redirect", "我的党组织关系怎么转过来", "consult"),
    (
        "000 第九条(一)",
        "only the 人武部, not the army",
        "我儿子在部队当兵，想问问部队的探亲假怎么休",
        "consult",
    ),
    (
        "000 第九条(一)",
        "no information-disclosure redirect",
        "我想申请政府信息公开，查一下我们村的征地批复",
        "help",
    ),
    (
        "000 第十条(六)",
        "a matter told angrily is still a matter",
        "路灯坏了一个月都没人修，你们这帮废物",
        "help",
    ),
    ("000 第十条(四)", "a consumer complaint nobody handled", "我去消协投诉过，一直没人管", "complaint"),
    (
        "000 第十条(五)",
        "a historical matter with no conclusion",
        "我们村的历史遗留问题拖了十年没解决",
        "help",
    ),
    ("000 第十条", "no incomplete decline", "我要投诉", "complaint"),
    ("000 第十条(一)", "a product named after a neighbour", "在翁城镇买的英德红茶是假货，要投诉", "report"),
    ("000 第九条(三)", "a routine question is no emergency", "救护车费用医保能报销吗", "consult"),
]


@pytest.mark.parametrize("text, category", [pytest.param(t, c, id=f"{a} {w}") for a, w, t, c in NOT_NAMED])
def test_accepted(text, category):
    assert decide(text) == ("accept", category, None)


def test_000_第十四条_an_outage_is_urgent():
    assert rules.is_urgent(normalize("我们村停水三天了，一直没人来修").match, PACK)
    due = due_date(WorkdayCalendar(), NOW, TZ, working_days=2, counting=PACK.counting)
    assert due == "2026-11-25"


def test_show_prints_the_000_rules(cli):
    result = cli("policy", "show", "wengyuan")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sign within          1 working day" in out and "000 第二十二条" in out
    assert "ask 2 working days before expiry" in out
    assert "counted from the dispatch" in out  # 000 第十六条
    assert "vain calls on 2 days count as replied" in out  # 000 第十七条
    assert "callback within      3 working days" in out
    assert "off hours            voicemail" in out
    assert "yellow card          not signed after 1 working day" in out
    assert "or not replied after 15 working days" in out


def test_check_asks_for_the_staffed_hours_000_第十三条_leaves_to_the_office(cli, tmp_path):
    result = cli("policy", "check", "wengyuan")
    assert result.exit_code == 1 and "hours.staffed" in result.stdout and "000 第十三条" in result.stdout
    county = tmp_path / "county.yaml"
    county.write_text(
        'base: wengyuan\nname: county\nhours:\n  staffed: ["08:00-12:00", "14:30-17:30"]\n', "utf-8"
    )
    assert cli("policy", "check", str(county)).exit_code == 0


# ---------------------------------------------------------------- urgent (突发): this pack's own kinds

# article, message, urgent under this pack, due for a ticket dispatched Monday 2026-11-23 10:00
URGENT = [
    ("000 第十四条", "我们村停水三天了，一直没人来修", True, "2026-11-25"),
    ("000 第十四条", "工地上几十个工人聚集在公司门口讨要工资", True, "2026-11-25"),
    ("000 第十四条", "学校食堂好多学生吃了午饭上吐下泻", True, "2026-11-25"),
    ("000 第十四条", "跟团旅游，导游强制购物，我要投诉", False, "2026-12-14"),
    ("000 第十四条", "工地晚上施工噪音太大，吵得睡不着，我要投诉", False, "2026-12-14"),
    ("000 第十四条", "菜市场门口占道经营，车都过不去", False, "2026-12-14"),
]


@pytest.mark.parametrize("article, text, urgent, due", urgent_cases(URGENT))
def test_urgent_kinds(article, text, urgent, due):
    check_urgent(PACK, NOW, article, text, urgent, due)


# ---------------------------------------------------------------- 000 第十六条: returns counted from dispatch


@pytest.mark.parametrize(
    "pack, signed, last_day",
    [
        # dispatched Monday 10:00 and signed Tuesday 09:00; 1 working day either way
        ("wengyuan", None, "2026-11-24"),  # 000 第十六条: from the dispatch
        ("wengyuan", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), "2026-11-24"),  # signing changes nothing
        ("longsheng", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), "2026-11-25"),  # 003: 签收后
    ],
)
def test_the_return_window_opens_where_the_regulation_says(pack, signed, last_day):
    policy = policies.load(pack)
    ticket = Ticket(number="2611230001", dispatched_at=NOW, created_at=NOW, signed_at=signed, urgent=False)
    by = Deadlines(policy, WorkdayCalendar(policy.holidays), TZ).return_by(ticket)
    assert by == datetime.fromisoformat(last_day).replace(tzinfo=TZ) + timedelta(days=1)  # that day's end
