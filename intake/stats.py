"""Counting tickets over a period: the figures the regulations publish.

受理量 and 办结量 by channel, disposition, category and unit (000 第四条), and the consultations'
one-time answer rate (000 第十一条(五): a unit below 70% must send staff): consultations answered at
once from the knowledge base ÷ all consultations. Days are the hotline's local days, both ends included.
"""

from __future__ import annotations

from collections import Counter
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
    consultations: int = 0
    consultations_answered: int = 0
    one_time_answer_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def period_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants that open ``start`` and close ``end`` in the hotline's zone."""
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def compute(session: Session, start: date, end: date, tz: ZoneInfo) -> Stats:
    """Count the tickets registered from ``start`` to ``end`` (local days, inclusive)."""
    lo, hi = period_bounds(start, end, tz)
    rows = session.execute(
        select(Ticket.channel, Ticket.disposition, Ticket.category, Ticket.unit_code, Ticket.status).where(
            Ticket.created_at >= lo, Ticket.created_at < hi, Ticket.disposition != "pending"
        )
    ).all()
    stats = Stats(start=start.isoformat(), end=end.isoformat(), total=len(rows))
    stats.closed = sum(1 for r in rows if r.status == "closed")
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
