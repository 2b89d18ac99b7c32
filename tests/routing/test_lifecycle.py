"""A ticket's life with its unit under two packs with different rules: 002 平利 (pingli) and 003 龙胜
(longsheng). One row per article: the steps a unit and the office take, at given times, and what the
ticket looks like after them, or the refusal (with its article) the last step meets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from routing import rules
from routing.lifecycle import TransitionRefused
from routing.policy import load
from routing.redaction import redact
from routing.replies import InvalidInput
from tests.routing.lifecycle_world import PHONE, REPLY, RETURN


@dataclass(frozen=True)
class Then:
    """What the ticket looks like after the steps."""

    status: str
    fields: dict[str, Any] = field(default_factory=dict)
    last_event: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """The last step is refused with ``code``, and the reason names ``basis``."""

    code: str
    basis: str | None = None


def then(status: str, event: dict[str, Any] | None = None, **fields: Any) -> Then:
    return Then(status, fields, event or {})


UNSATISFIED = {"rating": "不满意"}
EXTEND = "request_extension"

# (pack, ticket, [(local time, transition, arguments)], expected)
ROWS = [
    # ---------------------------------------------------------------- 002 平利
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {})],
        then("signed", {"kind": "signed", "sign_by": "2026-11-24T10:00:00+08:00"}),
        id="002 第十条(一) signed within 24 hours",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-24 11:00", "sign", {})],
        then("signed", {"kind": "signed", "late": True}),
        id="002 第十条(一) a signature after 24 hours is recorded as late",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {}), ("11-25 17:00", "request_return", RETURN)],
        then("returned", return_count=1),
        id="002 第十条(二) a return asked within 2 working days",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {}), ("11-26 09:00", "request_return", RETURN)],
        Refused("late_return", "002 第十条(二)"),
        id="002 第十条(二) a late return is refused",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-23 15:00", "request_return", RETURN),
            ("11-24 09:00", "approve_return", {"unit": "power"}),
        ],
        then(
            "dispatched",
            {"kind": "return_approved", "to": "power", "version": 2},
            unit_code="power",
            version=2,
            due="2026-12-01",
            signed_at=None,
        ),
        id="002 第十一条 an approved return is dispatched again, the limit counted afresh",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-23 15:00", "request_return", RETURN),
            ("11-24 09:00", "refuse_return", {"reason": "路灯维护属城管局职责"}),
        ],
        then("signed", unit_code="cgj", version=1, request=None),
        id="002 第十一条 a refused return stays with the unit",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 09:00", EXTEND, {"reason": "需采购灯具", "until": "2026-12-07"}),
            ("11-24 10:00", "approve_extension", {}),
            ("12-04 09:00", EXTEND, {"reason": "灯具未到货", "until": "2026-12-14"}),
            ("12-04 10:00", "approve_extension", {}),
        ],
        then("extended", due="2026-12-14", extension_count=2),
        id="002 第十三条 two extensions, each as long as the limit",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 09:00", EXTEND, {"reason": "需采购灯具", "until": "2026-12-07"}),
            ("11-24 10:00", "approve_extension", {}),
            ("12-04 09:00", EXTEND, {"reason": "灯具未到货", "until": "2026-12-14"}),
            ("12-04 10:00", "approve_extension", {}),
            ("12-11 09:00", EXTEND, {"reason": "施工队未到位", "until": "2026-12-21"}),
        ],
        Refused("extension_limit", "002 第十三条"),
        id="002 第十三条 a third extension is refused",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {}), ("11-24 09:00", EXTEND, {"reason": "需采购", "until": "2026-12-08"})],
        Refused("extension_too_long", "002 第十三条"),
        id="002 第十三条 an extension longer than the limit is refused",
    ),
    pytest.param(
        "pingli",
        {"urgent": True},
        [("11-23 10:10", "sign", {}), ("11-24 09:00", EXTEND, {"reason": "抢修", "until": "2026-11-27"})],
        Refused("urgent_no_extension", "002 第十三条"),
        id="002 第十三条 an urgent ticket is not extended",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {}), ("12-01 09:00", EXTEND, {"reason": "需采购", "until": "2026-12-07"})],
        Refused("extension_too_late", "002 第十三条"),
        id="002 第十三条 an extension asked after the limit ran out is refused",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 09:00", EXTEND, {"reason": "需采购", "until": "2026-12-07"}),
            ("11-24 10:00", "refuse_extension", {"reason": "更换灯具无需一周"}),
        ],
        then("signed", due="2026-11-30", extension_count=0),
        id="002 第十四条 a refused extension keeps the due",
    ),
    pytest.param(
        "pingli",
        {},
        [("11-23 11:00", "sign", {}), ("11-24 15:00", "reply", {"reply": REPLY})],
        then("replied", {"kind": "replied", "handler": "李明", "case_number": "龙城管〔2026〕31号"}),
        id="002 第十五条 a reply with time, unit, handler, result, basis and case number",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 15:00", "reply", {"reply": REPLY}),
            ("11-24 16:00", "review", {"approved": False, "note": "未说明是否已回复诉求人"}),
        ],
        then("signed", replied_at=None),
        id="002 第十六条 a reply the office does not accept goes back to the unit",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 15:00", "reply", {"reply": REPLY}),
            ("11-24 16:00", "review", {"approved": True}),
            ("11-25 09:00", "record_rating", UNSATISFIED),
            ("11-25 10:00", "rehandle", {"reason": "路灯仍不亮"}),
        ],
        then(
            "rehandling",
            {"kind": "rehandled", "basis": "002 第十八条"},
            due="2026-12-02",
            version=2,
            rehandle_count=1,
        ),
        id="002 第十八条 a first 不满意 is re-handled once, within 5 working days",
    ),
    pytest.param(
        "pingli",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 15:00", "reply", {"reply": REPLY}),
            ("11-25 09:00", "record_rating", UNSATISFIED),
            ("11-25 10:00", "rehandle", {"reason": "路灯仍不亮"}),
            ("11-27 10:00", "reply", {"reply": REPLY}),
            ("11-28 10:00", "record_rating", UNSATISFIED),
            ("11-28 11:00", "rehandle", {"reason": "仍不满意"}),
        ],
        Refused("rehandle_limit", "002 第十八条"),
        id="002 第十八条 a second re-handling is refused: a person calls back (第二十条)",
    ),
    # ---------------------------------------------------------------- 003 龙胜
    pytest.param(
        "longsheng",
        {},
        [("11-23 10:30", "sign", {}), ("11-24 16:00", "request_return", RETURN)],
        then("returned", return_count=1),
        id="003 第十二条(三) a return within 1 working day of signing",
    ),
    pytest.param(
        "longsheng",
        {},
        [("11-23 10:30", "sign", {}), ("11-25 09:00", "request_return", RETURN)],
        Refused("late_return", "003 第十二条(三)"),
        id="003 第十二条(三) a return after 1 working day is refused",
    ),
    pytest.param(
        "longsheng",
        {"urgent": True},
        [("11-23 10:05", "sign", {}), ("11-23 10:40", "request_return", RETURN)],
        Refused("late_return", "003 第十二条(三)"),
        id="003 第十二条(三) an urgent return after 30 minutes is refused",
    ),
    pytest.param(
        "longsheng",
        {"urgent": True},
        [("11-23 10:40", "sign", {})],
        then("signed", {"kind": "signed", "late": True, "sign_by": "2026-11-23T10:30:00+08:00"}),
        id="003 第十二条(二)7 an urgent ticket signed after 30 minutes is late",
    ),
    pytest.param(
        "longsheng",
        {"category": "consult"},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 09:00", EXTEND, {"reason": "需核实政策", "until": "2026-11-27"}),
            ("11-24 10:00", "approve_extension", {}),
            ("11-26 09:00", EXTEND, {"reason": "需上级答复", "until": "2026-12-01"}),
            ("11-26 10:00", "approve_extension", {}),
            ("11-30 09:00", EXTEND, {"reason": "仍待答复", "until": "2026-12-03"}),
            ("11-30 10:00", "approve_extension", {}),
        ],
        then("extended", due="2026-12-03", extension_count=3),
        id="003 第十二条(二)9 extensions are not counted, each at most the original limit",
    ),
    pytest.param(
        "longsheng",
        {"category": "consult"},
        [("11-23 11:00", "sign", {}), ("11-24 09:00", EXTEND, {"reason": "需核实", "until": "2026-11-30"})],
        Refused("extension_too_long", "003 第十二条(二)9"),
        id="003 第十二条(二)9 an extension beyond 1× the limit is refused",
    ),
    pytest.param(
        "longsheng",
        {"urgent": True},
        [
            ("11-23 10:10", "sign", {}),
            ("11-23 20:00", EXTEND, {"reason": "抢修需要更换变压器", "until": "2026-11-25T10:00+08:00"}),
            ("11-23 21:00", "approve_extension", {}),
        ],
        then("extended", due="2026-11-25T10:00:00+08:00", extension_count=1),
        id="003 第十二条(二)9 an urgent ticket may be extended by its 24 hours",
    ),
    pytest.param(
        "longsheng",
        {},
        [
            ("11-23 11:00", "sign", {}),
            ("11-24 15:00", "reply", {"reply": REPLY}),
            ("11-25 09:00", "record_rating", UNSATISFIED),
            ("11-25 10:00", "rehandle", {"reason": "仍不亮"}),
            ("11-26 10:00", "reply", {"reply": REPLY}),
            ("11-27 09:00", "record_rating", UNSATISFIED),
            ("11-27 10:00", "rehandle", {"reason": "还是不亮"}),
        ],
        then(
            "rehandling",
            {"kind": "rehandled", "basis": "003 第十三条(三)"},
            rehandle_count=2,
            version=3,
            due="2026-12-11",
        ),
        id="003 第十三条(三) re-handled as often as needed, in the category's limit",
    ),
]


def snapshot(ticket) -> dict[str, Any]:
    keys = (
        "status",
        "unit_code",
        "due",
        "version",
        "return_count",
        "extension_count",
        "rehandle_count",
        "request",
    )
    return {k: getattr(ticket, k) for k in keys} | {"events": len(ticket.events)}


@pytest.mark.parametrize("pack, ticket_args, steps, expected", ROWS)
def test_each_article(world, pack, ticket_args, steps, expected):
    w = world(pack)
    number = w.register(**ticket_args)
    *before, (when, transition, arguments) = steps
    for step_when, step, step_args in before:
        w.at(step_when)
        w.act(number, step, **step_args)
    w.at(when)
    if isinstance(expected, Refused):
        unchanged = snapshot(w.ticket(number))
        with pytest.raises(TransitionRefused) as refused:
            w.act(number, transition, **arguments)
        assert refused.value.code == expected.code
        assert expected.basis in refused.value.reason and refused.value.basis == expected.basis
        assert snapshot(w.ticket(number)) == unchanged  # a refusal changes nothing
        return
    event = w.act(number, transition, **arguments)
    ticket = w.ticket(number)
    assert ticket.status == expected.status
    for key, value in expected.fields.items():
        assert getattr(ticket, key) == value, key
    assert {"kind": event.kind, **event.data} | expected.last_event == {"kind": event.kind, **event.data}


def test_a_refusal_tells_the_unit_why_in_chinese_with_the_deadline(world):
    w = world("pingli")
    number = w.register()
    w.at("11-23 11:00")
    w.act(number, "sign")
    w.at("11-26 09:00")
    with pytest.raises(TransitionRefused) as refused:
        w.act(number, "request_return", **RETURN)
    assert refused.value.reason == (
        "已超过退回时限：依据002 第十条(二)，承办单位应在2个工作日内申请退回"
        "（本工单截止2026年11月25日24时），现已不能退回，请继续办理。"
    )


# ---------------------------------------------------------------- every path of the life


HAPPY = [
    ("11-23 11:00", "sign", {}),
    ("11-24 15:00", "reply", {"reply": REPLY}),
    ("11-24 16:00", "review", {"approved": True}),
    ("11-25 09:00", "record_rating", {"rating": "满意"}),
    ("11-25 09:01", "close", {}),
]
PATHS = {
    "registered by the office, dispatched, handled, closed": (
        [("11-23 10:05", "dispatch", {"unit": "cgj"}), *HAPPY],
        ["registered", "dispatched", "signed", "replied", "survey_asked", "reviewed", "surveyed", "closed"],
    ),
    "returned, re-dispatched, handled by the new unit": (
        [
            ("11-23 11:00", "sign", {}),
            ("11-23 15:00", "request_return", RETURN),
            ("11-24 09:00", "approve_return", {"unit": "power"}),
            *HAPPY[:1],
            *HAPPY[1:],
        ],
        [
            "registered",
            "dispatched",
            "signed",
            "return_requested",
            "return_approved",
            "dispatched",
            "signed",
            "replied",
            "survey_asked",  # the hotline asks the citizen as soon as the unit replies
            "reviewed",
            "surveyed",
            "closed",
        ],
    ),
    "extension asked, approved, then replied": (
        [
            HAPPY[0],
            ("11-24 09:00", EXTEND, {"reason": "需采购灯具", "until": "2026-11-27"}),
            ("11-24 10:00", "approve_extension", {}),
            *HAPPY[1:],
        ],
        [
            "registered",
            "dispatched",
            "signed",
            "extension_requested",
            "extension_approved",
            "citizen_told",  # both packs require it (002 第十四条, 003 第十二条(二)9)
            "replied",
            "survey_asked",  # the hotline asks the citizen as soon as the unit replies
            "reviewed",
            "surveyed",
            "closed",
        ],
    ),
    "extension asked, then the unit replies before the office decides": (
        [HAPPY[0], ("11-24 09:00", EXTEND, {"reason": "需采购灯具", "until": "2026-11-27"}), *HAPPY[1:]],
        [
            "registered",
            "dispatched",
            "signed",
            "extension_requested",
            "replied",
            "survey_asked",  # the hotline asks the citizen as soon as the unit replies
            "reviewed",
            "surveyed",
            "closed",
        ],
    ),
    "unsatisfied, re-handled, satisfied the second time": (
        [
            *HAPPY[:3],
            ("11-25 09:00", "record_rating", UNSATISFIED),
            ("11-25 10:00", "rehandle", {"reason": "仍不亮"}),
            ("11-26 15:00", "reply", {"reply": REPLY}),
            ("11-26 16:00", "review", {"approved": True}),
            ("11-27 09:00", "record_rating", {"rating": "满意"}),
            ("11-27 09:01", "close", {}),
        ],
        [
            "registered",
            "dispatched",
            "signed",
            "replied",
            "survey_asked",  # the hotline asks the citizen as soon as the unit replies
            "reviewed",
            "surveyed",
            "rehandled",
            "replied",
            "survey_asked",  # the hotline asks the citizen as soon as the unit replies
            "reviewed",
            "surveyed",
            "closed",
        ],
    ),
}


@pytest.mark.parametrize("pack", ["pingli", "longsheng"])
@pytest.mark.parametrize("path", PATHS)
def test_every_path_of_a_tickets_life(world, pack, path):
    steps, kinds = PATHS[path]
    w = world(pack)
    # a consultation (2 working days under both packs), so one extension date fits both
    number = w.register(category="consult", registered_only=steps[0][1] == "dispatch")
    for when, transition, arguments in steps:
        w.at(when)
        w.act(number, transition, **arguments)
    ticket = w.ticket(number)
    assert [e.kind for e in ticket.events] == kinds
    assert ticket.status == "closed" and ticket.closed_at == w.clock()
    assert all(e.actor and e.at for e in ticket.events)
    # the status look-up shows the unit's result to the citizen
    status = w.hotline.ticket_status(number, check=PHONE[-4:])
    assert status.stage == "closed" and status.result == REPLY["result"]


@pytest.mark.parametrize(
    "steps, transition, arguments",
    [
        ([], "reply", {"reply": REPLY}),  # not signed yet
        ([("sign", {})], "approve_extension", {}),  # nothing asked
        ([("sign", {})], "close", {}),
        ([("sign", {})], "rehandle", {"reason": "不满意"}),
        ([("sign", {}), ("reply", {"reply": REPLY})], "request_return", RETURN),
        ([("sign", {}), ("reply", {"reply": REPLY})], "sign", {}),
    ],
)
def test_a_transition_from_the_wrong_state_is_refused(world, steps, transition, arguments):
    w = world("pingli")
    number = w.register()
    w.at("11-24 10:00")
    for step, step_args in steps:
        w.act(number, step, **step_args)
    with pytest.raises(TransitionRefused) as refused:
        w.act(number, transition, **arguments)
    assert refused.value.code == "bad_state" and "当前状态为" in refused.value.reason


def test_signing_twice_returns_the_first_signature(world):
    w = world("pingli")
    number = w.register()
    first = w.act(number, "sign")
    w.at("11-23 12:00")
    again = w.act(number, "sign")
    assert again.id == first.id and [e.kind for e in w.ticket(number).events].count("signed") == 1


@pytest.mark.parametrize(
    "field_name, change",
    [
        ("handler", {"handler": None}),
        ("unit", {"unit": "  "}),
        ("result", {"result": None}),
        ("legal_basis", {"legal_basis": None}),
        ("handled_at", {"handled_at": None}),
        ("handled_at", {"handled_at": "下周一"}),
        ("handled_at", {"handled_at": "2026-12-24"}),  # in the future
        ("case_number", {"case_number": None, "case_date": None}),  # a complaint: case number or why not
        ("case_date", {"case_date": None}),
    ],
)
def test_a_reply_names_what_it_lacks(world, field_name, change):
    w = world("longsheng")
    number = w.register()
    w.act(number, "sign")
    w.at("11-24 15:00")
    with pytest.raises(InvalidInput) as invalid:
        w.act(number, "reply", reply={**REPLY, **change})
    assert invalid.value.field == field_name and field_name in invalid.value.message
    assert w.ticket(number).status == "signed"


def test_a_complaint_with_no_case_opened_says_why(world):
    w = world("longsheng")
    number = w.register()
    w.act(number, "sign")
    w.at("11-24 15:00")
    reply = {
        **REPLY,
        "case_number": None,
        "case_date": None,
        "no_case_reason": "经核查不构成违法行为，依据……不予立案",
    }
    event = w.act(number, "reply", reply=reply)
    assert event.data["no_case_reason"].startswith("经核查") and "case_number" not in event.data


def test_a_consultation_needs_no_case_number_but_an_urgent_ticket_needs_the_hour(world):
    w = world("longsheng")
    consult = w.register(category="consult")
    urgent = w.register(urgent=True, category="help")
    w.act(consult, "sign")
    w.act(urgent, "sign")
    w.at("11-23 18:00")
    plain = {k: v for k, v in REPLY.items() if not k.startswith("case")} | {"handled_at": "2026-11-23"}
    assert w.act(consult, "reply", reply=plain).kind == "replied"
    with pytest.raises(InvalidInput) as invalid:
        w.act(urgent, "reply", reply=plain)
    assert invalid.value.field == "handled_at" and "具体到时" in invalid.value.message
    assert w.act(urgent, "reply", reply=plain | {"handled_at": "2026-11-23T17:30"}).kind == "replied"


def test_a_rating_must_be_one_the_pack_names(world):
    w = world("longsheng")  # 003 第十三条(二): 满意 / 不满意 only
    number = w.register()
    w.act(number, "sign")
    w.at("11-24 15:00")
    w.act(number, "reply", reply=REPLY)
    with pytest.raises(InvalidInput):
        w.act(number, "record_rating", rating="基本满意")
    assert w.act(number, "record_rating", rating="满意", by="no_reply").data == {
        "rating": "满意", "by": "no_reply", "round": 1, "basis": "003 第十三条(二)"
    }  # fmt: skip


# ---------------------------------------------------------------- seams for the survey and the worker


def test_a_listener_on_replied_runs_in_the_same_transaction(world):
    w = world("longsheng")
    seen = []

    def survey(session, ticket, event):
        seen.append((ticket.number, ticket.status, event.data["result"]))
        w.hotline.outbox.enqueue(session, key=f"survey:{ticket.number}:{event.data['round']}", channel="sms",
                                 recipient=ticket.sender, body="请对办理结果评价：1满意 2不满意")  # fmt: skip

    w.flow.on("replied", survey)
    number = w.register()
    w.act(number, "sign")
    w.at("11-24 15:00")
    w.act(number, "reply", reply=REPLY)
    assert seen == [(number, "replied", REPLY["result"])]
    assert [m.key for m in w.hotline.outbox.pending()] == [f"survey:{number}:1"]


def test_tickets_the_pipeline_dispatched_are_handed_to_their_unit_once(world):
    w = world("longsheng")
    first, second = w.register(), w.register(unit="power")
    assert w.flow.hand_off_new() == [first, second]
    assert w.flow.hand_off_new() == []
    assert [(d.key, d.status, d.kind) for d in w.flow.handoff.deliveries()] == [
        (f"{first}:1", "listed", "dispatched"),  # no webhook: the unit reads the API
        (f"{second}:1", "listed", "dispatched"),
    ]
    assert w.ticket(first).version == 1 and w.ticket(first).dispatched_at == w.clock()


# ---------------------------------------------------------------- privacy (001 第二十四条)

PACK = load("longsheng")


@pytest.mark.parametrize(
    "text, confidential",
    [
        ("瓢里街的路灯坏了，请为我保密", True),
        ("我要匿名举报一家无证经营的小作坊", True),
        ("投诉楼下烧烤店油烟，不要透露我的电话给商家", True),
        ("别让老板知道是我反映的，他欠工资", True),
        ("请对我的个人信息保密", True),
        ("举报人信息要保密吗？不用保密，可以公开", False),
        ("县保密局在哪里办公", False),
        ("瓢里街的路灯坏了一个星期了", False),
    ],
)
def test_a_citizen_who_asks_for_confidentiality_gets_it(text, confidential):
    assert rules.wants_confidentiality(text, PACK) is confidential


def test_a_confidential_ticket_shows_the_unit_no_name_phone_or_address(world):
    w = world("longsheng")
    text = "我叫王小红，电话13812345678，住瓢里街18号3栋2单元，楼下烧烤店油烟太大，请为我保密"
    secret = w.register(text=text, location="瓢里街18号3栋2单元", confidential=True)
    open_ = w.register(text=text)
    hidden = w.view(secret)
    assert hidden["citizen"] is None and hidden["confidential"] is True
    for leaked in ("王小红", "13812345678", "18号", "3栋", "2单元", PHONE):
        assert leaked not in str(hidden)
    assert "烧烤店油烟" in hidden["text"] and "瓢里街" in hidden["text"]
    shown = w.view(open_)
    assert shown["citizen"] == {"channel": "sms", "phone": PHONE} and shown["text"] == text


def test_redaction_keeps_the_matter():
    assert (
        redact("联系人：张三，微信同号13912345678，IP 10.2.3.4")
        == "联系人：（已隐去），微信同号（已隐去），IP （已隐去）"
    )
    assert redact("桂石路88号门口路灯不亮") == "桂石路（已隐去）门口路灯不亮"
