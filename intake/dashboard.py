"""The office dashboard's figures: volumes, on-time and satisfaction rates, cards, hot topics, call-backs.

Plain counting over the database for one period, shared by the `/office` page, its JSON API and its
CSV export (``channels/office.py`` renders them). Key items (000 第十四条) are read from the tickets'
``key_item`` events (``routing.keyitems`` writes them); nothing else is stored for them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from intake.core.dates import local_iso
from intake.core.models import Ticket, TicketEvent, Unit
from intake.core.privacy import mask_phone
from intake.core.tickets import citizen_phone
from intake.hotline import Hotline
from intake.stats import compute, period_bounds
from kb.models import KbEntry
from routing import supervision
from routing.callbacks import summary
from routing.lifecycle import OPEN
from routing.surveys import CallbackRequest, SurveyRequest

SATISFIED = ("满意", "基本满意")
RATED = ("answered", "defaulted")  # a citizen's rating, or the pack's rule for silence


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def final_ratings(session: Any, lo: datetime, hi: datetime) -> dict[int, SurveyRequest]:
    """Per ticket, the rating that counts: the latest round's (after re-handling the second one counts)."""
    rows = session.scalars(
        select(SurveyRequest)
        .where(SurveyRequest.status.in_(RATED), SurveyRequest.rating.is_not(None))
        .where(SurveyRequest.answered_at >= lo, SurveyRequest.answered_at < hi)
        .order_by(SurveyRequest.round)
    ).all()
    return {row.ticket_id: row for row in rows}


CONFIDENTIAL_SUMMARY = "（保密工单，不显示内容）"


def key_items(session: Any, lo: datetime, hi: datetime, tz: Any) -> list[dict[str, Any]]:
    """The incidents flagged as key items (000 第十四条) between ``lo`` and ``hi``, most reporters first.

    Each flag names the reports it joined; a later report of the same incident adds a flag naming
    more of them, so flags that share a ticket are one incident. The summary is the first sentence of
    the earliest report that is not confidential, without phone, ID or door numbers; the other
    reporters' contacts are never shown.
    """
    flags = session.execute(
        select(TicketEvent, Ticket.number)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == "key_item", TicketEvent.at >= lo, TicketEvent.at < hi)
        .order_by(TicketEvent.at, TicketEvent.id)
    ).all()
    parent: dict[str, str] = {}

    def root(number: str) -> str:
        while parent.setdefault(number, number) != number:
            number = parent[number] = parent[parent[number]]
        return number

    flagged_at: dict[str, datetime] = {}
    basis: dict[str, str | None] = {}
    for event, number in flags:
        numbers = {number, *event.data.get("numbers", [])}
        for other in numbers:
            parent[root(other)] = root(number)
        for member in numbers:
            flagged_at.setdefault(member, event.at)
            basis.setdefault(member, event.data.get("basis"))
    if not parent:
        return []
    tickets = {
        t.number: t for t in session.scalars(select(Ticket).where(Ticket.number.in_(list(parent)))).all()
    }
    groups: dict[str, list[Ticket]] = defaultdict(list)
    for number in sorted(tickets):  # numbers grow with time: the first is the earliest report
        groups[root(number)].append(tickets[number])
    items = []
    for members in groups.values():
        first = members[0]
        shown = next((summary(t, limit=60) for t in members if not t.confidential), None)
        items.append(
            {
                "numbers": [t.number for t in members],
                "reporters": len({t.sender for t in members}),
                "unit": first.unit_code,
                "summary": shown or (CONFIDENTIAL_SUMMARY if all(t.confidential for t in members) else ""),
                "basis": basis.get(first.number),
                "first_reported_at": local_iso(first.created_at, tz, "minutes"),
                "flagged_at": local_iso(min(flagged_at[t.number] for t in members), tz, "minutes"),
                "open": sum(1 for t in members if t.status in OPEN),
            }
        )
    return sorted(items, key=lambda item: (-item["reporters"], item["flagged_at"]))


