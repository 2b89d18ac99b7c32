"""Hand-off to the handling units: signed webhooks, and the credentials of the unit API.

Every notice a unit is owed (a dispatch, a re-dispatch, a re-handling, a reminder) is stored in
``handoff_deliveries`` inside the transaction that owes it, with the exact JSON body to send, so a
restart loses nothing. ``Handoff.deliver_due`` then POSTs due notices to the unit's webhook, or to the
hotline office's when the unit has none (the office forwards by hand), and records the answer:

- ``Content-Type: application/json; charset=utf-8``; the body is the same bytes on every attempt;
- ``Idempotency-Key: <number>:<version>`` (reminders add a suffix): a receiver that has seen the key
  answers 2xx and does nothing again, so a retried POST takes effect once;
- ``X-Hotline-Timestamp: <unix seconds>`` and ``X-Hotline-Signature: sha256=<hex>``, the HMAC-SHA256
  with the unit's webhook secret of ``<timestamp>.<body>``. The timestamp is inside the signature so a
  captured request cannot be replayed later; receivers check both (``verify_signature``);
- ``X-Hotline-Event``: ``dispatched``, ``rehandled``, ``reminder``, ``overdue`` or ``key_item``.

Every ticket a unit is shown says whether other citizens reported the same incident (``incident``):
the other reports' numbers and how many people reported it, flagged as a key item under 000 第十四条
when enough did; never who they are or what they wrote. A ticket that becomes a key item after its
dispatch notice was written gets a ``key_item`` notice (``owe_key_item_notices``), so a unit that
only listens to its webhook learns it too.

Any 2xx is delivered; anything else, or no answer, is retried with a growing wait (30 s … 1 h) up to
``MAX_ATTEMPTS``, then ``failed`` (listed for the office). Deliveries are claimed with ``FOR UPDATE
SKIP LOCKED`` and a lease, so several workers share them and a worker killed mid-POST leaves the
notice to be claimed again: delivery is at least once, and the key makes the effect once.

A unit with no webhook gets its notices ``listed``: it reads them from the unit API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.db import Database
from intake.core.models import Ticket, TicketEvent, Unit
from intake.core.outbox import backoff
from routing.keyitems import linked_numbers
from routing.models import HandoffDelivery, UnitCredential

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Hotline-Event"
SIGNATURE_TOLERANCE = timedelta(minutes=5)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
TIMEOUT = (5.0, 20.0)  # connect, read: well inside the lease
TOKEN_PREFIX = "hlu_"
USER_AGENT = "hotline12345-handoff/1"


class UnknownUnit(LookupError):
    """No unit has this code."""


# Key items are flagged the day their reports come in (routing.keyitems compares one day's reports), so
# a ticket created earlier than this can no longer become one; the bound keeps the worker's query small.
KEY_ITEM_LOOKBACK = timedelta(days=2)


# ---------------------------------------------------------------- other reports of the same incident


def incident(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What the unit is told about other citizens' reports of the same incident (000 第十四条).

    ``linked``: the numbers of the reports linked to this one or flagged with it as one key item;
    ``reporters``: how many different citizens reported it, this one included. Only numbers and a
    count: the other reporters' contacts and words stay out, whatever their tickets' confidentiality.
    """
    flags = [event.data for event in ticket.events if event.kind == "key_item"]
    linked = linked_numbers(ticket)
    for data in flags:
        linked += [n for n in data.get("numbers", []) if n != ticket.number and n not in linked]
    senders = {ticket.sender}
    if linked:
        senders.update(session.scalars(select(Ticket.sender).where(Ticket.number.in_(linked))))
    return {
        "key_item": bool(flags),
        "key_item_basis": flags[0].get("basis") if flags else None,
        "reporters": len(senders),
        "linked": linked,
    }


