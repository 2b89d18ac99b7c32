"""Ticket numbers and ticket records.

A number is the date of registration (YYMMDD, in the hotline's time zone) followed by that day's
sequence, at least four digits: ``2611230007``. Ten digits read out on the phone in a few seconds, and
the date tells an operator at once how old a ticket is. The sequence comes from one atomic upsert on
``ticket_counters`` (``INSERT … ON CONFLICT DO UPDATE … RETURNING``), which PostgreSQL serialises per
day row, so concurrent workers never draw the same number.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from intake.core.models import Ticket, TicketCounter, TicketEvent

# A dialable number: an optional +, digits, and the spaces, dashes and brackets people write in them.
_PHONE_NUMBER = re.compile(r"\+?[\d\s()\-]+")


def next_ticket_number(session: Session, now: datetime, tz: ZoneInfo) -> str:
    """Draw the next ticket number for the day of ``now`` in ``tz``."""
    day = now.astimezone(tz).strftime("%y%m%d")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TicketCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1})
        .returning(TicketCounter.last)
    )
    sequence = session.execute(stmt).scalar_one()
    return f"{day}{sequence:04d}"


def create_ticket(
    session: Session,
    *,
    now: datetime,
    tz: ZoneInfo,
    actor: str,
    event_data: dict[str, Any] | None = None,
    **fields: Any,
) -> Ticket:
    """Register a ticket with a fresh number and its first event; the caller commits."""
    ticket = Ticket(number=next_ticket_number(session, now, tz), created_at=now, **fields)
    ticket.events.append(TicketEvent(kind="registered", actor=actor, at=now, data=event_data or {}))
    if ticket.disposition == "pending":
        ticket.status = "registered"  # the pipeline is still waiting for the citizen
    elif ticket.disposition == "dispatched":
        ticket.status = "dispatched"
        ticket.events.append(
            TicketEvent(
                kind="dispatched", actor="system", at=now, data={"unit": ticket.unit_code, "due": ticket.due}
            )
        )
    else:
        ticket.status = "closed"
        ticket.closed_at = now
    session.add(ticket)
    session.flush()
    return ticket


PHONE_CHANNELS = ("voice", "sms")


def citizen_phone(ticket: Ticket) -> str | None:
    """The number the citizen called or texted from (voice and SMS only; a withheld ID is none).

    A withheld caller ID arrives as ``anonymous:{CallSid}``, whose SID holds digits too, so the
    sender must look like a number as a whole, not merely contain seven digits.
    """
    sender = (ticket.sender or "").strip()
    if ticket.channel not in PHONE_CHANNELS or not _PHONE_NUMBER.fullmatch(sender):
        return None
    return sender if len(re.sub(r"\D", "", sender)) >= 7 else None


def find_ticket(session: Session, number: str, *, for_update: bool = False) -> Ticket | None:
    """The ticket numbered ``number``; ``for_update`` locks its row until the transaction ends, so two
    people acting on one ticket at once are served one after the other."""
    query = select(Ticket).where(Ticket.number == number)
    return session.scalar(query.with_for_update() if for_update else query)
