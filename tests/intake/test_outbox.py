"""The outbox: messages owed are queued once per key, sent by whoever claims them, retried, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.core.outbox import LEASE, MAX_ATTEMPTS, DeliveryError, backoff


class Recorder:
    """A sender that records what it sends and fails as told."""

    def __init__(self, failures: list[DeliveryError] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures = list(failures or [])

    def send(self, recipient: str, body: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((recipient, body))
        return f"ref-{len(self.sent)}"


def owe(hotline, key="ticket-number:2611230001", recipient="+8613800001234", body="您的工单号是2611230001。"):
    with hotline.db.session() as session:
        row = hotline.outbox.enqueue(session, key=key, channel="sms", recipient=recipient, body=body)
        session.commit()
        return row.id


def test_a_message_is_owed_once_per_key(hotline):
    first, again = owe(hotline), owe(hotline)
    assert first == again
    assert len(hotline.outbox.pending()) == 1


def test_a_due_message_is_sent_and_marked_with_the_providers_reference(hotline):
    sms = Recorder()
    owe(hotline)
    report = hotline.outbox.deliver_due({"sms": sms})
    assert sms.sent == [("+8613800001234", "您的工单号是2611230001。")]
    assert len(report.sent) == 1 and hotline.outbox.pending() == []
    assert hotline.outbox.deliver_due({"sms": sms}).total == 0  # sent once, not again


def test_a_channel_without_a_sender_keeps_its_messages(hotline):
    owe(hotline)
    assert hotline.outbox.deliver_due({}).total == 0
    assert [m.status for m in hotline.outbox.pending()] == ["pending"]


def test_a_temporary_failure_is_retried_after_a_growing_wait(hotline, clock):
    sms = Recorder([DeliveryError("gateway 503")])
    owe(hotline)
    assert len(hotline.outbox.deliver_due({"sms": sms}).retrying) == 1
    (waiting,) = hotline.outbox.pending()
    assert waiting.last_error == "gateway 503" and waiting.attempts == 1
    assert hotline.outbox.deliver_due({"sms": sms}).total == 0  # not yet due
    clock.now += backoff(1)
    assert len(hotline.outbox.deliver_due({"sms": sms}).sent) == 1
    assert backoff(1) < backoff(2) < backoff(3) and backoff(30) == timedelta(hours=1)


def test_a_permanent_failure_is_not_retried(hotline):
    sms = Recorder([DeliveryError("twilio 21211: invalid number", permanent=True)])
    owe(hotline)
    assert len(hotline.outbox.deliver_due({"sms": sms}).failed) == 1
    assert hotline.outbox.pending() == []


def test_after_the_last_attempt_a_message_fails_for_good(hotline, clock):
    sms = Recorder([DeliveryError("down")] * MAX_ATTEMPTS)
    owe(hotline)
    for _ in range(MAX_ATTEMPTS):
        clock.now += timedelta(hours=2)
        hotline.outbox.deliver_due({"sms": sms})
    assert hotline.outbox.pending() == [] and sms.sent == []


def test_a_message_claimed_by_a_worker_that_died_is_sent_after_its_lease(hotline, clock):
    owe(hotline)
    # a worker claims the message and dies before sending it
    assert hotline.outbox._claim({"sms"}, 10)
    sms = Recorder()
    assert hotline.outbox.deliver_due({"sms": sms}).total == 0  # still leased
    clock.now += LEASE + timedelta(seconds=1)
    assert len(hotline.outbox.deliver_due({"sms": sms}).sent) == 1
    assert len(sms.sent) == 1


@pytest.mark.parametrize("raised", [RuntimeError("connection reset"), DeliveryError("timeout")])
def test_any_error_from_a_provider_leaves_the_message_queued(hotline, raised):
    sms = Recorder([raised])
    owe(hotline)
    hotline.outbox.deliver_due({"sms": sms})
    assert [m.status for m in hotline.outbox.pending()] == ["pending"]
