"""A matter's facts on its ticket (issue 16, item 2): what the citizen's words give is written down as
an operator would, and what the pack requires and is still missing is asked for.

``note_facts`` fills the ticket's columns from the text (``intake.facts``); the contact phone of a
phone or SMS matter is the caller ID unless the citizen gives another number. ``intake.conversations``
calls it for the first message and for every answer to a question about the pending matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from intake.core.models import Ticket
from intake.core.tickets import citizen_phone
from intake.facts import Facts, extract


def note_facts(ticket: Ticket, text: str, *, towns: Iterable[str], today: date) -> Facts:
    """Write what ``text`` says of the matter onto ``ticket`` and return it.

    A fact the citizen states replaces one stated earlier (a correction: "不对，电话是…"); a fact the
    text does not state leaves the column as it was. The place goes to ``location`` only while none
    is recorded: a place the citizen gives in answer to the question is set by the conversation.
    """
    facts = extract(text, towns=towns, today=today)
    if facts.name:
        ticket.citizen_name = facts.name[:64]
    if facts.phone:
        ticket.contact_phone = facts.phone[:32]
    elif not ticket.contact_phone:
        ticket.contact_phone = citizen_phone(ticket)  # the caller ID of a call or an SMS, else None
    if facts.event_time:
        ticket.event_time = facts.event_time[:64]
        ticket.event_date = facts.event_date
    if facts.parties:
        ticket.parties = facts.parties
    if facts.place and not ticket.location:
        ticket.location = facts.place[:200]
    return facts