# ---------------------------------------------------------------- signatures


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Hotline-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds as text)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    given: str | None,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is within ``tolerance`` of now."""
    if not timestamp or not given or not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)


# ---------------------------------------------------------------- credentials


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _credential(session: Session, unit_code: str, now: datetime) -> UnitCredential:
    if session.scalar(select(Unit.code).where(Unit.code == unit_code)) is None:
        raise UnknownUnit(unit_code)
    row = session.scalar(select(UnitCredential).where(UnitCredential.unit_code == unit_code))
    if row is None:
        row = UnitCredential(unit_code=unit_code, updated_at=now)
        session.add(row)
    return row


def issue_token(session: Session, unit_code: str, now: datetime) -> str:
    """A new bearer token for ``unit_code``, replacing the old one; only its hash is kept. Caller commits."""
    row = _credential(session, unit_code, now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.token_hash = hash_token(token)
    row.token_issued_at = row.updated_at = now
    return token


def unit_for_token(session: Session, token: str | None) -> str | None:
    """The unit a bearer token belongs to, or ``None``."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.scalar(
        select(UnitCredential.unit_code).where(UnitCredential.token_hash == hash_token(token))
    )


def set_webhook(
    session: Session, unit_code: str, url: str | None, now: datetime, secret: str | None = None
) -> str | None:
    """Send ``unit_code``'s notices to ``url`` (``None``: API only); return the signing secret."""
    row = _credential(session, unit_code, now)
    if url is None:
        row.webhook_url = row.webhook_secret = None
        row.updated_at = now
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    row.webhook_url = url
    row.webhook_secret = secret or row.webhook_secret or secrets.token_hex(32)
    row.updated_at = now
    return row.webhook_secret


def _office_code(session: Session) -> str | None:
    return session.scalar(select(Unit.code).where(Unit.kind == "office").order_by(Unit.id).limit(1))


def _target(session: Session, unit_code: str) -> UnitCredential | None:
    """Whose webhook receives ``unit_code``'s notices: its own, else the office's, else nobody."""
    for code in (unit_code, _office_code(session)):
        if not code:
            continue
        row = session.scalar(select(UnitCredential).where(UnitCredential.unit_code == code))
        if row is not None and row.webhook_url and row.webhook_secret:
            return row
    return None


# ---------------------------------------------------------------- deliveries


