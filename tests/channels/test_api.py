"""The JSON API: triage decides only, messages runs the whole pipeline, healthz reports."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from intake.core.models import InboundMessage, Ticket
from tests.contract import EXAMPLES, assert_contract


@pytest.mark.parametrize("action", sorted(EXAMPLES))
def test_triage_endpoint_returns_the_contract(client, action):
    response = client.post("/api/v1/triage", json={"text": EXAMPLES[action]})
    assert response.status_code == 200
    assert_contract(response.json)
    assert response.json["action"] == action


def test_triage_and_cli_agree(client, cli):
    import json

    for text in EXAMPLES.values():
        via_api = client.post("/api/v1/triage", json={"text": text}).json
        via_cli = json.loads(cli("triage", text).stdout)
        assert via_api == via_cli


@pytest.mark.parametrize(
    "body, status",
    [
        (None, 400),
        ({"txt": "你好"}, 400),
        ({"text": 12}, 400),
        ({"text": "社保" * 6000}, 400),
    ],
)
def test_triage_refuses_bad_bodies_with_a_clear_message(client, body, status):
    response = (
        client.post("/api/v1/triage", json=body)
        if body is not None
        else client.post("/api/v1/triage", data="not json", content_type="application/json")
    )
    assert response.status_code == status
    assert response.json["error"]


def test_huge_body_is_refused_before_it_is_read(client):
    response = client.post("/api/v1/messages", data="x" * (300 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert "过大" in response.json["error"]


def test_message_creates_a_ticket_and_stores_the_message(client, demo):
    response = client.post(
        "/api/v1/messages", json={"channel": "web", "sender": "web-abc", "text": EXAMPLES["ticket"]}
    )
    body = response.json
    assert_contract(body)
    assert body["action"] == "ticket"
    ticket = body["ticket"]
    assert set(ticket) == {"number", "category", "unit", "due"}
    assert ticket["number"].isdigit() and ticket["number"] in body["reply"]
    assert ticket["unit"] == body["unit"] and ticket["due"] == body["due"]
    with demo.db.session() as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == ticket["number"]))
        assert stored.sender == "web-abc" and stored.disposition == "dispatched"
        assert [e.kind for e in stored.events] == ["registered", "dispatched"]
        message = session.scalar(select(InboundMessage))
        assert message.text == EXAMPLES["ticket"] and message.status == "processed"


def test_message_without_place_asks_then_creates_the_ticket(client, demo):
    first = client.post(
        "/api/v1/messages", json={"sender": "web-1", "text": "有人在河边偷排污水，水都变黑了"}
    ).json
    assert first["action"] == "ask" and first["ticket"] is None
    assert "什么地方" in first["reply"]
    second = client.post("/api/v1/messages", json={"sender": "web-1", "text": "平等镇龙坪村那条河"}).json
    assert second["action"] == "ticket"
    assert second["category"] == "report"
    with demo.db.session() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket.location == "平等镇龙坪村那条河"
        assert "偷排污水" in ticket.text


def test_a_retried_message_gets_the_same_reply_and_creates_nothing_twice(client, demo):
    payload = {"sender": "web-2", "text": EXAMPLES["ticket"], "message_id": "m-1"}
    first = client.post("/api/v1/messages", json=payload).json
    second = client.post("/api/v1/messages", json=payload).json
    assert first == second
    with demo.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_clarify_then_pick_a_choice_by_number(client, demo):
    outcome = client.post("/api/v1/messages", json={"sender": "web-3", "text": "公积金"}).json
    assert outcome["action"] == "clarify", outcome
    chosen = outcome["candidates"][1]
    answer = client.post("/api/v1/messages", json={"sender": "web-3", "text": "2"}).json
    assert answer["action"] == "answer" and answer["kb_id"] == chosen["kb_id"]


def test_messages_refuses_voice_and_sms_channels(client):
    response = client.post("/api/v1/messages", json={"channel": "sms", "text": "你好"})
    assert response.status_code == 400


def test_healthz_reports_database_entries_and_policy(client, demo):
    body = client.get("/healthz").json
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["kb"]["entries"] >= 80
    assert body["policy"] == "longsheng"
    head = ScriptDirectory.from_config(demo.db.alembic_config()).get_current_head()
    assert body["database"]["schema"] == head


def test_healthz_names_a_holiday_source_for_this_year_and_next(client, demo, clock):
    from datetime import timedelta

    clock.now += timedelta(days=30)  # 2026-12-23: deadlines already reach into 2027
    body = client.get("/healthz").json
    assert body["calendar"] == {"2026": "chinesecalendar", "2027": "holidays"}
    assert body["warnings"] == []
    assert body["notices"] and "2027" in body["notices"][0]


def test_web_chat_page_is_served_in_chinese(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh-CN"' in html and 'aria-live="polite"' in html and "<label" in html


def test_a_message_still_being_worked_on_elsewhere_gets_409_and_is_not_processed_twice(
    client, demo, monkeypatch
):
    from intake import conversations
    from intake.core.models import InboundMessage

    monkeypatch.setattr(conversations, "AWAIT_SECONDS", 0.2)
    with demo.db.session() as session:  # another worker took this message a moment ago
        session.add(InboundMessage(channel="web", channel_msg_id="m-busy", sender="s-busy", text="路灯坏了",
                                   received_at=demo.clock(), status="received"))  # fmt: skip
        session.commit()
    body = {"text": "路灯坏了", "sender": "s-busy", "message_id": "m-busy"}
    response = client.post("/api/v1/messages", json=body)
    assert response.status_code == 409 and "正在处理" in response.json["error"]


def test_a_scripted_guesser_finds_no_check_within_the_hour(client, demo):
    """Issue 17: 300 tries in a row, the right digits among them, all read as an unknown number."""
    from intake.core.messages import Message

    outcome = demo.handle(
        Message(
            channel="sms", sender="+8613912345678", text="幸福小区3号楼门口的路灯坏了一个星期了，晚上很黑"
        )
    )
    number = outcome.ticket.number
    guesses = [f"{n:04d}" for n in range(300)]
    guesses.insert(150, "5678")  # the right one, after 150 wrong
    statuses = [
        client.get(f"/api/v1/tickets/{number}", query_string={"check": g}).status_code for g in guesses
    ]
    assert set(statuses) == {404}
    unknown = client.get("/api/v1/tickets/2611239999", query_string={"check": "5678"})
    limited = client.get(f"/api/v1/tickets/{number}", query_string={"check": "5678"})
    assert limited.status_code == unknown.status_code == 404
    assert limited.json["error"].replace(number, "N") == unknown.json["error"].replace("2611239999", "N")


def test_the_right_check_works_before_any_wrong_one(client, demo):
    from intake.core.messages import Message

    outcome = demo.handle(Message(channel="sms", sender="+8613912345678", text="幸福小区3号楼门口的路灯坏了"))
    found = client.get(f"/api/v1/tickets/{outcome.ticket.number}", query_string={"check": "5678"})
    assert found.status_code == 200 and found.json["number"] == outcome.ticket.number


def test_a_channel_that_is_not_a_string_is_a_clear_400(client):
    response = client.post("/api/v1/messages", json={"channel": ["web"], "text": "路灯坏了"})
    assert response.status_code == 400 and "channel" in response.json["error"]


def test_the_api_limits_each_sender_and_each_address(demo):
    import dataclasses

    from app import create_app

    demo.settings = dataclasses.replace(demo.settings, rate_limit="3/minute")
    client = create_app({"hotline": demo, "TESTING": True}).test_client()

    def send(sender: str, address: str) -> int:
        body = {"channel": "web", "sender": sender, "text": "社保卡丢了怎么办"}
        return client.post("/api/v1/messages", json=body, environ_base={"REMOTE_ADDR": address}).status_code

    assert [send("web-a", "10.0.0.1") for _ in range(4)] == [200, 200, 200, 429]
    # a new sender id from the same address does not start afresh: the address has used its three too
    assert send("web-b", "10.0.0.1") == 429
    assert send("web-c", "10.0.9.1") == 200
