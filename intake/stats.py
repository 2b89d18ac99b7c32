"""Counting tickets over a period: the figures the regulations publish.

受理量 and 办结量 by channel, disposition, category and unit, 延期办结量 (closed after an extension) and
超期未办结量 (past their due and not closed, at the moment asked) (000 第四条), and the consultations'
one-time answer rate (000 第十一条(五): a unit below 70% must send staff): consultations answered at
once from the knowledge base ÷ all consultations. Days are the hotline's local days, both ends included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Ticket


@dataclass
class Stats:
    start: str
    end: str
    total: int = 0
    closed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_disposition: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_unit: dict[str, int] = field(default_factory=dict)
    extended_closed: int = 0  # 延期办结量: closed after at least one extension
    overdue_open: int | None = None  # 超期未办结量: past the due and not closed (None: not asked)
    consultations: int = 0
    consultations_answered: int = 0
    one_time_answer_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def period_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants that open ``start`` and close ``end`` in the hotline's zone."""
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def compute(
    session: Session,
    start: date,
    end: date,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    due_end: Callable[[str], datetime] | None = None,
) -> Stats:
    """Count the tickets registered from ``start`` to ``end`` (local days, inclusive).

    With ``now`` and ``due_end`` (when a stored due runs out: ``routing.deadlines.Deadlines.due_end``)
    also the tickets of the period that are past their due at ``now`` and not closed.
    """
    lo, hi = period_bounds(start, end, tz)
    rows = session.execute(
        select(
            Ticket.channel, Ticket.disposition, Ticket.category, Ticket.unit_code, Ticket.status,
            Ticket.extension_count, Ticket.due,
        ).where(Ticket.created_at >= lo, Ticket.created_at < hi, Ticket.disposition != "pending")
    ).all()  # fmt: skip
    stats = Stats(start=start.isoformat(), end=end.isoformat(), total=len(rows))
    stats.closed = sum(1 for r in rows if r.status == "closed")
    stats.extended_closed = sum(1 for r in rows if r.status == "closed" and (r.extension_count or 0) > 0)
    if now is not None and due_end is not None:
        stats.overdue_open = sum(
            1
            for r in rows
            if r.disposition == "dispatched" and r.status != "closed" and r.due and now > due_end(r.due)
        )
    stats.by_channel = dict(Counter(r.channel for r in rows).most_common())
    stats.by_disposition = dict(Counter(r.disposition for r in rows).most_common())
    stats.by_category = dict(Counter(r.category or "none" for r in rows).most_common())
    stats.by_unit = dict(Counter(r.unit_code for r in rows if r.unit_code).most_common())
    consults = [r for r in rows if r.category == "consult"]
    stats.consultations = len(consults)
    stats.consultations_answered = sum(1 for r in consults if r.disposition == "answered")
    if consults:
        stats.one_time_answer_rate = round(stats.consultations_answered / len(consults), 4)
    return stats
