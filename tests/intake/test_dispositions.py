"""Every contact becomes a ticket record with its disposition (issue 8): answered, transferred,
redirected, declined and dispatched on each channel, abandoned when the citizen leaves, follow-ups kept
on the same ticket, and the one-time answer rate computed from the records."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from intake.core.messages import Message
from intake.core.models import Ticket
from intake.stats import compute
from tests.conftest import TZ
from tests.contract import EXAMPLES

DISPOSITIONS = [
    ("answer", "answered", "closed"),
    ("transfer", "transferred", "closed"),
    ("redirect", "redirected", "closed"),
    ("decline", "declined", "closed"),
    ("ticket", "dispatched", "dispatched"),
]


def _tickets(hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        return list(session.scalars(select(Ticket).options(selectinload(Ticket.events)).order_by(Ticket.id)))


@pytest.mark.parametrize("channel", ["web", "api"])
@pytest.mark.parametrize("action, disposition, status", DISPOSITIONS)
def test_each_outcome_is_recorded_with_its_disposition(client, demo, channel, action, disposition, status):
    body = client.post(
        "/api/v1/messages", json={"channel": channel, "sender": "s1", "text": EXAMPLES[action]}
    ).json
    assert body["action"] == action
    [ticket] = _tickets(demo)
    assert (ticket.channel, ticket.disposition, ticket.status) == (channel, disposition, status)
    assert ticket.text == EXAMPLES[action]
    assert (ticket.closed_at is None) == (disposition == "dispatched")
    details = {
        "answered": (ticket.kb_public_id, body["kb_id"]),
        "transferred": (ticket.transfer_to, body["transfer_to"]),
        "redirected": (ticket.redirect_to, body["redirect_to"]),
        "declined": (ticket.decline_reason, body["decline_reason"]),
        "dispatched": (ticket.unit_code, body["unit"]),
    }[disposition]
    assert details[0] == details[1] and details[0]
    if disposition == "answered":
        assert ticket.kb_version == 1
    if disposition in ("redirected", "declined"):
        assert ticket.events[-1].data["guidance"] == body["reply"]  # what the citizen was told


def test_the_number_is_given_only_for_a_dispatched_matter_or_on_request(demo):
    answered = demo.handle(Message(channel="web", sender="s2", text=EXAMPLES["answer"]))
    assert answered.ticket is None and "工单号" not in answered.reply
    asked = demo.handle(Message(channel="web", sender="s2", text="给我个工单号"))
    [ticket] = _tickets(demo)
    assert ticket.number in asked.reply and asked.ticket.number == ticket.number
    dispatched = demo.handle(Message(channel="web", sender="s3", text=EXAMPLES["ticket"]))
    assert dispatched.ticket is not None and dispatched.ticket.number in dispatched.reply


def test_follow_ups_belong_to_the_same_ticket_and_a_new_matter_gets_a_new_one(demo):
    assert demo.handle(Message(channel="web", sender="s4", text="有人在河边偷排污水")).action == "ask"
    done = demo.handle(Message(channel="web", sender="s4", text="平等镇龙坪村那条河"))
    assert done.action == "ticket"
    [ticket] = _tickets(demo)
    assert ticket.disposition == "dispatched" and ticket.location == "平等镇龙坪村那条河"
    assert [e.kind for e in ticket.events] == ["registered", "follow_up", "dispatched"]
    demo.handle(Message(channel="web", sender="s4", text=EXAMPLES["answer"]))
    assert [t.disposition for t in _tickets(demo)] == ["dispatched", "answered"]


def test_a_clarify_then_a_choice_is_one_answered_ticket(demo):
    first = demo.handle(Message(channel="web", sender="s5", text="公积金"))
    assert first.action == "clarify"
    [pending] = _tickets(demo)
    assert pending.disposition == "pending" and pending.status == "registered"
    demo.handle(Message(channel="web", sender="s5", text="1"))
    [ticket] = _tickets(demo)
    assert ticket.disposition == "answered" and ticket.kb_public_id == first.candidates[0].kb_id


def test_a_citizen_who_leaves_mid_conversation_is_recorded_as_abandoned(demo):
    demo.handle(Message(channel="voice", sender="+8613812345678", text="我要反映一下有人偷排污水"))
    number = demo.intake.abandon("voice", "+8613812345678", reason="hangup")
    [ticket] = _tickets(demo)
    assert ticket.number == number
    assert (ticket.disposition, ticket.status) == ("abandoned", "closed")
    assert ticket.events[-1].kind == "abandoned" and ticket.events[-1].data == {"reason": "hangup"}


def test_a_chat_that_went_silent_is_abandoned_by_the_sweep(demo, clock):
    demo.handle(Message(channel="web", sender="s6", text="公积金"))
    assert demo.intake.sweep() == 0  # not idle yet
    clock.now += timedelta(minutes=45)
    assert demo.intake.sweep() == 1
    [ticket] = _tickets(demo)
    assert ticket.disposition == "abandoned"


def test_the_one_time_answer_rate_on_a_known_mix(demo, cli):
    # 3 consultations answered at once, 1 consultation that became a ticket, plus other matters
    for i, text in enumerate(["社保卡丢了咋办", "低保怎么申请", "孩子上小学怎么报名"]):
        assert demo.handle(Message(channel="web", sender=f"a{i}", text=text)).action == "answer"
    assert (
        demo.handle(Message(channel="web", sender="b", text="马堤乡的芋头收购价今年是多少?")).action
        == "ticket"
    )
    demo.handle(Message(channel="web", sender="c", text=EXAMPLES["transfer"]))
    demo.handle(Message(channel="web", sender="d", text=EXAMPLES["ticket"]))
    with demo.db.session() as session:
        stats = compute(session, date(2026, 11, 23), date(2026, 11, 23), TZ)
    assert stats.consultations == 4 and stats.consultations_answered == 3
    assert stats.one_time_answer_rate == 0.75
    assert stats.total == 6
    assert stats.by_disposition == {"answered": 3, "dispatched": 2, "transferred": 1}
    result = cli("stats", "--from", "2026-11-23", "--to", "2026-11-23", "--json")
    assert json.loads(result.stdout)["one_time_answer_rate"] == 0.75
    table = cli("stats", "--from", "2026-11-01", "--to", "2026-11-30").stdout
    assert "75.0% (3 of 4)" in table
    empty = cli("stats", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
    assert json.loads(empty.stdout)["total"] == 0


def test_a_repeat_arriving_while_the_first_copy_is_worked_on_waits_then_says_so(demo, monkeypatch):
    from intake import conversations
    from intake.core.models import InboundMessage

    monkeypatch.setattr(conversations, "AWAIT_SECONDS", 0.3)
    with demo.db.session() as session:  # another worker took this message a moment ago
        session.add(InboundMessage(channel="wechat", channel_msg_id="m-1", sender="o-1", text="路灯坏了",
                                   received_at=demo.clock(), status="received"))  # fmt: skip
        session.commit()
    with pytest.raises(conversations.InProgress):
        demo.handle(Message(channel="wechat", sender="o-1", text="路灯坏了", channel_msg_id="m-1"))
    assert _tickets(demo) == []


def test_a_message_whose_worker_died_is_taken_up_again(demo, clock):
    from intake.core.models import InboundMessage

    text, earlier = "公积金怎么提取", clock.now - timedelta(minutes=5)
    with demo.db.session() as session:
        session.add(InboundMessage(channel="wechat", channel_msg_id="m-2", sender="o-2", text=text,
                                   received_at=earlier, status="received"))  # fmt: skip
        session.commit()
    outcome = demo.handle(Message(channel="wechat", sender="o-2", text=text, channel_msg_id="m-2"))
    assert outcome.action in ("answer", "clarify")


def test_nul_characters_are_dropped_not_refused(demo):
    outcome = demo.handle(Message(channel="web", sender="s-nul", text="社保卡\x00丢了怎么补办"))
    assert outcome.action in ("answer", "clarify")
    with demo.db.session() as session:
        from sqlalchemy import select

        from intake.core.models import InboundMessage

        assert session.scalars(select(InboundMessage.text)).all() == ["社保卡丢了怎么补办"]
