"""The same messages under the five packs: deadlines, lines, redirects and declines differ exactly as
the regulations do (000 翁源县, 001 辽阳市, 002 平利县, 003 龙胜县, 004 贵州省).

Every ticket is dispatched on Monday 2026-11-23 at 10:00 Asia/Shanghai, a normal working day.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from intake.core.text import normalize
from intake.triage import Triage, ticket_step
from routing import policy as policies
from routing import rules
from routing.units import UnitCatalogue, UnitInfo
from routing.workdays import WorkdayCalendar, due_date
from tests.routing.packs import due_under

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
NAMES = ("wengyuan", "liaoyang", "pingli", "longsheng", "guizhou")
PACKS = {name: policies.load(name) for name in NAMES}


def due(name: str, text: str) -> str | None:
    """The deadline a ticket for ``text`` gets under pack ``name``, as the pipeline computes it."""
    return due_under(PACKS[name], text, NOW)[1]


def decide(name: str, text: str) -> tuple[str, str]:
    """What the pipeline's rule steps do with ``text`` under pack ``name``, in their order."""
    pack = PACKS[name]
    match = normalize(text).match
    if found := rules.detect_emergency(match, pack):
        return "transfer", found.primary
    if found := rules.detect_redirect(match, pack):
        return "redirect", found.code
    if found := rules.detect_decline(match, pack):
        return "decline", found.code
    return "accept", rules.classify(match, pack)


def test_the_five_packs_are_shipped():
    assert sorted(NAMES) == policies.available()
    assert [PACKS[n].regulation for n in NAMES] == ["000", "001", "002", "003", "004"]


# ---------------------------------------------------------------- deadlines

# what, message, due under wengyuan, liaoyang, pingli, longsheng, guizhou
DEADLINES = [
    (
        "consult: 000 第十六条 5, 001 第十五条(一) 3, 002 第十二条(一) 2, 003 第十二条(二)1 2, 004 unset",
        "社保卡补办需要带什么材料？",
        ("2026-11-30", "2026-11-26", "2026-11-25", "2026-11-25", None),
    ),
    (
        "help: 000 5, 001 第十五条(三) 7, 002 5, 003 第十二条(二)2 3, 004 unset",
        "小区门口的路灯坏了好几天了，晚上走路很危险",
        ("2026-11-30", "2026-12-02", "2026-11-30", "2026-11-26", None),
    ),
    (
        "complaint: 000 15, 001 第十五条(四) 10, 002 5, 003 第十二条(二)4 10, 004 unset",
        "楼下饭店油烟太大，熏得没法开窗，我要投诉",
        ("2026-12-14", "2026-12-07", "2026-11-30", "2026-12-07", None),
    ),
    (
        "suggestion: 000 15, 001 第十五条(二) 5, 002 5, 003 第十二条(二)3 5, 004 unset",
        "建议在县医院门口增设一个公交站",
        ("2026-12-14", "2026-11-30", "2026-11-30", "2026-11-30", None),
    ),
    (
        "report: 000 15, 001 10, 002 5, 003 第十二条(二)5 10, 004 unset",
        "有人在河边非法电鱼，我要举报",
        ("2026-12-14", "2026-12-07", "2026-11-30", "2026-12-07", None),
    ),
    (
        "urgent: 000 第十六条 2, 001 3 (none of its own), 002 第二十二条 2, 003 24 hours, 004 unset",
        "我们村停水三天了，一直没人来修",
        ("2026-11-25", "2026-11-26", "2026-11-25", "2026-11-24T10:00:00+08:00", None),
    ),
    (
        "praise: only 003 第三条 accepts it",
        "感谢卫生院的医生，服务态度特别好",
        (None, None, None, "2026-11-25", None),
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=w) for w, t, e in DEADLINES])
def test_the_same_message_is_due_on_different_days(text, expected):
    assert tuple(due(name, text) for name in NAMES) == expected


# ---------------------------------------------------------------- emergency lines, redirects, declines