@dataclass
class HandoffReport:
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # tickets handed to their unit in this pass

    @property
    def total(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


def body_bytes(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Handoff:
    """Owe notices to units and deliver them by webhook."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.db = db
        self.clock = clock
        self.timeout = timeout

    def notify(
        self,
        session: Session,
        *,
        key: str,
        ticket_number: str,
        version: int,
        unit_code: str,
        kind: str,
        payload: dict[str, Any],
    ) -> tuple[HandoffDelivery, bool]:
        """Owe ``payload`` to ``unit_code`` unless a notice with ``key`` is owed already; caller commits.

        Returns the delivery and whether it is new.
        """
        existing = session.scalar(select(HandoffDelivery).where(HandoffDelivery.key == key))
        if existing is not None:
            return existing, False
        now = self.clock()
        target = _target(session, unit_code)
        row = HandoffDelivery(
            key=key,
            ticket_number=ticket_number,
            version=version,
            kind=kind,
            unit_code=unit_code,
            target=target.unit_code if target else None,
            body=body_bytes(
                {**payload, "idempotency_key": key, "created_at": now.astimezone(UTC).isoformat()}
            ),
            status="pending" if target else "listed",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another worker owed the same notice at the same moment
            return session.scalars(select(HandoffDelivery).where(HandoffDelivery.key == key)).one(), False
        return row, True

    def owe_key_item_notices(
        self, session: Session, view: Callable[[Session, Ticket], dict[str, Any]]
    ) -> list[str]:
        """Owe a ``key_item`` notice for each handed-over ticket flagged since its notice; caller commits.

        ``view`` is the ticket as its unit sees it (``Lifecycle.unit_view``). A ticket whose current
        dispatch notice already said ``key_item`` needs none. Keyed ``number:version:key-item``, so
        several workers owe it once. Returns the keys owed now.
        """
        since = self.clock() - KEY_ITEM_LOOKBACK
        flagged = (
            select(TicketEvent.id)
            .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "key_item")
            .exists()
        )
        tickets = session.scalars(
            select(Ticket)
            .where(
                Ticket.created_at >= since,
                Ticket.disposition == "dispatched",
                Ticket.version >= 1,
                Ticket.status != "closed",
                flagged,
            )
            .order_by(Ticket.id)
        ).all()
        owed = []
        for ticket in tickets:
            key = f"{ticket.number}:{ticket.version}:key-item"
            told = session.scalar(
                select(HandoffDelivery.body).where(HandoffDelivery.key == f"{ticket.number}:{ticket.version}")
            )
            if told is not None and json.loads(told).get("ticket", {}).get("key_item"):
                continue  # flagged before it was handed over: the dispatch said so
            _, new = self.notify(
                session,
                key=key,
                ticket_number=ticket.number,
                version=ticket.version,
                unit_code=ticket.unit_code or "",
                kind="key_item",
                payload={"event": "key_item", "ticket": view(session, ticket)},
            )
            if new:
                owed.append(key)
        return owed

    def deliver_due(self, limit: int = 50) -> HandoffReport:
        """POST every due notice; return what happened to each (by key)."""
        report = HandoffReport()
        for delivery_id in self._claim(limit):
            self._deliver(delivery_id, report)
        return report

    def _claim(self, limit: int) -> list[int]:
        now = self.clock()
        with self.db.session() as session:
            due = or_(
                (HandoffDelivery.status == "pending") & (HandoffDelivery.next_attempt_at <= now),
                (HandoffDelivery.status == "sending") & (HandoffDelivery.lease_until < now),
            )
            rows = session.scalars(
                select(HandoffDelivery)
                .where(due)
                .order_by(HandoffDelivery.next_attempt_at, HandoffDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.status = "sending"
                row.lease_until = now + LEASE
            session.commit()
            return [row.id for row in rows]

    def _deliver(self, delivery_id: int, report: HandoffReport) -> None:
        with self.db.session() as session:
            row = session.get(HandoffDelivery, delivery_id, with_for_update=True)
            now = self.clock()
            if row.status != "sending" or row.lease_until is None or row.lease_until < now:
                return  # a slow batch outlived the claim: another worker has it now
            row.lease_until = now + LEASE  # the claim covers this POST, however long the batch
            key, kind, body = row.key, row.kind, row.body.encode("utf-8")
            target = _target(session, row.unit_code)
            url = target.webhook_url if target else None
            secret = target.webhook_secret if target else None
            row.target = target.unit_code if target else None
            session.commit()
        error, status = None, None
        if url is None or secret is None:
            error = "no webhook configured for the unit or the office"
        else:
            timestamp = str(int(self.clock().timestamp()))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                IDEMPOTENCY_HEADER: key,
                EVENT_HEADER: kind,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(secret, timestamp, body),
            }
            try:
                response = requests.post(
                    url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
                )
                status = response.status_code
                response.close()
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        with self.db.session() as session:
            row = session.get(HandoffDelivery, delivery_id)
            row.attempts += 1
            row.lease_until = None
            row.response_status = status
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
                report.delivered.append(key)
            elif url is None:
                row.status, row.last_error = "listed", error  # the unit reads it from the API
            elif row.attempts >= MAX_ATTEMPTS:
                row.status, row.last_error = "failed", error[:2000]
                report.failed.append(key)
                log.warning("hand-off %s to %s failed for good: %s", key, row.target, error)
            else:
                row.status, row.last_error = "pending", error[:2000]
                row.next_attempt_at = now + backoff(row.attempts)
                report.retrying.append(key)
                log.info("hand-off %s to %s: %s; retry at %s", key, row.target, error, row.next_attempt_at)
            session.commit()

    def retry_failed(self, session: Session, key: str | None = None, target: str | None = None) -> int:
        """Queue failed notices again (after a unit fixed its webhook): all, one ``key``, or those bound
        for ``target``'s webhook; caller commits. ``hotline unit retry`` is the office's way in."""
        query = select(HandoffDelivery).where(HandoffDelivery.status == "failed")
        if key:
            query = query.where(HandoffDelivery.key == key)
        if target:
            query = query.where(HandoffDelivery.target == target)
        rows = session.scalars(query).all()
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, self.clock()
        return len(rows)

    def deliveries(
        self, ticket_number: str | None = None, status: str | None = None
    ) -> list[HandoffDelivery]:
        """Notices, oldest first (for the office, the CLI and tests)."""
        with self.db.session() as session:
            query = select(HandoffDelivery)
            if ticket_number:
                query = query.where(HandoffDelivery.ticket_number == ticket_number)
            if status:
                query = query.where(HandoffDelivery.status == status)
            rows = session.scalars(query.order_by(HandoffDelivery.id)).all()
            session.expunge_all()
            return list(rows)
