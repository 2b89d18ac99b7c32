"""Deadlines watched: reminders before them, overdue notices after, cards, and the overdue list.

The worker calls ``send_reminders`` and ``update_cards`` periodically; both go through every open
ticket in batches claimed with ``FOR UPDATE SKIP LOCKED`` (several workers share the work) and are
idempotent (a notice is keyed, a card changes only when it differs), so running them twice, or on two
workers at once, does each thing once.

**Reminders** (000 第二十一条, 004 第十七条: 催办 before a deadline; 督办 after). A reminder is a
``TicketEvent`` ``reminded`` (shown to the unit in the unit API under ``reminders``) and a notice
through the unit's webhook (``X-Hotline-Event: reminder`` / ``overdue``; listed when it has none),
both keyed ``number:version:kind[:due]`` so each is sent once per dispatch and per due:

- ``sign``: the ticket is still unsigned halfway through an hour limit, or on the last day of a
  working-day limit;
- ``due``: the reply is due; sent halfway through an hour limit, or at the start of the working day
  before the due (before the last day to ask for an extension where the pack sets one, 000 第十六条);
- ``overdue``: the due has passed without a reply.

**Cards** (000 第二十二条): ``Deadlines.card`` from the pack's ``supervision.cards``; ``update_cards``
stores each open ticket's card with an event when it changes. Packs without card thresholds give none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.dates import describe_moment, local_iso
from intake.core.models import Ticket, TicketEvent
from routing.lifecycle import HANDLING, OPEN, Lifecycle

BATCH = 200
REMIND_BEFORE_REPLY = ("dispatched", *HANDLING)  # the reply is still owed


@dataclass(frozen=True)
class Notice:
    """A reminder or overdue notice owed to a unit."""

    kind: str  # sign | due | overdue
    key: str
    deadline: datetime
    text: str


@dataclass(frozen=True)
class Sent:
    number: str
    unit: str
    kind: str
    deadline: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CardChange:
    number: str
    unit: str
    previous: str | None
    card: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Overdue:
    """A ticket past one of its deadlines: unsigned past ``sign_by`` or unanswered past its due."""

    number: str
    unit: str | None
    kind: str  # sign | reply
    deadline: str
    late_by_hours: float
    late_working_days: int
    card: str | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _open_batches(lifecycle: Lifecycle, statuses: tuple[str, ...]) -> Iterator[tuple[Session, list[Ticket]]]:
    """Open dispatched tickets in id order, a batch per transaction, claimed so no two workers share one."""
    last = 0
    while True:
        with lifecycle.db.session() as session:
            rows = session.scalars(
                select(Ticket)
                .where(
                    Ticket.id > last,
                    Ticket.disposition == "dispatched",
                    Ticket.version > 0,
                    Ticket.status.in_(statuses),
                )
                .order_by(Ticket.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return
            yield session, list(rows)
            session.commit()
            last = rows[-1].id


def _remind_at(
    lifecycle: Lifecycle, limit_is_days: bool, start: datetime, end: datetime, lead: int
) -> datetime:
    """When to remind of a deadline ``end``: halfway for clock limits, else ``lead`` working days before."""
    halfway = start + (end - start) / 2
    if not limit_is_days:
        return halfway
    d = lifecycle.deadlines
    last_day = (end.astimezone(lifecycle.tz) - timedelta(days=1)).date()
    # a short limit would otherwise remind the moment the ticket arrives
    return max(d.end_of_day(d.working_days_before(last_day, lead) - timedelta(days=1)), halfway)


def notices_due(lifecycle: Lifecycle, ticket: Ticket, now: datetime) -> list[Notice]:
    """The reminders and overdue notice ``ticket`` has earned by ``now`` (sent or not)."""
    found: list[Notice] = []
    d = lifecycle.deadlines
    start = d.started(ticket)
    base = f"{ticket.number}:{ticket.version}"
    tz = lifecycle.tz
    limit = d.sign_limit(ticket)
    if ticket.status == "dispatched" and limit is not None:
        sign_by = d.end_of(limit, start)
        if _remind_at(lifecycle, limit.working_days is not None, start, sign_by, 0) <= now < sign_by:
            when = describe_moment(sign_by, tz)
            text = f"工单{ticket.number}尚未签收，请于{when}前签收（依据{limit.basis}）。"
            found.append(Notice("sign", f"{base}:remind-sign", sign_by, text))
    if ticket.status in REMIND_BEFORE_REPLY and ticket.due:
        due_end = d.due_end(ticket.due)
        ext = lifecycle.policy.handling.extension
        lead = max(1, ext.ask_working_days_before_expiry if ext else 0)
        by_days = "T" not in ticket.due
        when = describe_moment(due_end, tz)
        if now >= due_end:
            text = f"工单{ticket.number}已超过办理时限（{when}），请尽快办结答复并书面说明逾期原因。"
            found.append(Notice("overdue", f"{base}:overdue:{ticket.due}", due_end, text))
        elif _remind_at(lifecycle, by_days, start, due_end, lead) <= now:
            text = f"工单{ticket.number}将于{when}到期，请按时办结答复；确需延期请在到期前申请。"
            found.append(Notice("due", f"{base}:remind-due:{ticket.due}", due_end, text))
    return found


def send_reminders(lifecycle: Lifecycle, now: datetime | None = None) -> list[Sent]:
    """Owe every reminder and overdue notice that has come due and was not sent; return what was sent.

    Each is recorded as a ``reminded`` event and a hand-off notice with the same key, in one savepoint,
    so a notice exists exactly when its event does.
    """
    now = now or lifecycle.clock()
    sent: list[Sent] = []
    for session, tickets in _open_batches(lifecycle, REMIND_BEFORE_REPLY):
        for ticket in tickets:
            for notice in notices_due(lifecycle, ticket, now):
                if _record_notice(lifecycle, session, ticket, notice, now):
                    sent.append(
                        Sent(
                            ticket.number,
                            ticket.unit_code or "",
                            notice.kind,
                            local_iso(notice.deadline, lifecycle.tz),
                        )
                    )
    return sent


def _record_notice(
    lifecycle: Lifecycle, session: Session, ticket: Ticket, notice: Notice, now: datetime
) -> bool:
    payload = {
        "event": "overdue" if notice.kind == "overdue" else "reminder",
        "kind": notice.kind,
        "deadline": local_iso(notice.deadline, lifecycle.tz),
        "text": notice.text,
        "ticket": {
            "number": ticket.number,
            "version": ticket.version,
            "unit": ticket.unit_code,
            "status": ticket.status,
            "due": ticket.due,
        },
    }
    try:
        with session.begin_nested():
            _, new = lifecycle.handoff.notify(
                session,
                key=notice.key,
                ticket_number=ticket.number,
                version=ticket.version,
                unit_code=ticket.unit_code or "",
                kind=payload["event"],
                payload=payload,
            )
            if not new:
                return False
            ticket.events.append(
                TicketEvent(
                    kind="reminded",
                    actor="system",
                    at=now,
                    data={
                        "kind": notice.kind,
                        "deadline": payload["deadline"],
                        "key": notice.key,
                        "version": ticket.version,
                        "text": notice.text,
                    },
                )
            )
            session.flush()
    except IntegrityError:  # a worker on another machine owed it first
        return False
    return True


def update_cards(lifecycle: Lifecycle, now: datetime | None = None) -> list[CardChange]:
    """Store the card every open ticket has earned; an event for each change. Returns the changes."""
    now = now or lifecycle.clock()
    changes: list[CardChange] = []
    if not lifecycle.policy.supervision.cards:
        return changes
    for _session, tickets in _open_batches(lifecycle, OPEN):
        for ticket in tickets:
            card = lifecycle.deadlines.card(ticket, now)
            if card == ticket.card:
                continue
            previous = ticket.card
            ticket.card, ticket.card_at = card, now
            ticket.events.append(
                TicketEvent(
                    kind="card",
                    actor="system",
                    at=now,
                    data={
                        "card": card,
                        "previous": previous,
                        "basis": lifecycle.deadlines.card_basis(card),
                        "version": ticket.version,
                    },
                )
            )
            changes.append(CardChange(ticket.number, ticket.unit_code or "", previous, card))
    return changes


def _working_days_late(lifecycle: Lifecycle, deadline: datetime, now: datetime) -> int:
    """Working days from the first day past ``deadline`` to today, both counted."""
    day, last, count = deadline.astimezone(lifecycle.tz).date(), now.astimezone(lifecycle.tz).date(), 0
    while day <= last:
        count += lifecycle.deadlines.calendar.is_workday(day)
        day += timedelta(days=1)
    return count


def overdue(
    session: Session, lifecycle: Lifecycle, now: datetime | None = None, unit: str | None = None
) -> list[Overdue]:
    """Open tickets past a deadline, the longest overdue first: unsigned past sign-by, unanswered past due."""
    now = now or lifecycle.clock()
    d = lifecycle.deadlines
    query = select(Ticket).where(Ticket.disposition == "dispatched", Ticket.status.in_(REMIND_BEFORE_REPLY))
    if unit:
        query = query.where(Ticket.unit_code == unit)
    found: list[Overdue] = []
    for ticket in session.scalars(query.order_by(Ticket.id)):
        late: list[tuple[str, datetime]] = []
        sign_by = d.sign_by(ticket)
        if ticket.status == "dispatched" and sign_by is not None and now > sign_by:
            late.append(("sign", sign_by))
        if ticket.due and now > d.due_end(ticket.due):
            late.append(("reply", d.due_end(ticket.due)))
        for kind, deadline in late:
            found.append(
                Overdue(
                    number=ticket.number,
                    unit=ticket.unit_code,
                    kind=kind,
                    deadline=local_iso(deadline, lifecycle.tz) or "",
                    late_by_hours=round((now - deadline).total_seconds() / 3600, 1),
                    late_working_days=_working_days_late(lifecycle, deadline, now),
                    card=d.card(ticket, now),
                    status=ticket.status,
                )
            )
    return sorted(found, key=lambda o: (-o.late_by_hours, o.number))