# what, message, decision under wengyuan, liaoyang, pingli, longsheng, guizhou
DECISIONS = [
    (
        "lift entrapment: 96333 only under 002 第七条(二); 119 where it falls back",
        "电梯突然停了，我和孩子被困在电梯里出不来，快来人",
        (
            ("transfer", "119"),
            ("transfer", "119"),
            ("transfer", "96333"),
            ("transfer", "119"),
            ("transfer", "119"),
        ),
    ),
    (
        "road accident: 122 under 002 and 003; 110 where 122 is not named",
        "国道上两辆车相撞了，司机被卡在车里",
        (
            ("transfer", "110"),
            ("transfer", "110"),
            ("transfer", "122"),
            ("transfer", "122"),
            ("transfer", "110"),
        ),
    ),
    (
        "fire: 119 everywhere (001 第七条(三)'s 110、120等 takes it in)",
        "楼下厨房着火了，冒了好大的烟",
        (
            ("transfer", "119"),
            ("transfer", "119"),
            ("transfer", "119"),
            ("transfer", "119"),
            ("transfer", "119"),
        ),
    ),
    (
        "collapse: 120 everywhere",
        "我爸突然晕倒了，叫不醒",
        (("transfer", "120"),) * 5,
    ),
    (
        "family quarrel: only 000 第九条(五) redirects it",
        "婆媳天天吵架，家庭矛盾闹得很僵，想找人调解一下",
        (
            ("redirect", "family"),
            ("accept", "help"),
            ("accept", "help"),
            ("accept", "help"),
            ("accept", "help"),
        ),
    ),
    (
        "party membership: 001, 002 and 003 name the party; 000 and 004 do not",
        "我的党组织关系怎么转过来",
        (
            ("accept", "consult"),
            ("redirect", "party"),
            ("redirect", "party"),
            ("redirect", "party"),
            ("accept", "consult"),
        ),
    ),
    (
        "army: 000 第九条(一) names only the 人武部, 004 no army at all",
        "我儿子在部队当兵，想问问部队的探亲假怎么休",
        (
            ("accept", "consult"),
            ("redirect", "military"),
            ("redirect", "military"),
            ("redirect", "military"),
            ("accept", "consult"),
        ),
    ),
    (
        "cadre appointment: 000 and 001 第七条(二) and 003 name the organisation department",
        "这次干部提拔任前公示的人有问题",
        (
            ("redirect", "organization"),
            ("redirect", "organization"),
            ("accept", "help"),
            ("redirect", "organization"),
            ("accept", "help"),
        ),
    ),
    (
        "information disclosure: only 003 第四条(四) and 004 第十条(二) name it",
        "我想申请政府信息公开，查一下我们村的征地批复",
        (
            ("accept", "help"),
            ("accept", "help"),
            ("accept", "help"),
            ("redirect", "litigation"),
            ("redirect", "litigation"),
        ),
    ),
    (
        "a court judgment: the court, or under 004 the litigation route",
        "法院判决对方还钱，到现在也不执行",
        (
            ("redirect", "court"),
            ("redirect", "court"),
            ("redirect", "court"),
            ("redirect", "court"),
            ("redirect", "litigation"),
        ),
    ),
    (
        "corruption: discipline everywhere (002 第七条(六) declines it but says where to go)",
        "村支书贪污扶贫款，我要举报",
        (("redirect", "discipline"),) * 5,
    ),
    (
        "someone else's address: 001 has no privacy decline",
        "帮我查一下我前妻现在的住址",
        (
            ("decline", "secret_or_privacy"),
            ("accept", "help"),
            ("decline", "secret_or_privacy"),
            ("decline", "secret_or_privacy"),
            ("decline", "secret_or_privacy"),
        ),
    ),
    (
        "abuse alone: declined everywhere (000 第十条(六) 其他不宜受理)",
        "你们这帮废物，什么都不管",
        (
            ("decline", "abusive"),
            ("decline", "abusive"),
            ("decline", "abusive"),
            ("decline", "abusive"),
            ("decline", "abusive"),
        ),
    ),
    (
        "no matter stated: incomplete under 001 第十三条(四), 002 第七条(九) and 003",
        "我要投诉",
        (
            ("accept", "complaint"),
            ("decline", "incomplete"),
            ("decline", "incomplete"),
            ("decline", "incomplete"),
            ("accept", "complaint"),
        ),
    ),
    (
        "anonymous wage claim: only 002 第七条(十) declines it",
        "老板拖欠我三个月工资不给，我不想留名字和电话",
        (
            ("accept", "complaint"),
            ("accept", "complaint"),
            ("decline", "anonymous_rights"),
            ("accept", "complaint"),
            ("accept", "complaint"),
        ),
    ),
    (
        "a neighbouring county of 平利: only 002 第七条(一) declines it",
        "旬阳那边有个工地晚上施工噪音太大，我要投诉",
        (
            ("accept", "complaint"),
            ("accept", "complaint"),
            ("decline", "out_of_jurisdiction"),
            ("accept", "complaint"),
            ("accept", "complaint"),
        ),
    ),
    (
        "a greeting: no_content everywhere",
        "你好！",
        (("decline", "no_content"),) * 5,
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=w) for w, t, e in DECISIONS])
def test_the_same_message_is_decided_differently(text, expected):
    assert tuple(decide(name, text) for name in NAMES) == expected


