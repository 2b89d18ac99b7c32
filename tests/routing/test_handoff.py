"""Webhook hand-off against a real HTTP receiver on localhost that fails the first attempts.

The receiver does what a unit's system should: it checks the signature with the unit's secret and
applies each ``Idempotency-Key`` once. Whatever the failures and retries, exactly one delivery takes
effect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.outbox import backoff
from routing.handoff import (
    LEASE,
    MAX_ATTEMPTS,
    Handoff,
    issue_token,
    set_webhook,
    signature,
    unit_for_token,
    verify_signature,
)
from routing.lifecycle import Lifecycle
from routing.models import HandoffDelivery
from tests.conftest import load_demo_into
from tests.routing.lifecycle_world import PHONE, RETURN, make_world
from tests.routing.test_key_items import REPORTS

SECRET = "s3cret-of-the-city-management-bureau"


class Receiver:
    """A unit's webhook endpoint: fails as told, verifies signatures, applies each key once."""

    def __init__(self, secret: str = SECRET, fail_first: int = 0, slow_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.slow_first = slow_first
        self.requests: list[dict] = []
        self.effects: dict[str, dict] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    attempt = len(receiver.requests)
                    fail = attempt <= receiver.fail_first
                    slow = attempt <= receiver.slow_first
                if fail:
                    self._answer(503, b'{"error":"maintenance"}')
                    return
                timestamp, given = (
                    self.headers.get("X-Hotline-Timestamp"),
                    self.headers.get("X-Hotline-Signature"),
                )
                expected = signature(receiver.secret, timestamp or "", body)
                if given != expected:
                    self._answer(401, b'{"error":"bad signature"}')
                    return
                key = self.headers["Idempotency-Key"]
                with receiver.lock:
                    receiver.effects.setdefault(key, json.loads(body))  # applied once per key
                if slow:
                    time.sleep(0.6)  # the work is done, but the answer comes too late for the sender
                self._answer(200, b'{"ok":true}')

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the sender gave up
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hotline/tickets"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(settings, clock):
    w = make_world(settings, clock, "longsheng")
    yield w
    w.hotline.db.dispose()


def connect(world, unit: str, url: str, secret: str = SECRET) -> None:
    with world.hotline.db.session() as session:
        set_webhook(session, unit, url, world.clock(), secret=secret)
        session.commit()


def test_a_dispatch_is_retried_until_the_unit_answers_and_takes_effect_once(world):
    with Receiver(fail_first=2) as unit:
        connect(world, "cgj", unit.url)
        number = world.register()
        report = world.flow.deliver_handoffs()
        assert report.adopted == [number] and report.retrying == [f"{number}:1"]
        assert world.flow.deliver_handoffs().total == 0  # not due yet: the wait grows
        world.clock.now += backoff(1)
        assert world.flow.deliver_handoffs().retrying == [f"{number}:1"]
        world.clock.now += backoff(2)
        assert world.flow.deliver_handoffs().delivered == [f"{number}:1"]
        received_at = world.clock()
        world.clock.now += timedelta(hours=2)
        assert world.flow.deliver_handoffs().total == 0  # delivered: never sent again

    assert len(unit.requests) == 3
    assert len({r["body"] for r in unit.requests}) == 1  # the same bytes every time
    assert list(unit.effects) == [f"{number}:1"]
    payload = unit.effects[f"{number}:1"]
    assert payload["event"] == "dispatched" and payload["idempotency_key"] == f"{number}:1"
    ticket = payload["ticket"]
    assert (ticket["number"], ticket["version"], ticket["unit"], ticket["due"]) == (
        number,
        1,
        "cgj",
        "2026-12-07",
    )
    assert ticket["citizen"] == {"channel": "sms", "phone": PHONE}
    headers = unit.requests[-1]["headers"]
    assert headers["Idempotency-Key"] == f"{number}:1" and headers["X-Hotline-Event"] == "dispatched"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert verify_signature(
        SECRET, unit.requests[-1]["body"], headers["X-Hotline-Timestamp"], headers["X-Hotline-Signature"],
        received_at,
    )  # fmt: skip
    (delivery,) = world.flow.handoff.deliveries(number)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)


