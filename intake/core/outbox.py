"""The outbox: every message we owe a citizen, stored first and sent by whichever worker gets to it.

Code that owes a message (a ticket number by SMS, an answer that missed WeChat's 5 seconds, a
survey) calls ``Outbox.enqueue`` inside its own transaction, with an idempotency key, so the debt
exists exactly when the thing that caused it does. ``Outbox.deliver_due`` then claims due messages
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never take the same one), hands each
to the sender for its channel and records the result. A message claimed by a worker that died is
claimed again once its lease runs out.

Providers offer no idempotency of their own (Twilio's Messages API has no idempotency key), so a
worker killed between the provider's acceptance and our commit sends that message a second time:
delivery is at least once, and the lease keeps that window to one send.

Senders live in ``channels/`` (they import Twilio and wechatpy); this module only knows the
``Sender`` protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.db import Database
from intake.core.models import OutboxMessage
from intake.core.privacy import mask_phone

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


class DeliveryError(Exception):
    """A sender could not deliver; ``permanent`` ones are not retried (a blocked number, a bad ID)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    """Delivers one outbox message through one provider; returns the provider's reference."""

    def send(self, recipient: str, body: str) -> str: ...


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min, … at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


class Outbox:
    """Queue and deliver outbound messages."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock

    def enqueue(
        self,
        session: Session,
        *,
        key: str,
        channel: str,
        recipient: str,
        body: str,
        ticket_number: str | None = None,
        not_before: datetime | None = None,
    ) -> OutboxMessage:
        """Owe ``body`` to ``recipient`` unless a message with ``key`` is already owed; caller commits."""
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        if existing is not None:
            return existing
        now = self.clock()
        row = OutboxMessage(
            key=key,
            channel=channel,
            recipient=recipient,
            body=body,
            ticket_number=ticket_number,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another worker queued the same key at the same moment
            return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        return row

    def deliver_due(self, senders: Mapping[str, Sender], limit: int = 50) -> DeliveryReport:
        """Send every due message whose channel has a sender; return what happened to each."""
        report = DeliveryReport()
        for message_id in self._claim(set(senders), limit):
            self._deliver(message_id, senders, report)
        return report

    def deliver(self, message_id: int, senders: Mapping[str, Sender]) -> DeliveryReport:
        """Try one message now (a WeChat answer that missed the passive reply), if it is still due."""
        report = DeliveryReport()
        if message_id in self._claim(set(senders), 1, only=message_id):
            self._deliver(message_id, senders, report)
        return report

    def _claim(self, channels: set[str], limit: int, only: int | None = None) -> list[int]:
        now = self.clock()
        with self.db.session() as session:
            due = or_(
                (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
            )
            query = (
                select(OutboxMessage)
                .where(due, OutboxMessage.channel.in_(channels))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if only is not None:
                query = query.where(OutboxMessage.id == only)
            rows = session.scalars(query).all()
            for row in rows:
                row.status = "sending"
                row.lease_until = now + LEASE
            session.commit()
            return [row.id for row in rows]

    def _deliver(self, message_id: int, senders: Mapping[str, Sender], report: DeliveryReport) -> None:
        with self.db.session() as session:
            row = session.get(OutboxMessage, message_id)
            recipient, body, channel = row.recipient, row.body, row.channel
        error: DeliveryError | None = None
        ref = None
        try:
            ref = senders[channel].send(recipient, body)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a provider library's own error: treat as temporary
            log.exception("outbox %s: sender for %s raised", message_id, channel)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        now = self.clock()
        with self.db.session() as session:
            row = session.get(OutboxMessage, message_id)
            row.attempts += 1
            row.lease_until = None
            if error is None:
                row.status, row.provider_ref, row.sent_at, row.last_error = "sent", ref, now, None
                report.sent.append(message_id)
            elif error.permanent or row.attempts >= MAX_ATTEMPTS:
                row.status, row.last_error = "failed", str(error)[:2000]
                report.failed.append(message_id)
                log.warning("outbox %s to %s failed for good: %s", message_id, mask_phone(recipient), error)
            else:
                row.status, row.last_error = "pending", str(error)[:2000]
                row.next_attempt_at = now + backoff(row.attempts)
                report.retrying.append(message_id)
            session.commit()

    def pending(self, channel: str | None = None) -> list[OutboxMessage]:
        """Messages not yet sent, oldest first (for the CLI and tests)."""
        with self.db.session() as session:
            query = select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
            if channel:
                query = query.where(OutboxMessage.channel == channel)
            rows = session.scalars(query.order_by(OutboxMessage.id)).all()
            session.expunge_all()
            return list(rows)