# ---------------------------------------------------------------- handling, survey, hours, supervision


def describe(limit: policies.Limit | None) -> str | None:
    return limit.describe() if limit else None


# what, value under wengyuan, liaoyang, pingli, longsheng, guizhou
RULES = [
    (
        "sign within: 000 第二十二条, 002 第十条(一), 004 第十五条",
        lambda p: describe(p.handling.sign_within),
        ("1 working day", None, "24 hours", None, "1 working day"),
    ),
    (
        "return within: 000 第十五条, 001 第十四条(二), 002 第十条(二), 003 第十二条(三)",
        lambda p: describe(p.handling.return_within),
        ("1 working day", "8 working hours", "2 working days", "1 working day", None),
    ),
    (
        "longest extension of a complaint: 000 1×15, 001 15 days, 002 1×5, 003 1×10, 004 none",
        lambda p: (
            p.handling.extension and p.handling.extension.longest(p.categories["complaint"]).working_days
        ),
        (15, 15, 5, 10, None),
    ),
    (
        "number of extensions: only 002 第十三条 sets one",
        lambda p: p.handling.extension and p.handling.extension.max_count,
        (None, None, 2, None, None),
    ),
    (
        "ratings: 000 第十七条, 002 第十七条, 003 第十三条(二)",
        lambda p: p.survey.ratings and p.survey.ratings.values,
        (("满意", "不满意"), None, ("满意", "基本满意", "不满意"), ("满意", "不满意"), None),
    ),
    (
        "silence counts as 满意 after 24 hours: only 003 第十三条(二)",
        lambda p: p.survey.no_reply and (p.survey.no_reply.rating, p.survey.no_reply.after.describe()),
        (None, None, None, ("满意", "24 hours"), None),
    ),
    (
        "which 不满意 a person follows up: 000 第十九条 first, 002 第二十条 second, 003 第十三条(三) first",
        lambda p: p.survey.person_follow_up and p.survey.person_follow_up.after_unsatisfied,
        (1, None, 2, 1, None),
    ),
    (
        "re-handling count: only 002 第十八条 says once",
        lambda p: p.survey.rehandle and (p.survey.rehandle.max_count, describe(p.survey.rehandle.within)),
        ((None, None), (None, None), (1, "5 working days"), (None, None), None),
    ),
    (
        "staffed around the clock: all but 000 第十三条 (voicemail)",
        lambda p: (p.hours.always_staffed, p.hours.off_hours),
        ((False, "voicemail"), (True, None), (True, None), (True, None), (True, None)),
    ),
    (
        "card thresholds: only 000 第二十二条",
        lambda p: p.supervision.card(unsigned_working_days=1, unreplied_working_days=0),
        ("yellow", None, None, None, None),
    ),
]


@pytest.mark.parametrize("value, expected", [pytest.param(v, e, id=w) for w, v, e in RULES])
def test_the_packs_differ_in_handling_survey_hours_and_supervision(value, expected):
    assert tuple(value(PACKS[name]) for name in NAMES) == expected


# ---------------------------------------------------------------- praise

PRAISE = "县人民医院急诊科的护士态度特别好，我想表扬一下她们"
UNITS = UnitCatalogue(
    [
        UnitInfo("health", "县卫生健康局", "department", ("医院", "护士"), ()),
        UnitInfo("office", "12345热线工作站", "office", (), ()),
    ]
)


