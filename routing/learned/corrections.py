"""The office's corrections as labelled examples for ``hotline train`` (issue 21, item 2).

When staff correct what the machine decided on a ticket (``routing.desk.Desk.correct``), a
``corrected`` event ``{"field", "before", "after", "text"}`` is stored. Each is a labelled example: the
ticket's text with the value the office chose. The latest correction of a ticket's field wins (staff
may change their minds); an earlier one of the same field is not a second example.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from intake.core.models import Ticket, TicketEvent
from routing.classifier import NONE

FIELDS = ("category", "urgent", "redirect")


@dataclass(frozen=True)
class Correction:
    ticket: str  # the ticket's number
    field: str  # category | urgent | redirect
    after: Any  # the office's value: a category, a bool, a redirect code or None (not a redirect)
    text: str


def latest(session: Session) -> list[Correction]:
    """The latest correction of each ticket's field, oldest ticket first; none without the tables."""
    if not inspect(session.get_bind()).has_table(TicketEvent.__tablename__):
        return []  # a database the schema was never created in holds no corrections
    rows = session.execute(
        select(TicketEvent, Ticket.number, Ticket.text)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == "corrected")
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    found: dict[tuple[str, str], Correction] = {}
    for event, number, ticket_text in rows:
        data = event.data or {}
        field = data.get("field")
        if field not in FIELDS:
            continue
        text = str(data.get("text") or ticket_text or "").strip()
        if text:
            found.pop((number, field), None)  # re-inserted last: the order of the latest
            found[(number, field)] = Correction(number, field, data.get("after"), text)
    return list(found.values())


def as_examples(corrections: Iterable[Correction]) -> dict[str, list[tuple[str, str]]]:
    """``(text, label)`` per head: a category for the category head, a redirect code (or ``none``)
    for the redirect head; ``urgent`` corrections are read but no head learns urgency yet."""
    out: dict[str, list[tuple[str, str]]] = {"category": [], "redirect": [], "urgent": []}
    for c in corrections:
        if c.field == "category" and c.after:
            out["category"].append((c.text, str(c.after)))
        elif c.field == "redirect":
            out["redirect"].append((c.text, str(c.after) if c.after else NONE))
        elif c.field == "urgent":
            out["urgent"].append((c.text, "urgent" if c.after else "routine"))
    return out


def as_corpus_rows(corrections: Iterable[Correction]) -> list[dict[str, Any]]:
    """One corpus-format row (``tests/data/corpus/README.md``) per correction, only its field set.

    A redirect corrected to none says the matter is one the hotline takes (``answer_or_ticket``) but not
    its category, so ``category`` stays null unless the office corrected that too.
    """
    rows = []
    for c in corrections:
        row: dict[str, Any] = {
            "id": f"office-{c.ticket}-{c.field}",
            "text": c.text,
            "action": "answer_or_ticket",
            "transfer_to": None,
            "transfer_also": [],
            "redirect_to": None,
            "decline_reason": None,
            "category": None,
            "resolution": None,
            "urgent": None,  # not the office's word unless it corrected urgency
            "fallback_category": None,
            "smalltalk": None,
            "channel": None,
            "writer": "office",
            "style": [],
            "note": f"office correction of {c.field}",
        }
        if c.field == "category":
            row["category"] = c.after
        elif c.field == "urgent":
            row["urgent"] = bool(c.after)
        elif c.after:
            row["action"], row["redirect_to"] = "redirect", c.after
        rows.append(row)
    return rows
