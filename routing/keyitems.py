"""Key items (重点事项): one incident reported by many different people on the same day.

000 第十四条 has the office list "一天内多人反映" matters as key items. When a matter is dispatched, the
tickets dispatched the same local day to the same unit are compared with it by meaning; those that
describe the same incident and came from other citizens are linked to it (a ``linked`` event on each
side), and once the pack's ``key_items.same_day_reporters`` different citizens have reported it, every
ticket of the group gets a ``key_item`` event naming the group and the article. Nothing is stored
outside the tickets' events, so any worker sees the same groups.

Two reports dispatched at the very same moment by two workers may not see each other; the next report
of the incident links and flags all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Ticket, TicketEvent
from routing.policy import Policy

# Two reports are of the same incident when their texts mean nearly the same (USE cosine). Lower than
# a citizen's own repeat (intake.conversations.SAME_MATTER): different people word one event differently.
SAME_INCIDENT = 0.7
MAX_COMPARED = 200  # the day's tickets to one unit compared with a new one, most recent first


def is_key_item(ticket: Ticket) -> bool:
    return any(event.kind == "key_item" for event in ticket.events)


def linked_numbers(ticket: Ticket) -> list[str]:
    """The numbers of the other reports of the same incident, in the order they were linked."""
    numbers: list[str] = []
    for event in ticket.events:
        if event.kind == "linked":
            numbers += [n for n in event.data.get("numbers", []) if n not in numbers]
    return numbers


def link_same_incident(
    session: Session,
    ticket: Ticket,
    policy: Policy,
    similarity: Callable[[str, str], float],
    now: datetime,
    tz: ZoneInfo,
) -> list[Ticket]:
    """Link ``ticket`` to the day's reports of the same incident; flag the group when it is large enough.

    Returns the other tickets of the group (empty when the pack has no key-item rule or nothing matches).
    """
    rule = policy.key_items
    if rule.reporters is None or ticket.unit_code is None:
        return []
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(), tzinfo=tz)
    candidates = session.scalars(
        select(Ticket)
        .where(
            Ticket.disposition == "dispatched",
            Ticket.unit_code == ticket.unit_code,
            Ticket.created_at >= start,
            Ticket.created_at < start + timedelta(days=1),
            Ticket.id != ticket.id,
            Ticket.sender != ticket.sender,
        )
        .order_by(Ticket.id.desc())
        .limit(MAX_COMPARED)
    ).all()
    group = [other for other in candidates if similarity(other.text, ticket.text) >= SAME_INCIDENT]
    if not group:
        return []
    numbers = [other.number for other in group]
    ticket.events.append(TicketEvent(kind="linked", actor="system", at=now, data={"numbers": numbers}))
    for other in group:
        link = TicketEvent(kind="linked", actor="system", at=now, data={"numbers": [ticket.number]})
        other.events.append(link)
    reporters = len({ticket.sender, *(other.sender for other in group)})
    if reporters >= rule.reporters:
        members = [ticket, *group]
        data = {
            "basis": rule.basis,
            "reporters": reporters,
            "numbers": sorted(member.number for member in members),
        }
        for member in members:
            if not is_key_item(member):
                member.events.append(TicketEvent(kind="key_item", actor="system", at=now, data=data))
    return group
