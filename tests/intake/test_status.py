"""Status look-up: a ticket's stage for whoever proves it is theirs, and for no one else."""

from __future__ import annotations

import pytest

from intake.core.messages import Message
from intake.status import StatusQuery, look_up, not_found_reply, parse_status_query

PHONE = "+8613912345678"


@pytest.mark.parametrize(
    "text, number, check",
    [
        ("查询 2611230001", "2611230001", None),
        ("查询工单2611230001，电话后四位5678", "2611230001", "5678"),
        ("2611230001", "2611230001", None),
        ("2611230001 5678", "2611230001", "5678"),
        ("我的工单2611230012办得怎么样了", "2611230012", None),
    ],
)
def test_a_lookup_is_a_ticket_number_with_a_cue_or_alone(text, number, check):
    assert parse_status_query(text) == StatusQuery(number, check)


@pytest.mark.parametrize(
    "text",
    [
        "我的电话是13912345678，路灯坏了",  # a mobile number is not a ticket number
        "2611230001号楼门口的路灯坏了",  # a number inside a complaint, no cue
        "查询 2613450001",  # month 13: not a ticket number
        "社保卡丢了怎么办",
    ],
)
def test_other_texts_are_not_lookups(text):
    assert parse_status_query(text) is None


def register(demo, channel="sms", sender=PHONE, text="幸福小区3号楼门口的路灯坏了一个星期了，晚上很黑"):
    outcome = demo.handle(Message(channel=channel, sender=sender, text=text))
    assert outcome.action == "ticket", outcome.reply
    return outcome.ticket.number


def test_the_sender_who_registered_a_ticket_sees_its_stage_unit_and_due_date(demo):
    number = register(demo)
    outcome = demo.handle(Message(channel="sms", sender=PHONE, text=f"查询 {number}"))
    assert outcome.action == "status"
    assert outcome.ticket.number == number and outcome.unit
    assert "已转交承办单位" in outcome.reply and "办理时限" in outcome.reply
    assert outcome.unit_name in outcome.reply


def test_someone_else_with_the_last_four_digits_sees_it_too(demo):
    number = register(demo)
    outcome = demo.handle(Message(channel="sms", sender="+8613700000000", text=f"查询 {number} 5678"))
    assert outcome.action == "status" and outcome.ticket.number == number


def test_wrong_proof_reads_exactly_like_an_unknown_number(demo):
    number = register(demo)
    wrong = demo.handle(Message(channel="sms", sender="+8613700000000", text=f"查询 {number} 0000"))
    missing = demo.handle(Message(channel="sms", sender="+8613700000000", text=f"查询 {number} "))
    unknown_number = f"{number[:-4]}9999"
    unknown = demo.handle(Message(channel="sms", sender=PHONE, text=f"查询 {unknown_number}"))
    assert wrong.reply == missing.reply == not_found_reply(number)
    assert unknown.reply == not_found_reply(unknown_number)
    assert wrong.ticket is None and missing.ticket is None and unknown.ticket is None


def test_a_lookup_does_not_open_a_new_matter(demo):
    number = register(demo)
    with demo.db.session() as session:
        from sqlalchemy import func, select

        from intake.core.models import Ticket

        before = session.scalar(select(func.count()).select_from(Ticket))
    demo.handle(Message(channel="sms", sender=PHONE, text=f"查询 {number}"))
    with demo.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_a_reply_from_the_unit_is_shown_once_there(demo):
    number = register(demo)
    with demo.db.session() as session:
        from intake.core.models import TicketEvent
        from intake.core.tickets import find_ticket

        ticket = find_ticket(session, number)
        ticket.status = "replied"
        ticket.events.append(TicketEvent(kind="replied", actor="unit", data={"result": "路灯已于今日修复。"}))
        session.commit()
        status = look_up(session, number, channel="sms", sender=PHONE)
    assert status.stage == "replied" and status.result == "路灯已于今日修复。"
    assert "办理结果：路灯已于今日修复。" in status.reply


def test_the_http_lookup_takes_the_last_four_digits(client, demo):
    number = register(demo)
    ok = client.get(f"/api/v1/tickets/{number}?check=5678")
    assert ok.status_code == 200
    assert ok.json["number"] == number and ok.json["stage"] == "dispatched" and ok.json["reply"]
    wrong = client.get(f"/api/v1/tickets/{number}?check=1111")
    none = client.get(f"/api/v1/tickets/{number}")
    unknown = client.get(f"/api/v1/tickets/{number[:-4]}9999?check=5678")
    assert wrong.status_code == none.status_code == unknown.status_code == 404
    assert wrong.json == none.json == {"error": not_found_reply(number)}
    assert client.get(f"/api/v1/tickets/{number}?check=12").status_code == 400


def test_the_web_chat_that_registered_a_ticket_can_look_it_up_by_its_sender_id(client, demo):
    number = register(demo, channel="web", sender="browser-1")
    assert client.get(f"/api/v1/tickets/{number}?sender=browser-1").status_code == 200
    assert client.get(f"/api/v1/tickets/{number}?sender=browser-2").status_code == 404
