"""The citizen is told of an approved extension (issue 20) where the regulation says so: one row per
article, under its own pack, through the channel the citizen used. 004 names no such duty."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from intake.core.models import OutboxMessage
from routing.notices import CitizenNotices
from routing.policy import load
from tests.routing.lifecycle_world import PHONE

WECHAT_ID = "oWx1234567890abcdefghijklmno"

# article, pack, ticket channel and sender (and a number given), whether and how the citizen is told
ROWS = [
    ("000 第十六条", "wengyuan", "sms", PHONE, None, ("sms", PHONE)),
    ("001 第十六条", "liaoyang", "voice", PHONE, None, ("sms", PHONE)),
    ("002 第十四条", "pingli", "wechat", WECHAT_ID, None, ("wechat", WECHAT_ID)),
    ("003 第十二条(二)9", "longsheng", "web", "web:7f3a", "13877001234", ("sms", "13877001234")),
    ("003 第十二条(二)9", "longsheng", "web", "web:7f3a", None, None),  # no way to reach them
]


def extend(w, *, channel: str, sender: str, phone: str | None) -> str:
    w.at("11-23 10:00")
    number = w.register(category="complaint", channel=channel, sender=sender)
    if phone:
        with w.hotline.db.session() as session:
            w.flow.ticket_for_update(session, number).contact_phone = phone
            session.commit()
    w.at("11-23 11:00")
    w.act(number, "sign")
    w.at("11-24 09:00")
    until = (date.fromisoformat(w.ticket(number).due) + timedelta(days=7)).isoformat()
    w.act(number, "request_extension", reason="需采购灯具。", until=until)
    w.at("11-24 10:00")
    w.act(number, "approve_extension")
    return number


@pytest.mark.parametrize(
    "article, pack, channel, sender, phone, told",
    [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]}{' +phone' if row[4] else ''}") for row in ROWS],
)
def test_an_approved_extension_is_told_to_the_citizen(world, article, pack, channel, sender, phone, told):
    w = world(pack)
    number = extend(w, channel=channel, sender=sender, phone=phone)
    ticket = w.ticket(number)
    with w.hotline.db.session() as session:
        owed = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_number == number)).all()
    notices = [m for m in owed if m.key.startswith("extension:")]
    event = next((e for e in ticket.events if e.kind == "citizen_told"), None)
    assert event is not None and event.data["basis"] == article
    if told is None:
        assert notices == [] and event.data["sent"] is False
        assert "未留联系方式" in event.data["why"]  # the office sees that nobody was told
        return
    (notice,) = notices
    assert (notice.channel, notice.recipient) == told
    assert event.data["sent"] is True and event.data["channel"] == told[0]
    assert number in notice.body and "因需采购灯具，" in notice.body
    assert f"办理时限延至{ticket.due[:4]}年" in notice.body  # the new date, as a citizen reads it


def test_an_extension_is_told_once_even_if_the_worker_retries(world):
    w = world("pingli")
    number = extend(w, channel="sms", sender=PHONE, phone=None)
    with w.hotline.db.session() as session:
        ticket = w.flow.ticket_for_update(session, number)
        event = next(e for e in ticket.events if e.kind == "extension_approved")
        CitizenNotices(w.flow, w.hotline.outbox).extension_approved(session, ticket, event)
        session.commit()
        keys = session.scalars(select(OutboxMessage.key).where(OutboxMessage.ticket_number == number)).all()
    assert [k for k in keys if k.startswith("extension:")] == [f"extension:{number}:1"]


def test_004_names_no_duty_to_tell_so_guizhou_sends_nothing():
    extension = load("guizhou").handling.extension
    assert extension is None or extension.tell_citizen is None
