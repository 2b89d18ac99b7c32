"""Ticket numbers: digits only, the registration date then the day's sequence, unique under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from intake.core.models import Ticket, TicketCounter
from intake.core.tickets import create_ticket, next_ticket_number
from tests.conftest import NOW, TZ


def _ticket(hotline, now, **overrides):
    fields = dict(
        channel="web", sender="w", text="路灯坏了", category="help", disposition="dispatched",
        unit_code="office", due="2026-11-26", policy="longsheng",
    )  # fmt: skip
    fields.update(overrides)
    with hotline.db.session() as session:
        ticket = create_ticket(session, now=now, tz=TZ, actor="test", **fields)
        session.commit()
        return ticket.number


def test_numbers_are_the_local_date_and_a_sequence(hotline):
    assert _ticket(hotline, NOW) == "2611230001"
    assert _ticket(hotline, NOW) == "2611230002"
    # 23:30 UTC on the 23rd is already the 24th in China: the date is the hotline's local date.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert _ticket(hotline, late) == "2611240001"


def test_the_number_turns_to_the_new_year_at_local_midnight(hotline):
    # 2026-12-31 23:59 in China is 15:59 UTC; one minute later the date, and the year, have changed
    before = datetime(2026, 12, 31, 23, 59, 30, tzinfo=TZ)
    assert _ticket(hotline, before) == "2612310001"
    assert _ticket(hotline, before + timedelta(minutes=1)) == "2701010001"
    assert _ticket(hotline, before + timedelta(minutes=2)) == "2701010002"


def test_the_sequence_grows_past_four_digits_without_colliding(hotline):
    with hotline.db.session() as session:
        session.add(TicketCounter(day="261123", last=10_000))
        session.flush()
        assert next_ticket_number(session, NOW, TZ) == "26112310001"
        assert next_ticket_number(session, NOW + timedelta(days=1), TZ) == "2611240001"
        session.rollback()


def test_a_dispatched_ticket_stays_open_and_others_close_at_once(hotline):
    open_number = _ticket(hotline, NOW)
    closed_number = _ticket(hotline, NOW, disposition="answered", unit_code=None, due=None)
    with hotline.db.session() as session:
        dispatched = session.scalar(select(Ticket).where(Ticket.number == open_number))
        answered = session.scalar(select(Ticket).where(Ticket.number == closed_number))
        assert dispatched.status == "dispatched" and dispatched.closed_at is None
        assert answered.status == "closed" and answered.closed_at == NOW


def test_twenty_tickets_created_at_once_get_twenty_distinct_numbers(hotline):
    """Twenty threads, each with its own connection and transaction, as twenty workers would be."""
    numbers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def worker() -> None:
        try:
            start.wait()
            numbers.append(_ticket(hotline, NOW))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [f"2611230{i:03d}" for i in range(1, 21)]
    with hotline.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 20
