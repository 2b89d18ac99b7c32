"""贵州省 (regulation 004): one row per article the guizhou pack implements.

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
from routing.deadlines import Deadlines
from routing.policy import Deadline, Handling, Hours, Limit, Survey
from routing.workdays import WorkdayCalendar
from tests.routing.packs import check_urgent, decide_under, urgent_cases

PACK = policies.load("guizhou")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, a normal working day


def decide(text: str) -> tuple[str, str, str | None]:
    return decide_under(PACK, text)


# ---------------------------------------------------------------- the Policy object

# article, what the row checks, field, expected value
FIELDS = [
    (
        "004 第二条",
        "a province: the jurisdiction lists its cities and prefectures",
        lambda p: (p.jurisdiction, len(p.towns), p.towns[0], p.towns[-1]),
        ("贵州省", 9, "贵阳市", "黔西南布依族苗族自治州"),
    ),
    ("004 第九条", "no praise category", lambda p: "praise" in p.categories, False),
    ("004 第十五条", "counted from the day after receipt", lambda p: p.counting, "next_working_day"),
    (
        "004 第十五条",
        "urgent: no limit of its own, so the deployment sets it",
        lambda p: p.urgent_deadline,
        Deadline(basis="004 第十五条", set_by="deployment"),
    ),
    ("004 第八条", "urgent topics (emergency links)", lambda p: p.urgent_topics.basis, "004 第八条"),
    (
        "004 第八条",
        "urgent kinds: only the utility matters of the linked lines",
        lambda p: p.urgent_topics.topics,
        ("outage", "heating", "power_line"),
    ),
    (
        "004 第八条; 004 第十条(一)",
        "110, 119, 120 (122 falls back to 110, 96333 to 119), then the utility lines",
        lambda p: (p.emergency_basis, list(dict.fromkeys(line.number for line in p.emergency_lines))),
        ("004 第八条; 004 第十条(一)", ["110", "119", "120", "water", "power", "gas", "heating"]),
    ),
    (
        "004 第十条(一)",
        "utility lines: power has its national number, the others guidance to find theirs",
        lambda p: [
            (line.number, line.dial, bool(line.guidance)) for line in p.emergency_lines if line.utility
        ],
        [("water", "", True), ("power", "95598", True), ("gas", "", True), ("heating", "", True)],
    ),
    ("004 第九条", "instant answers", lambda p: p.answer_basis, "004 第九条"),
    (
        "004 第十条(二)",
        "only procedures: litigation, discipline inspection, petitions",
        lambda p: [(r.code, r.basis) for r in p.redirects],
        [("litigation", "004 第十条(二)"), ("discipline", "004 第十条(二)"), ("petition", "004 第十条(二)")],
    ),
    (
        "004 第十条",
        "declines",
        lambda p: [(r.code, r.basis) for r in p.declines],
        [
            ("duplicate", "004 第十条(三)"),
            ("already_resolved", "004 第十条(三)"),
            ("out_of_jurisdiction", "004 第二条"),
            ("secret_or_privacy", "004 第十条(四)"),
            ("abusive", "004 第十条(五)"),
            ("no_content", "004 第三条"),
        ],
    ),
    (
        "004 第十五条",
        "the only handling rule: sign within 1 working day",
        lambda p: p.handling,
        Handling(sign_within=Limit(working_days=1, basis="004 第十五条")),
    ),
    (
        "004 第十五条",
        "the citizen is promised signing within 1 working day, no reply date",
        lambda p: "1个工作日内签收" in p.ticket_reply and "{due}" not in p.ticket_reply,
        True,
    ),
    ("004 第十一条", "the citizen can look up progress", lambda p: "查询办理进展" in p.ticket_reply, True),
    ("004 第十八条", "no survey rules", lambda p: p.survey, Survey()),
    (
        "004 第四条",
        "7 × 24 hours staffed",
        lambda p: p.hours,
        Hours(always_staffed=True, basis="004 第四条"),
    ),
    ("004 第十七条", "no card rules", lambda p: p.supervision.cards, ()),
]


@pytest.mark.parametrize("field, expected", [pytest.param(f, e, id=f"{a} {w}") for a, w, f, e in FIELDS])
def test_policy_field(field, expected):
    assert field(PACK) == expected


# 004 第十五条: 按照法律法规和省有关规定的时限. No number: the deployment sets it, and until then a
# ticket has no due (a made-up one would fire "due" and "overdue" notices after a day)
CATEGORIES = ("consult", "help", "suggestion", "complaint", "report")


@pytest.mark.parametrize("category", CATEGORIES)
def test_category_deadline_is_the_deployments_to_set(category):
    assert PACK.deadline_for(category) == Deadline(basis="004 第十五条", set_by="deployment")
    deadlines = Deadlines(PACK, WorkdayCalendar(PACK.holidays), TZ)
    assert deadlines.for_matter(category, False, NOW) == (None, None)
    assert deadlines.for_matter(category, True, NOW) == (None, None)


def test_check_lists_what_the_deployment_must_set_and_a_citys_pack_sets_it(cli, tmp_path):
    result = cli("policy", "check", "guizhou")
    assert result.exit_code == 1
    for category in (*CATEGORIES, "urgent"):
        assert category in result.stdout
    assert "emergency.lines.water.dial" in result.stdout and "004 第十五条" in result.stdout
    city = tmp_path / "guiyang.yaml"
    days = "\n".join(f"  {c}: {{working_days: 5, basis: 贵阳市规定}}" for c in CATEGORIES)
    city.write_text(
        f"base: guizhou\nname: guiyang\ncategories:\n{days}\n"
        "urgent:\n  deadline: {working_days: 2, basis: 贵阳市规定}\n"
        "emergency:\n  lines:\n    water: {dial: '96069'}\n    gas: {dial: '96777'}\n"
        "    heating: {dial: '96888'}\n",
        encoding="utf-8",
    )
    result = cli("policy", "check", str(city))
    assert result.exit_code == 0, result.stdout
    pack = policies.load(str(city))
    deadlines = Deadlines(pack, WorkdayCalendar(pack.holidays), TZ)
    assert deadlines.for_matter("complaint", False, NOW) == ("2026-11-30", "贵阳市规定")


# ---------------------------------------------------------------- decisions on messages

EMERGENCY = "004 第八条; 004 第十条(一)"

# article, message, expected (kind, code); the decision's basis must be the article
DECISIONS = [
    (EMERGENCY, "电梯突然停了，我和孩子被困在电梯里出不来，快来人", ("transfer", "119")),
    (EMERGENCY, "国道上两辆车相撞了，司机被卡在车里", ("transfer", "110")),
    (EMERGENCY, "楼下厨房着火了，冒了好大的烟", ("transfer", "119")),
    (EMERGENCY, "我爸突然晕倒了，叫不醒", ("transfer", "120")),
    (EMERGENCY, "我们整栋楼从早上就停电了，到现在还没来", ("transfer", "power")),
    (EMERGENCY, "街上的自来水管爆了，水哗哗地往外冒", ("transfer", "water")),
    (EMERGENCY, "做饭做到一半燃气就没了，灶怎么也点不着", ("transfer", "gas")),
    (EMERGENCY, "暖气片冰凉的，家里有老人冻得受不了", ("transfer", "heating")),
    # a gas leak is still 119's: the emergency line comes before the utility line
    (EMERGENCY, "燃气管道被挖断了，呼呼往外喷气", ("transfer", "119")),
    ("004 第十条(二)", "法院判决对方还钱，到现在也不执行", ("redirect", "litigation")),
    ("004 第十条(二)", "我想申请政府信息公开，查一下我们村的征地批复", ("redirect", "litigation")),
    ("004 第十条(二)", "村支书贪污扶贫款，我要举报", ("redirect", "discipline")),
    ("004 第十条(二)", "这个事我已经去信访局上访过了，还是没解决", ("redirect", "petition")),
    ("004 第二条", "昆明有个商家卖假货，我要投诉", ("decline", "out_of_jurisdiction")),
    ("004 第十条(四)", "帮我查一下我前妻现在的住址", ("decline", "secret_or_privacy")),
    ("004 第十条(五)", "你们这帮废物，什么都不管", ("decline", "abusive")),
    ("004 第三条", "你好！", ("decline", "no_content")),
]


@pytest.mark.parametrize(
    "article, text, expected",
    [pytest.param(*row, id=f"{row[0]} {row[2][0]} {row[2][1]}") for row in DECISIONS],
)
def test_decision(article, text, expected):
    kind, code, basis = decide(text)
    assert (kind, code) == expected
    assert basis == article


def test_004_第十条_一_a_utility_question_is_not_put_through():
    assert decide("请问停水通知在哪里看")[0] == "accept"
    assert decide("燃气费在手机上怎么交")[0] == "accept"


def test_004_第十条_一_a_gas_leak_lists_the_gas_line_after_119():
    found = rules.detect_emergency(normalize("燃气管道被挖断了，呼呼往外喷气").match, PACK)
    assert found and found.lines == ("119", "gas")


def test_004_第十条_五_educates_and_names_the_consequence():
    found = rules.detect_decline(normalize("你们这帮废物，什么都不管").match, PACK)
    assert found and "第二十四条" in found.reply and "公安机关" in found.reply


# What 004 does not name is accepted: the article that sets the scope, the message, the category.
NOT_NAMED = [
    ("004 第十条(二)", "no party redirect", "我的党组织关系怎么转过来", "consult"),
    ("004 第十条(二)", "no congress redirect", "我想联系我们选区的人大代表", "help"),
    ("004 第十条(二)", "no army redirect", "今年征兵体检什么时候开始", "consult"),
    ("004 第十条", "no family redirect", "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下", "help"),
    ("004 第十条", "no incomplete decline", "我要投诉", "complaint"),
    (
        "004 第十条",
        "no anonymous-rights decline",
        "老板拖欠我三个月工资不给，我不想留名字和电话",
        "complaint",
    ),
    ("004 第二条", "a dish named after a neighbour", "贵阳这家桂林米粉店卫生太差，我要投诉", "complaint"),
]


@pytest.mark.parametrize("text, category", [pytest.param(t, c, id=f"{a} {w}") for a, w, t, c in NOT_NAMED])
def test_accepted(text, category):
    assert decide(text) == ("accept", category, None)


def test_004_第二条_a_city_or_district_says_where():
    assert rules.mentions_place(normalize("遵义红花岗区垃圾好几天没人收了").match, PACK)
    assert rules.mentions_place(normalize("黔南州垃圾好几天没人收了").match, PACK)
    assert not rules.mentions_place(normalize("垃圾好几天没人收了").match, PACK)


def test_show_prints_the_004_rules(cli):
    result = cli("policy", "show", "guizhou")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sign within          1 working day" in out and "004 第十五条" in out
    assert "extension            -" in out
    assert "ratings              -" in out
    assert "staffed              7 × 24 h" in out and "004 第四条" in out


# ---------------------------------------------------------------- urgent (突发): this pack's own kinds

# article, message, urgent under this pack, due (none: the deployment sets 004's limits)
URGENT = [
    ("004 第八条", "工地晚上施工噪音太大，吵得睡不着，我要投诉", False, None),
    ("004 第八条", "跟团旅游，导游强制购物，我要投诉", False, None),
    ("004 第八条", "工地上几十个工人聚集在公司门口讨要工资", False, None),
]


@pytest.mark.parametrize("article, text, urgent, due", urgent_cases(URGENT))
def test_urgent_kinds(article, text, urgent, due):
    check_urgent(PACK, NOW, article, text, urgent, due)