def test_a_retry_after_a_lost_answer_is_applied_once_by_its_key(world):
    world.flow.handoff = Handoff(world.hotline.db, world.clock, timeout=(2.0, 0.3))
    with Receiver(slow_first=1) as unit:
        connect(world, "cgj", unit.url)
        number = world.register()
        assert world.flow.deliver_handoffs().retrying == [f"{number}:1"]  # timed out waiting
        world.clock.now += backoff(1)
        assert world.flow.deliver_handoffs().delivered == [f"{number}:1"]
    assert len(unit.requests) == 2
    assert list(unit.effects) == [f"{number}:1"]  # the unit did the work once


def test_each_dispatch_of_a_ticket_is_its_own_delivery(world):
    with Receiver() as cgj, Receiver(secret="power-secret") as power:
        connect(world, "cgj", cgj.url)
        connect(world, "power", power.url, "power-secret")
        number = world.register()
        world.flow.deliver_handoffs()
        world.act(number, "sign")
        world.act(number, "request_return", **RETURN)
        world.act(number, "approve_return", unit="power")
        world.flow.deliver_handoffs()
    assert list(cgj.effects) == [f"{number}:1"]
    assert list(power.effects) == [f"{number}:2"]
    assert power.effects[f"{number}:2"]["ticket"]["unit"] == "power"


def test_a_unit_without_a_webhook_is_reached_through_the_office(world):
    with Receiver(secret="office-secret") as office:
        connect(world, "office", office.url, "office-secret")
        number = world.register(unit="water")
        world.flow.deliver_handoffs()
    (payload,) = office.effects.values()
    assert payload["ticket"]["unit"] == "water" and payload["ticket"]["number"] == number
    assert world.flow.handoff.deliveries(number)[0].target == "office"


def test_with_no_webhook_at_all_the_notice_is_listed_for_the_unit_api(world):
    number = world.register()
    report = world.flow.deliver_handoffs()
    assert report.adopted == [number] and report.total == 0
    assert [d.status for d in world.flow.handoff.deliveries(number)] == ["listed"]


def test_a_notice_claimed_by_a_worker_that_died_is_delivered_after_its_lease(world):
    with Receiver() as unit:
        connect(world, "cgj", unit.url)
        number = world.register()
        world.flow.hand_off_new()
        dead = Handoff(world.hotline.db, world.clock)
        assert len(dead._claim(10)) == 1  # claimed, then the worker is killed before it POSTs
        fresh = Lifecycle(
            world.hotline.db, world.hotline.policy, world.hotline.calendar, world.flow.tz, world.clock
        )
        assert fresh.deliver_handoffs().total == 0  # still leased to the dead worker
        world.clock.now += LEASE + timedelta(seconds=1)
        assert fresh.deliver_handoffs().delivered == [f"{number}:1"]
    assert len(unit.effects) == 1 and len(unit.requests) == 1


def test_after_the_last_attempt_a_notice_fails_and_can_be_queued_again(world):
    with Receiver(fail_first=MAX_ATTEMPTS) as unit:
        connect(world, "cgj", unit.url)
        number = world.register()
        for _ in range(MAX_ATTEMPTS):
            world.flow.deliver_handoffs()
            world.clock.now += timedelta(hours=2)
        (failed,) = world.flow.handoff.deliveries(status="failed")
        assert failed.last_error == "HTTP 503" and failed.attempts == MAX_ATTEMPTS
        with world.hotline.db.session() as session:
            assert world.flow.handoff.retry_failed(session) == 1
            session.commit()
        assert world.flow.deliver_handoffs().delivered == [f"{number}:1"]
    assert list(unit.effects) == [f"{number}:1"]


