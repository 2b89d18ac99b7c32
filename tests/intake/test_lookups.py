"""Status look-ups that cannot be guessed (issue 17): wrong checks are limited per number and per asker,
a limited look-up reads exactly like an unknown number, the owner is never stopped, every try is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import ChannelEvent
from intake.lookups import PER_TICKET
from intake.status import not_found_reply
from tests.intake.test_status import PHONE, register

ALLOWED = int(PER_TICKET.split("/")[0])


def ask(demo, number: str, check: str, sender: str = "+8613700000000"):
    return demo.handle(Message(channel="sms", sender=sender, text=f"查询 {number} {check}"))


def test_after_the_allowed_wrong_checks_the_right_one_reads_like_an_unknown_number(demo):
    number = register(demo)
    for guess in range(ALLOWED):
        assert ask(demo, number, f"{guess:04d}").reply == not_found_reply(number)
    limited = ask(demo, number, "5678")  # the right digits, too late
    assert limited.action == "status" and limited.ticket is None
    assert limited.reply == not_found_reply(number)


def test_the_limit_is_per_ticket_whoever_asks(demo):
    number = register(demo)
    for i in range(ALLOWED):
        ask(demo, number, "0000", sender=f"+86137000000{i:02d}")
    assert ask(demo, number, "5678", sender="+8613799999999").ticket is None


def test_an_asker_who_guesses_across_many_numbers_is_stopped_too(demo):
    numbers = [register(demo, sender=f"+8613900001{i:03d}") for i in range(5)]  # none ends in 0000
    for number in numbers:
        for _ in range(4):  # under the per-number limit on each
            ask(demo, number, "0000")
    # 20 wrong checks from one sender: its next try, even a right one, is not compared
    last = register(demo, sender="+8613912345678")
    assert ask(demo, last, "5678").ticket is None
    assert ask(demo, last, "5678", sender="+8613711111111").ticket is not None


def test_the_owner_is_never_stopped(demo):
    number = register(demo)
    for _ in range(ALLOWED + 3):
        ask(demo, number, "0000")
    own = demo.handle(Message(channel="sms", sender=PHONE, text=f"查询 {number}"))
    assert own.ticket is not None and own.ticket.number == number


def test_the_limit_is_a_moving_hour(demo, clock):
    number = register(demo)
    for _ in range(ALLOWED):
        ask(demo, number, "0000")
    assert ask(demo, number, "5678").ticket is None
    # the limits count on the real clock (their storage's), so only a real hour later would it open;
    # what the hotline's clock says does not reopen it
    clock.now += timedelta(hours=2)
    assert ask(demo, number, "5678").ticket is None


def test_every_look_up_is_recorded_without_the_askers_number(demo):
    number = register(demo)
    ask(demo, number, "0000")
    ask(demo, number, "5678")
    with demo.db.session() as session:
        rows = session.scalars(
            select(ChannelEvent).where(ChannelEvent.channel == "lookup").order_by(ChannelEvent.id)
        ).all()
    assert [r.kind for r in rows] == ["refused", "found"]
    assert all(r.data["number"] == number for r in rows)
    assert all("13700000000" not in str(r.data) for r in rows)


# ---------------------------------------------------------------- the contact phone proves it (issue 16)

WEB_TEXT = "幸福小区3号楼门口的路灯坏了一个星期了，我的电话是13800001234"


@pytest.mark.parametrize(
    "channel, sender",
    [("sms", "+8613700000000"), ("wechat", "oWx-someone-else"), ("web", "web-another-browser"),
     ("voice", "+8613711112222")],
)  # fmt: skip
def test_the_last_four_of_the_contact_phone_a_web_citizen_gave_prove_it_on_every_channel(
    demo, channel, sender
):
    number = register(demo, channel="web", sender="web-registering-browser", text=WEB_TEXT)
    found = demo.handle(Message(channel=channel, sender=sender, text=f"查询 {number} 1234"))
    assert found.action == "status" and found.ticket is not None and found.ticket.number == number
    wrong = demo.handle(Message(channel=channel, sender=sender, text=f"查询 {number} 4321"))
    assert wrong.ticket is None and wrong.reply == not_found_reply(number)


def test_the_status_api_takes_the_contact_phones_last_four(demo, client):
    number = register(demo, channel="web", sender="web-registering-browser", text=WEB_TEXT)
    assert client.get(f"/api/v1/tickets/{number}?check=1234").status_code == 200
    assert client.get(f"/api/v1/tickets/{number}?check=0000").status_code == 404


def test_an_sms_ticket_with_another_contact_phone_is_proven_by_either_number(demo):
    number = register(demo, text="幸福小区3号楼门口的路灯坏了一个星期了，联系我女儿13600001111")
    assert ask(demo, number, "1111").ticket is not None  # the contact phone given
    assert ask(demo, number, "5678").ticket is not None  # the number it was texted from, as before


def test_the_contact_phone_is_under_the_same_limit_on_wrong_tries(demo):
    number = register(demo, channel="web", sender="web-registering-browser", text=WEB_TEXT)
    for guess in range(ALLOWED):
        assert ask(demo, number, f"{guess:04d}").ticket is None
    assert ask(demo, number, "1234").ticket is None  # right, but too late: reads like an unknown number
