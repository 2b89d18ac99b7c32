"""What a unit is shown of a citizen's words where the pack's confidentiality rule hides them: names,
phone numbers and house numbers replaced by （已隐去）; and which of the ticket's facts it sees."""

from __future__ import annotations

import re
from typing import Any

from intake.core.models import Ticket

# 001 第二十四条: without permission a unit gets no name, phone, address (or IP) of the citizen. For a
# confidential ticket these are taken out of what the unit reads, as well as can be done on free text.
_REDACT = (
    re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)"),  # landline
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # ID number
    re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"),  # IP address
)
_NAME = re.compile(
    r"(我叫|我姓|本人叫|本人姓|姓名[是为:：]?|名字[是叫:：]?|联系人[是:：]?)\s*[\u4e00-\u9fff·]{1,4}"
)
_DOOR = re.compile(
    r"[0-9０-９一二三四五六七八九十百]+\s*(号楼|栋|幢|单元|室|户)|(路|街|巷|道|村|组)\s*[0-9０-９]+\s*号"
)
HIDDEN = "（已隐去）"


def redact(text: str | None) -> str | None:
    """``text`` without phone and ID numbers, IP addresses, self-given names and door numbers."""
    if not text:
        return text
    for pattern in _REDACT:
        text = pattern.sub(HIDDEN, text)
    text = _NAME.sub(lambda m: m.group(1) + HIDDEN, text)
    return _DOOR.sub(lambda m: (m.group(2) or "") + HIDDEN if m.group(2) else HIDDEN + m.group(1), text)


def contact_shown(ticket: Ticket, contact_to_unit: str = "on_request") -> bool:
    """Whether the unit may see who the citizen is (name, phone, address): never for a confidential
    ticket; under a pack's ``contact_to_unit: ask`` (001 第二十四条) only when the citizen agreed."""
    if ticket.confidential:
        return False
    return ticket.contact_consent is True if contact_to_unit == "ask" else True


def unit_facts(ticket: Ticket, contact_to_unit: str = "on_request") -> dict[str, Any]:
    """The matter's facts as its unit sees them (issue 16): the citizen's name and contact phone only
    where ``contact_shown``; the parties redacted as the text is (a neighbour's door number is an
    address too); when it happened, and the confidentiality choice, always."""
    shown = contact_shown(ticket, contact_to_unit)
    return {
        "citizen_name": ticket.citizen_name if shown else None,
        "contact_phone": ticket.contact_phone if shown else None,
        "event_time": ticket.event_time,
        "event_date": ticket.event_date.isoformat() if ticket.event_date else None,
        "parties": ticket.parties if shown else redact(ticket.parties),
        "contact_consent": ticket.contact_consent,
    }
