"""The figures 000 第四条 publishes besides 受理量 and 办结量: 延期办结量 (closed after an extension) and
超期未办结量 (past the due and not closed), counted over the tickets registered in the period."""

from __future__ import annotations

import json
from datetime import date

import pytest

from intake.core.tickets import find_ticket
from intake.stats import compute
from tests.routing.lifecycle_world import TZ, local, make_world


@pytest.fixture
def world(settings, clock):
    w = make_world(settings, clock, "wengyuan")
    yield w
    w.hotline.db.dispose()


def _set(w, number: str, **fields) -> None:
    with w.hotline.db.session() as session:
        ticket = find_ticket(session, number)
        for name, value in fields.items():
            setattr(ticket, name, value)
        session.commit()


def test_extended_and_overdue_tickets_are_counted(world, cli):
    w = world
    w.at("11-23 10:00")
    extended = w.register(category="consult")  # 000 第十六条: 5 working days, due 2026-11-30
    on_time = w.register(category="consult")
    overdue = w.register(category="consult")
    late_but_closed = w.register(category="consult")
    _set(w, extended, status="closed", extension_count=1, due="2026-12-07")
    _set(w, on_time, status="closed")
    _set(w, late_but_closed, status="closed")  # closed late: neither figure
    deadlines = w.hotline.lifecycle.deadlines
    day = date(2026, 11, 23)
    with w.hotline.db.session() as session:
        before = compute(session, day, day, TZ, now=local("11-30 18:00"), due_end=deadlines.due_end)
        after = compute(session, day, day, TZ, now=local("12-01 09:00"), due_end=deadlines.due_end)
        unasked = compute(session, day, day, TZ)
    assert (before.extended_closed, before.overdue_open) == (1, 0)  # due runs to the end of 11-30
    assert (after.extended_closed, after.overdue_open) == (1, 1)
    assert w.ticket(overdue).status == "dispatched"
    assert unasked.overdue_open is None  # no moment given: not counted rather than counted as 0
    w.at("12-01 09:00")
    result = cli("stats", "--from", "2026-11-23", "--to", "2026-11-23", "--json")
    figures = json.loads(result.stdout)
    assert (figures["extended_closed"], figures["overdue_open"]) == (1, 1)