# pack, where praise is filed, the article: only 003 第三条 names praise; the others take a thank-you as
# the opinion (意见建议) their scope names, passed on to the praised unit within the suggestion limit
PRAISE_FILED = [
    ("longsheng", "praise", "003 第三条"),
    ("wengyuan", "suggestion", "000 第七条"),
    ("liaoyang", "suggestion", "001 第六条(四)"),
    ("pingli", "suggestion", "002 第六条(三)"),
    ("guizhou", "suggestion", "004 第三条"),
]


@pytest.mark.parametrize("name, category, article", PRAISE_FILED)
def test_praise_is_filed_where_the_regulation_puts_it(name, category, article):
    pack = PACKS[name]
    triage = Triage(pack, WorkdayCalendar(pack.holidays), TZ)
    ctx = triage.context(PRAISE, now=NOW, channel="web", index=None, units=UNITS)
    outcome = ticket_step(triage, ctx)
    limit = pack.categories[category]
    assert (outcome.action, outcome.category, outcome.unit) == ("ticket", category, "health")
    if limit.unset:  # 004 第十五条: the deployment sets the limit; until then no due is promised
        assert outcome.due is None
    else:
        assert outcome.due == due_date(
            WorkdayCalendar(pack.holidays), NOW, TZ, working_days=limit.working_days, counting=pack.counting
        )
    assert outcome.basis.startswith(article)
    assert outcome.reply.startswith("感谢您的肯定") == (category != "praise")


# ---------------------------------------------------------------- every rule names its article

CITATION = re.compile(r"^(\d{3}) 第[一二三四五六七八九十百]+条(\([一二三四五六七八九十]+\))*\d*$")


def bases(pack: policies.Policy) -> list[tuple[str, str | None]]:
    """Every (rule, basis) pair in the pack."""
    found: list[tuple[str, str | None]] = [
        *((f"categories.{c}", d.basis) for c, d in pack.categories.items()),
        ("urgent.deadline", pack.urgent_deadline.basis),
        ("urgent", pack.urgent_topics.basis),
        ("emergency", pack.emergency_basis),
        ("answer_basis", pack.answer_basis),
        *((f"redirects.{r.code}", r.basis) for r in pack.redirects),
        *((f"declines.{r.code}", r.basis) for r in pack.declines),
        *((f"supervision.cards.{c.colour}", c.basis) for c in pack.supervision.cards),
        *((f"file_as.{kind}", filed.basis) for kind, filed in pack.file_as.items()),
    ]
    if pack.key_items.reporters is not None:
        found.append(("key_items", pack.key_items.basis))
    h, s = pack.handling, pack.survey
    for label, item in (
        ("handling.sign_within", h.sign_within),
        ("handling.urgent_sign_within", h.urgent_sign_within),
        ("handling.return_within", h.return_within),
        ("handling.urgent_return_within", h.urgent_return_within),
        ("handling.extension", h.extension),
        ("survey.ratings", s.ratings),
        ("survey.callback_within", s.callback_within),
        ("survey.no_reply", s.no_reply),
        ("survey.rehandle", s.rehandle),
        ("survey.person_follow_up", s.person_follow_up),
        ("hours", pack.hours if pack.hours.always_staffed is not None else None),
    ):
        if item is not None:
            found.append((label, item.basis))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_basis_cites_the_packs_own_regulation(name):
    pack = PACKS[name]
    for label, basis in bases(pack):
        if label == "answer_basis" and basis is None:
            continue  # 003's county workstation takes no calls itself (003 第七条(一))
        assert basis, f"{name}: {label} names no article"
        first, *more = basis.split("; ")
        cited = CITATION.match(first)
        assert cited and cited.group(1) == pack.regulation, f"{name}: {label}: {basis!r}"
        for other in more:
            # further articles of the same regulation, or a national document the regulation cites
            assert (m := CITATION.match(other)) is None or m.group(1) == pack.regulation, (
                f"{label}: {basis!r}"
            )


@pytest.mark.parametrize("name", NAMES)
def test_show_prints_every_section(cli, name):
    result = cli("policy", "show", name)
    assert result.exit_code == 0, result.output
    for heading in ("deadlines", "emergency lines", "redirects", "declines", "handling", "survey", "hours"):
        assert f"\n{heading}" in result.stdout
    assert "\nsupervision\n" in result.stdout