def test_a_receiver_refuses_a_forged_or_replayed_notice(world):
    body = b'{"event":"dispatched"}'
    now = world.clock()
    stamp = str(int(now.timestamp()))
    good = signature(SECRET, stamp, body)
    assert verify_signature(SECRET, body, stamp, good, now)
    assert not verify_signature(SECRET, body + b" ", stamp, good, now)  # body changed
    assert not verify_signature("another-secret", body, stamp, good, now)
    assert not verify_signature(SECRET, body, stamp, good, now + timedelta(minutes=6))  # replayed later
    assert not verify_signature(SECRET, body, None, good, now)


def test_a_confidential_ticket_reaches_the_unit_without_the_citizen(world):
    with Receiver() as unit:
        connect(world, "cgj", unit.url)
        number = world.register(
            text="我叫王小红，电话13812345678，瓢里街18号油烟扰民，请为我保密", confidential=True
        )
        world.flow.deliver_handoffs()
    body = unit.requests[0]["body"].decode("utf-8")
    for leaked in ("王小红", "13812345678", PHONE, "18号"):
        assert leaked not in body
    assert json.loads(body)["ticket"]["confidential"] is True and number in body


def test_logs_never_carry_the_citizens_phone(world, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver(fail_first=1) as unit:
        connect(world, "cgj", unit.url)
        world.register()
        world.flow.deliver_handoffs()
    assert caplog.records and PHONE not in caplog.text and "13912345678" not in caplog.text


def test_a_notice_is_owed_once_per_key(world):
    number = world.register()
    with world.hotline.db.session() as session:
        args = {
            "key": f"{number}:1",
            "ticket_number": number,
            "version": 1,
            "unit_code": "cgj",
            "kind": "dispatched",
        }
        first, new = world.flow.handoff.notify(session, payload={"a": 1}, **args)
        again, again_new = world.flow.handoff.notify(session, payload={"a": 2}, **args)
        session.commit()
    assert new and not again_new and first.id == again.id


def test_a_unit_token_is_stored_only_as_a_hash_and_a_new_one_replaces_it(world):
    with world.hotline.db.session() as session:
        first = issue_token(session, "cgj", world.clock())
        session.commit()
        assert unit_for_token(session, first) == "cgj"
        second = issue_token(session, "cgj", world.clock())
        session.commit()
        assert unit_for_token(session, first) is None and unit_for_token(session, second) == "cgj"
        from routing.models import UnitCredential

        stored = session.query(UnitCredential).one()
        assert second not in (stored.token_hash, stored.webhook_secret) and len(stored.token_hash) == 64


def test_a_webhook_must_be_an_http_url(world):
    with world.hotline.db.session() as session, pytest.raises(ValueError):
        set_webhook(session, "cgj", "ftp://unit.example/hook", world.clock())


# ---------------------------------------------------------------- key items (000 第十四条)


@pytest.fixture
def wengyuan(settings, clock):
    w = make_world(settings, clock, "wengyuan")
    load_demo_into(w.hotline)
    yield w
    w.hotline.db.dispose()


def reported(world, sender: str, text: str):
    """A citizen's report through the real pipeline; the ticket it made."""
    outcome = world.hotline.handle(Message(channel="sms", sender=sender, text=text))
    assert outcome.action == "ticket", outcome.reply
    return outcome.ticket


INCIDENT = ("key_item", "key_item_basis", "reporters", "linked")


def test_a_unit_learns_that_many_citizens_reported_its_tickets_incident(wengyuan):
    """Each report is handed over as it comes; the third makes all three a key item, and the units of
    the first two, already told, get a ``key_item`` notice. The third citizen asked for confidentiality:
    their ticket still names the others, and nobody's contact reaches another's ticket."""
    (a, text_a), (b, text_b), (c, text_c) = REPORTS
    first = reported(wengyuan, a, text_a)
    with Receiver() as unit:
        connect(wengyuan, first.unit, unit.url)
        wengyuan.flow.deliver_handoffs()
        second = reported(wengyuan, b, text_b)
        wengyuan.flow.deliver_handoffs()
        third = reported(wengyuan, c, text_c + "，请为我保密")
        report = wengyuan.flow.deliver_handoffs()
        assert wengyuan.flow.deliver_handoffs().total == 0  # told once
    one, two, three = first.number, second.number, third.number
    assert sorted(report.delivered) == sorted([f"{three}:1", f"{one}:1:key-item", f"{two}:1:key-item"])

    def told(key: str) -> tuple:
        return tuple(unit.effects[key]["ticket"][field] for field in INCIDENT)

    rows = [  # (notice, key_item, basis, reporters, linked)
        (f"{one}:1", False, None, 1, []),
        (f"{two}:1", False, None, 2, [one]),
        (f"{three}:1", True, "000 第十四条", 3, [two, one]),
        (f"{one}:1:key-item", True, "000 第十四条", 3, [two, three]),  # in the order linked
        (f"{two}:1:key-item", True, "000 第十四条", 3, [one, three]),
    ]
    for key, *expected in rows:
        assert told(key) == tuple(expected), key
    assert {r["headers"]["Idempotency-Key"]: r["headers"]["X-Hotline-Event"] for r in unit.requests} == {
        f"{one}:1": "dispatched", f"{two}:1": "dispatched", f"{three}:1": "dispatched",
        f"{one}:1:key-item": "key_item", f"{two}:1:key-item": "key_item",
    }  # fmt: skip
    assert unit.effects[f"{three}:1"]["ticket"]["citizen"] is None  # confidential, yet linked
    for request in unit.requests:
        body = request["body"].decode("utf-8")
        shown = json.loads(body)["ticket"]
        others = [(s, t) for s, t in ((a, text_a), (b, text_b), (c, text_c)) if t not in shown["text"]]
        for sender, text in others:  # another reporter: neither their number nor their words
            assert sender[-11:] not in body and text not in body, request["headers"]["Idempotency-Key"]


def test_a_ticket_flagged_before_its_hand_off_needs_no_second_notice(wengyuan):
    tickets = [reported(wengyuan, sender, text) for sender, text in REPORTS]
    with Receiver() as unit:
        connect(wengyuan, tickets[0].unit, unit.url)
        report = wengyuan.flow.deliver_handoffs()
        assert wengyuan.flow.deliver_handoffs().total == 0
    assert sorted(report.delivered) == sorted(f"{t.number}:1" for t in tickets)  # no key-item notices
    assert all(e["ticket"]["key_item"] and e["ticket"]["reporters"] == 3 for e in unit.effects.values())


def test_a_ticket_no_one_else_reported_is_no_key_item(world):
    number = world.register()
    assert {field: world.view(number)[field] for field in INCIDENT} == {
        "key_item": False,
        "key_item_basis": None,
        "reporters": 1,
        "linked": [],
    }


def test_the_office_sends_failed_notices_again_from_the_command_line(hotline, cli):
    """`hotline unit retry [CODE]` is how the office re-queues notices after a unit fixed its webhook."""
    load_demo_into(hotline)
    with hotline.db.session() as session:
        for key, target in (("2612010001:1", "cgj"), ("2612010002:1", "office")):
            session.add(
                HandoffDelivery(
                    key=key,
                    ticket_number=key[:10],
                    version=1,
                    kind="dispatched",
                    unit_code="cgj",
                    target=target,
                    body="{}",
                    status="failed",
                    attempts=MAX_ATTEMPTS,
                )
            )
        session.commit()
    assert "1 failed notice(s) for cgj queued again" in cli("unit", "retry", "cgj").output
    assert cli("unit", "retry", "nosuchunit").exit_code != 0
    assert "1 failed notice(s) queued again" in cli("unit", "retry").output
    with hotline.db.session() as session:
        rows = session.scalars(select(HandoffDelivery).order_by(HandoffDelivery.key)).all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