def summarise(line: Hotline, start: date, end: date) -> dict[str, Any]:
    """Every figure of the dashboard for the local days ``start`` to ``end``, as plain JSON data."""
    tz = line.settings.timezone
    lo, hi = period_bounds(start, end, tz)
    now = line.clock()
    deadlines = line.lifecycle.deadlines
    with line.db.session() as db:
        stats = compute(db, start, end, tz)
        units = dict(db.execute(select(Unit.code, Unit.name)).all())
        tickets = db.scalars(
            select(Ticket).where(
                Ticket.created_at >= lo, Ticket.created_at < hi, Ticket.disposition != "pending"
            )
        ).all()

        by_day = Counter(t.created_at.astimezone(tz).date().isoformat() for t in tickets)
        days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]

        # On time: the unit's reply (in the period) came before the ticket's due date ran out.
        replied = db.scalars(
            select(Ticket).where(
                Ticket.replied_at.is_not(None),
                Ticket.replied_at >= lo,
                Ticket.replied_at < hi,
                Ticket.due.is_not(None),
            )
        ).all()
        on_time_by_unit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for t in replied:
            counts = on_time_by_unit[t.unit_code or "none"]
            counts[1] += 1
            counts[0] += t.replied_at <= deadlines.due_end(t.due)
        on_time = sum(c[0] for c in on_time_by_unit.values())

        ratings = final_ratings(db, lo, hi)
        satisfaction_by_unit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in ratings.values():
            counts = satisfaction_by_unit[row.unit_code or "none"]
            counts[1] += 1
            counts[0] += row.rating in SATISFIED
        satisfied = sum(c[0] for c in satisfaction_by_unit.values())
        rating_of = {tid: row.rating for tid, row in ratings.items()}

        carded = db.scalars(
            select(Ticket)
            .where(Ticket.status.in_(OPEN), Ticket.card.in_(("yellow", "red")))
            .order_by(Ticket.id)
        ).all()
        overdue = supervision.overdue(db, line.lifecycle, now)

        kb_counts = Counter(t.kb_public_id for t in tickets if t.kb_public_id)
        questions = dict(
            db.execute(
                select(KbEntry.public_id, KbEntry.question).where(KbEntry.public_id.in_(list(kb_counts)))
            ).all()
        )
        urgent = [t for t in tickets if t.urgent]

        callbacks = db.execute(
            select(CallbackRequest, Ticket)
            .join(Ticket, Ticket.id == CallbackRequest.ticket_id)
            .where(CallbackRequest.status == "open")
            .order_by(CallbackRequest.created_at)
        ).all()

        def unit_name(code: str | None) -> str:
            return units.get(code or "", code or "未指定")

        def who(ticket: Ticket) -> str:
            phone = citizen_phone(ticket)
            return mask_phone(phone) if phone else "（非电话渠道）"

        return {
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "generated_at": local_iso(now, tz, "minutes"),
            "total": stats.total,
            "closed": stats.closed,
            "by_channel": stats.by_channel,
            "by_category": stats.by_category,
            "by_unit": stats.by_unit,
            "by_disposition": stats.by_disposition,
            "by_day": {day: by_day.get(day, 0) for day in days},
            "one_time_answer_rate": stats.one_time_answer_rate,
            "on_time": {"replied": len(replied), "on_time": on_time, "rate": _rate(on_time, len(replied))},
            "on_time_by_unit": {
                code: {"replied": c[1], "on_time": c[0], "rate": _rate(c[0], c[1])}
                for code, c in sorted(on_time_by_unit.items())
            },
            "satisfaction": {
                "rated": len(ratings),
                "satisfied": satisfied,
                "rate": _rate(satisfied, len(ratings)),
            },
            "satisfaction_by_unit": {
                code: {"rated": c[1], "satisfied": c[0], "rate": _rate(c[0], c[1])}
                for code, c in sorted(satisfaction_by_unit.items())
            },
            "cards": {
                "red": sum(1 for t in carded if t.card == "red"),
                "yellow": sum(1 for t in carded if t.card == "yellow"),
                "tickets": [
                    {
                        "number": t.number,
                        "card": t.card,
                        "unit": t.unit_code,
                        "status": t.status,
                        "due": t.due,
                    }
                    for t in carded
                ],
            },
            "overdue": [o.to_dict() for o in overdue],
            "hot": {
                "categories": list(stats.by_category)[:5],
                "units": list(stats.by_unit)[:5],
                "knowledge": [
                    {"kb_id": kb_id, "question": questions.get(kb_id, kb_id), "count": count}
                    for kb_id, count in kb_counts.most_common(10)
                ],
            },
            "urgent": [
                {
                    "number": t.number,
                    "category": t.category,
                    "unit": t.unit_code,
                    "status": t.status,
                    "due": t.due,
                    "created_at": local_iso(t.created_at, tz, "minutes"),
                }
                for t in urgent
            ],
            "key_items": key_items(db, lo, hi, tz),
            "key_item_rule": (
                {"same_day_reporters": line.policy.key_items.reporters, "basis": line.policy.key_items.basis}
                if line.policy.key_items.reporters
                else None
            ),
            "callbacks": [
                {
                    "number": t.number,
                    "phone": who(t),
                    "unit": t.unit_code,
                    "reason": cb.reason,
                    "created_at": local_iso(cb.created_at, tz, "minutes"),
                }
                for cb, t in callbacks
            ],
            "unit_names": {code: unit_name(code) for code in units},
            "rating_of": {t.number: rating_of[t.id] for t in tickets if t.id in rating_of},
        }


# ---------------------------------------------------------------- pages
