"""A database outage loses nothing (issue 17): every message is kept in the spool, the reply says so
in each medium's own format, and the worker's replay puts each through the pipeline exactly once,
with the moment it arrived, then owes the texter the reply by SMS.

The outage is real: a second hotline on the same instance folder whose database is a PostgreSQL port
nobody listens on, so the errors are the driver's own.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app import create_app
from channels.errors import SPOOLED, SPOOLED_CHAT, apology
from channels.worker import Worker
from intake import spool
from intake.core.messages import Message
from intake.core.models import InboundMessage, OutboxMessage, Ticket
from intake.hotline import Hotline
from tests.channels.test_sms import Phone
from tests.channels.test_sms import sms_hotline as sms_hotline  # noqa: F401  (fixture)

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=2"


@pytest.fixture
def down(sms_hotline, clock):  # noqa: F811
    """The same deployment (instance folder, settings) with its database unreachable."""
    settings = dataclasses.replace(sms_hotline.settings, database_url=NOWHERE)
    hotline = Hotline(settings, clock=clock)
    yield hotline
    hotline.db.dispose()


@pytest.fixture
def down_client(down):
    app = create_app({"hotline": down, "TESTING": True})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does
    return app.test_client()


def count(hotline, model, *where) -> int:
    with hotline.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_nothing_sent_during_an_outage_is_lost_and_each_is_handled_once_when_it_is_back(
    sms_hotline,
    down,
    down_client,
    clock,  # noqa: F811
):
    arrived = clock.now
    texts = ["小区门口的路灯坏了一个多月了，在龙胜镇桂石路", "社保卡丢了怎么补办", "楼下烧烤店油烟太大"]
    api = [
        down_client.post("/api/v1/messages", json={"channel": "web", "sender": f"web-{i}", "text": text})
        for i, text in enumerate(texts)
    ]
    assert {r.status_code for r in api} == {503}
    assert all(r.json["error"] == apology(SPOOLED_CHAT, sms_hotline.policy) and r.json["kept"] for r in api)
    phones = [Phone(down_client, number=f"+86139000000{i:02d}") for i in range(3)]
    assert [phone.send(text) for phone, text in zip(phones, texts, strict=True)] == [
        [apology(SPOOLED, sms_hotline.policy)]
    ] * 3
    assert down.spool.count() == 6

    clock.now = arrived + timedelta(minutes=40)  # the database is back
    assert down.replay_spool() == 0, "still down: nothing replayed, nothing dropped"
    assert down.spool.count() == 6
    assert sms_hotline.replay_spool() == 6
    assert sms_hotline.spool.count() == 0
    with sms_hotline.db.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert sorted(r.text for r in rows) == sorted(texts * 2)
        assert {r.received_at for r in rows} == {arrived}, "deadlines count from when it arrived"
        assert {r.status for r in rows} == {"processed"}
        late = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert sorted(m.recipient for m in late) == sorted(p.number for p in phones)
        assert all(m.body.startswith("【12345热线】") and m.channel == "sms" for m in late)
    street = [t for t in _tickets(sms_hotline) if "路灯" in t.text]
    assert len(street) == 2 and all(t.created_at == arrived for t in street)

    assert sms_hotline.replay_spool() == 0  # a second pass finds nothing to do twice
    assert count(sms_hotline, InboundMessage) == 6 and count(sms_hotline, OutboxMessage) == 3


def _tickets(hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket)).all()
        session.expunge_all()
        return list(rows)


def test_a_message_kept_twice_is_stored_and_answered_once(sms_hotline, down):  # noqa: F811
    message = Message(channel="wechat", sender="o-openid-1", text="公积金怎么提取", channel_msg_id="6001")
    for _ in range(2):  # WeChat retried the push while the database was down
        with pytest.raises(spool.Spooled):
            down.handle(message)
    assert sms_hotline.replay_spool() == 2
    assert count(sms_hotline, InboundMessage) == 1
    assert count(sms_hotline, OutboxMessage, OutboxMessage.channel == "wechat") == 1


def test_an_sms_opt_out_sent_during_an_outage_is_applied_not_made_a_ticket(
    sms_hotline,
    down_client,  # noqa: F811
):
    from intake.core.preferences import wants_surveys

    phone = Phone(down_client, number="+8613900000077")
    assert phone.send("退订") == [apology(SPOOLED, sms_hotline.policy)]
    assert sms_hotline.replay_spool() == 1
    with sms_hotline.db.session() as session:
        assert not wants_surveys(session, "sms", phone.number)
    assert count(sms_hotline, Ticket) == 0


def test_a_call_whose_database_goes_down_mid_call_keeps_what_the_caller_said(
    sms_hotline,
    down,
    clock,  # noqa: F811
):
    voice_token = "voice-outage-token"
    up = dataclasses.replace(sms_hotline.settings, twilio_auth_token=voice_token)
    sms_hotline.settings = up
    down.settings = dataclasses.replace(down.settings, twilio_auth_token=voice_token)
    params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+8613900000088", "To": "+15005550006",
              "CallStatus": "in-progress", "Direction": "inbound", "AccountSid": "AC" + "0" * 32}  # fmt: skip

    def post(app, path: str, **extra: str):
        data = params | extra
        signature = RequestValidator(voice_token).compute_signature("http://localhost" + path, data)
        return app.test_client().post(path, data=data, headers={"X-Twilio-Signature": signature})

    assert post(create_app({"hotline": sms_hotline, "TESTING": True}), "/voice/incoming").status_code == 200
    broken = create_app({"hotline": down, "TESTING": True})
    broken.config["PROPAGATE_EXCEPTIONS"] = False
    response = post(broken, "/voice/listen?t=1", SpeechResult="我家门口的路灯坏了", Confidence="0.9")
    assert response.status_code == 200 and response.mimetype == "text/xml"
    spoken = response.get_data(as_text=True)
    assert "已经记录" in spoken and "没有保存" not in spoken and "<Hangup" in spoken
    assert sms_hotline.replay_spool() == 1
    with sms_hotline.db.session() as session:
        (row,) = session.scalars(select(InboundMessage).where(InboundMessage.channel == "voice")).all()
        assert row.text == "我家门口的路灯坏了" and row.channel_msg_id.startswith(params["CallSid"])


def test_a_message_the_pipeline_keeps_failing_on_goes_to_dead_after_five_tries(tmp_path):
    files = spool.FileSpool(tmp_path / "spool")
    files.put(spool.prepare(Message(channel="web", sender="w", text="x"), _now()))

    def bug(message):
        raise RuntimeError("a bug in a step")

    for _ in range(spool.MAX_ATTEMPTS):
        assert spool.replay(files, bug, lambda kept, outcome: None, lambda exc: False) == 0
    assert files.count() == 0
    (dead,) = (tmp_path / "spool" / "dead").glob("*.json")
    assert spool.decode(dead.read_text(encoding="utf-8")).attempts == spool.MAX_ATTEMPTS


def test_a_claim_whose_worker_died_is_given_back(tmp_path, monkeypatch):
    files = spool.FileSpool(tmp_path / "spool")
    files.put(spool.prepare(Message(channel="web", sender="w", text="路灯坏了"), _now()))
    taken = next(files.claim())  # this worker dies here: never done, never released
    assert list(files.claim()) == []  # claimed: another worker does not take it
    monkeypatch.setattr(spool, "CLAIM_SECONDS", -1)
    (again,) = list(files.claim())
    assert again.ref == taken.ref and again.message.text == "路灯坏了"


def test_the_redis_spool_is_shared_by_workers_and_claims_each_message_once(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    namespace = f"test-{uuid.uuid4().hex}"
    one = spool.RedisSpool("redis://127.0.0.1:6379/0", namespace, spool.FileSpool(tmp_path / "a"))
    two = spool.RedisSpool("redis://127.0.0.1:6379/0", namespace, spool.FileSpool(tmp_path / "b"))
    try:
        for i in range(3):
            one.put(spool.prepare(Message(channel="sms", sender="+8613900000001", text=f"第{i}条"), _now()))
        assert two.count() == 3
        first = list(one.claim())
        assert len(first) == 3 and list(two.claim()) == []
        for kept in first[:2]:
            one.done(kept)
        one.release(first[2], failed=False)  # given back: the other worker may take it at once
        (left,) = list(two.claim())
        assert left.ref == first[2].ref
        two.done(left)
        assert one.count() == 0
    finally:
        one.client.delete(one.key)


def test_the_worker_replays_the_spool_first(sms_hotline, down):  # noqa: F811
    with pytest.raises(spool.Spooled):
        down.handle(Message(channel="sms", sender="+8613900000099", text="路灯坏了", channel_msg_id="SMx"))
    done = Worker(sms_hotline).run_once()
    assert list(done)[0] == "spool" and done["spool"] == 1


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
