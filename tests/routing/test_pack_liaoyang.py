"""辽阳市 (regulation 001): one row per article the liaoyang pack implements.

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
from routing.policy import Deadline, Extension, Hours, Limit, Rehandle
from routing.workdays import WorkdayCalendar, due_date
from tests.routing.packs import check_urgent, decide_under, urgent_cases

PACK = policies.load("liaoyang")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, a normal working day


def decide(text: str) -> tuple[str, str, str | None]:
    return decide_under(PACK, text)


# ---------------------------------------------------------------- the Policy object

# article, what the row checks, field, expected value
FIELDS = [
    ("001 第六条", "no praise category", lambda p: "praise" in p.categories, False),
    ("001 第十五条", "limits counted after receipt", lambda p: p.counting, "next_working_day"),
    (
        "001 第十四条(一); 001 第十五条(一)",
        "urgent: no limit of its own, the shortest of 第十五条",
        lambda p: p.urgent_deadline,
        Deadline(working_days=3, basis="001 第十四条(一); 001 第十五条(一)"),
    ),
    ("001 第十七条", "urgent topics", lambda p: p.urgent_topics.basis, "001 第十七条; 001 第十九条"),
    (
        "001 第十九条",
        "urgent kinds: utilities, heating included, and disasters",
        lambda p: p.urgent_topics.topics,
        ("outage", "heating", "power_line", "disaster"),
    ),
    (
        "001 第七条(三)",
        "110、120等: 110, 119 and 120 (a crash falls back to 110, a lift to 119)",
        lambda p: sorted({line.number for line in p.emergency_lines}),
        ["110", "119", "120"],
    ),
    (
        "001 第七条(三)",
        "which line each kind of emergency goes to",
        lambda p: [(line.matched, line.number) for line in p.emergency_lines],
        [("110", "110"), ("119", "119"), ("122", "110"), ("120", "120"), ("96333", "119")],
    ),
    ("001 第十三条(一)", "instant answers", lambda p: p.answer_basis, "001 第十三条(一)"),
    (
        "001 第七条(一)",
        "party, congress, CPPCC, courts, procuratorate, army; litigation",
        lambda p: sorted(r.code for r in p.redirects if r.basis == "001 第七条(一)"),
        ["congress", "court", "cppcc", "litigation", "military", "party", "procuratorate"],
    ),
    ("001 第七条", "no family redirect", lambda p: "family" in {r.code for r in p.redirects}, False),
    (
        "001 第八条",
        "declines: jurisdiction, empty, repeated or malicious, incomplete; no secrets rule",
        lambda p: [r.code for r in p.declines],
        ["out_of_jurisdiction", "abusive", "no_content", "duplicate", "already_resolved", "incomplete"],
    ),
    ("001 第十四条", "no signing limit for the unit", lambda p: p.handling.sign_within, None),
    (
        "001 第十四条(二)",
        "return a wrong ticket within 8 working hours",
        lambda p: p.handling.return_within,
        Limit(working_hours=8, basis="001 第十四条(二)"),
    ),
    (
        "001 第十六条",
        "extension: at most 15 working days, asked before expiry",
        lambda p: p.handling.extension,
        Extension(max_working_days=15, basis="001 第十六条", tell_citizen="001 第十六条"),
    ),
    (
        "001 第十六条",
        "a 3-day consultation may still be extended by 15 working days",
        lambda p: p.handling.extension.longest(p.categories["consult"]).working_days,
        15,
    ),
    ("001 第二十二条(二)", "no rating scale", lambda p: p.survey.ratings, None),
    (
        "001 第二十二条(二)",
        "call-back within 3 working days",
        lambda p: p.survey.callback_within,
        Limit(working_days=3, basis="001 第二十二条(二)"),
    ),
    (
        "001 第二十条(四)",
        "unresolved matters go back to the unit",
        lambda p: p.survey.rehandle,
        Rehandle(basis="001 第二十条(四)"),
    ),
    ("001 第二十二条(二)", "no person follow-up rule", lambda p: p.survey.person_follow_up, None),
    (
        "001 第十三条",
        "7 × 24 hours",
        lambda p: p.hours,
        Hours(always_staffed=True, basis="001 第十三条"),
    ),
    ("001 第十三条", "staffed at 3 a.m.", lambda p: p.hours.is_staffed(time(3)), True),
    ("001 第二十条", "no card system", lambda p: p.supervision.cards, ()),
]


@pytest.mark.parametrize("field, expected", [pytest.param(f, e, id=f"{a} {w}") for a, w, f, e in FIELDS])
def test_policy_field(field, expected):
    assert field(PACK) == expected


# article, category, working days, due for a ticket dispatched Monday 2026-11-23 10:00
DEADLINES = [
    ("001 第十五条(一)", "consult", 3, "2026-11-26"),
    ("001 第十五条(二)", "suggestion", 5, "2026-11-30"),
    ("001 第十五条(三)", "help", 7, "2026-12-02"),
    ("001 第十五条(四)", "complaint", 10, "2026-12-07"),
    ("001 第十五条(四)", "report", 10, "2026-12-07"),
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
    ("001 第七条(三)", "楼下有人拿着刀在砍人", ("transfer", "110")),
    ("001 第七条(三)", "我爸突然晕倒了，叫不醒", ("transfer", "120")),
    ("001 第七条(三)", "楼下厨房着火了，冒了好大的烟", ("transfer", "119")),
    ("001 第七条(三)", "电梯突然停了，我和孩子被困在电梯里出不来，快来人", ("transfer", "119")),
    ("001 第七条(一)", "我的党组织关系怎么转过来", ("redirect", "party")),
    ("001 第七条(一)", "我儿子在部队当兵，想问问部队的探亲假怎么休", ("redirect", "military")),
    ("001 第七条(一)", "法院判决对方还钱，到现在也不执行", ("redirect", "court")),
    ("001 第七条(一)", "公司拖欠工资，我准备申请劳动仲裁", ("redirect", "litigation")),
    ("001 第七条(二)", "村支书贪污扶贫款，我要举报", ("redirect", "discipline")),
    ("001 第七条(二)", "这次干部提拔任前公示的人有问题", ("redirect", "organization")),
    ("001 第七条(四); 001 第八条(三)", "这个事我已经去信访局上访过了，还是没解决", ("redirect", "petition")),
    ("001 第八条(一)", "沈阳铁西区有家饭店油烟扰民，我要投诉", ("decline", "out_of_jurisdiction")),
    ("001 第八条(二)", "你们这帮废物，什么都不管", ("decline", "abusive")),
    ("001 第八条(二)", "你好！", ("decline", "no_content")),
    ("001 第十三条(四)", "我要投诉", ("decline", "incomplete")),
]


@pytest.mark.parametrize(
    "article, text, expected",
    [pytest.param(*row, id=f"{row[0]} {row[2][0]} {row[2][1]}") for row in DECISIONS],
)
def test_decision(article, text, expected):
    kind, code, basis = decide(text)
    assert (kind, code) == expected
    assert basis == article


# What 001 does not name is accepted: the article that sets the scope, the message, the category.
NOT_NAMED = [
    ("001 第七条", "no family redirect", "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下", "help"),
    (
        "001 第七条(一)",
        "no information-disclosure redirect",
        "我想申请政府信息公开，查一下我们村的征地批复",
        "help",
    ),
    ("001 第八条", "no secrets or privacy decline", "帮我查一下我前妻现在的住址", "help"),
    (
        "001 第八条(一)",
        "a place in 辽阳 is in the jurisdiction",
        "灯塔市有家饭店油烟扰民，我要投诉",
        "complaint",
    ),
    (
        "001 第八条(二)",
        "malicious language alone is declined, a matter told angrily is not",
        "楼下饭店油烟太大了，熏得没法开窗，他妈的，我要投诉",
        "complaint",
    ),
]


@pytest.mark.parametrize("text, category", [pytest.param(t, c, id=f"{a} {w}") for a, w, t, c in NOT_NAMED])
def test_accepted(text, category):
    assert decide(text) == ("accept", category, None)


def test_001_第十九条_an_outage_is_urgent_and_due_with_the_shortest_limit():
    assert rules.is_urgent(normalize("我们小区停电一整天了，一直没人来修").match, PACK)
    spec = PACK.urgent_deadline
    due = due_date(WorkdayCalendar(), NOW, TZ, working_days=spec.working_days, counting=PACK.counting)
    assert due == "2026-11-26"


def test_show_prints_the_001_rules(cli):
    result = cli("policy", "show", "liaoyang")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "return within        8 working hours" in out and "001 第十四条(二)" in out
    assert "counted from signing" in out  # 接收到 …: the unit has the ticket when it signs for it
    assert "at most 15 working days; no count set" in out
    assert "the citizen is told the new date" in out and "001 第十六条" in out
    assert "callback within      3 working days" in out
    assert "staffed              7 × 24 h" in out
    assert "cards                -" in out
    assert "  122    → 110 公安报警 (not named: falls back)" in out


# ---------------------------------------------------------------- urgent (突发): this pack's own kinds

# article, message, urgent under this pack, due for a ticket dispatched Monday 2026-11-23 10:00
URGENT = [
    ("001 第十九条", "我们村停水三天了，一直没人来修", True, "2026-11-26"),
    ("001 第十九条", "我家暖气不热好几天了", True, "2026-11-26"),
    ("001 第十七条", "跟团旅游，导游强制购物，我要投诉", False, "2026-12-07"),
    ("001 第十七条", "工地晚上施工噪音太大，吵得睡不着，我要投诉", False, "2026-12-07"),
    ("001 第十七条", "路口的井盖丢了，很危险", False, "2026-12-02"),
]


@pytest.mark.parametrize("article, text, urgent, due", urgent_cases(URGENT))
def test_urgent_kinds(article, text, urgent, due):
    check_urgent(PACK, NOW, article, text, urgent, due)
