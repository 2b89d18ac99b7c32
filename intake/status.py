"""Status look-up for citizens: where a ticket stands, shown only to whoever proves it is theirs.

Proof is either being the sender who registered it on the same channel (the same phone for SMS and
calls, the same WeChat OpenID, the same browser for the web chat), or the last four digits of the
ticket's contact phone (the one the citizen gave) or of the number it was registered from. A wrong or
missing proof gets exactly the answer a number that does not exist gets, so the look-up cannot be used
to find out which numbers exist.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from intake.core.dates import format_due
from intake.core.models import Ticket
from intake.core.tickets import citizen_phone, find_ticket
from intake.core.vocabulary import INSTANT, STAGES

NOT_FOUND = (
    "没有查到工单{number}，或验证信息不符。请核对工单号；"
    "在其他号码或渠道登记的工单，请同时提供登记电话号码的后四位，例如：查询 {number} 1234。"
)

# YYMMDD + a sequence of 4 to 6 digits; a mobile number (11 digits starting with 1) never matches
_NUMBER = re.compile(r"(?<!\d)([2-9]\d{5})(\d{4,6})(?!\d)")
_CHECK = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_CUE = re.compile(r"查询|查一下|查查|进度|办理情况|办得怎么样|处理得怎么样|处理情况|工单")


@dataclass(frozen=True)
class StatusQuery:
    number: str
    check: str | None


@dataclass(frozen=True)
class TicketStatus:
    """What a citizen with the right proof is told about a ticket."""

    number: str
    stage: str
    stage_text: str
    unit: str | None
    unit_name: str | None
    due: str | None
    result: str | None
    reply: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_date(yymmdd: str) -> bool:
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return False
    return True


def parse_status_query(text: str) -> StatusQuery | None:
    """A look-up request: a ticket number with a cue (查询, 进度, …) or on its own, maybe with 4 digits."""
    found = _NUMBER.search(text)
    if found is None or not _is_date(found.group(1)):
        return None
    rest = (text[: found.start()] + " " + text[found.end() :]).strip()
    check = _CHECK.search(rest)
    bare = re.sub(r"[\s\d，,。.:：#＃]", "", rest) == ""
    if not (bare or _CUE.search(text)):
        return None
    return StatusQuery(found.group(0), check.group(1) if check else None)


def proven(ticket: Ticket, *, channel: str | None, sender: str | None, check: str | None) -> bool:
    """Whether the asker proved the ticket is theirs."""
    if sender and channel and ticket.channel == channel and ticket.sender == sender:
        return True
    if not check:
        return False
    # the last four of the contact phone the citizen gave (issue 16), or of the number they called or
    # texted from; either proves it, on every channel
    phones = (ticket.contact_phone, citizen_phone(ticket))
    return any(len(d := re.sub(r"\D", "", p or "")) >= 7 and d[-4:] == check for p in phones)


def _result(ticket: Ticket) -> str | None:
    replies = [e for e in ticket.events if e.kind == "replied" and (e.data or {}).get("result")]
    return replies[-1].data["result"] if replies else None


def look_up(
    session: Session,
    number: str,
    *,
    channel: str | None = None,
    sender: str | None = None,
    check: str | None = None,
    unit_name: Any = None,
) -> TicketStatus | None:
    """The ticket's status for someone who proved it is theirs; ``None`` otherwise (as if unknown).

    ``unit_name`` maps a unit code to its name (``UnitCatalogue.name``).
    """
    ticket = find_ticket(session, number)
    if ticket is None or ticket.disposition == "pending":
        return None
    if not proven(ticket, channel=channel, sender=sender, check=check):
        return None
    if ticket.disposition in INSTANT:
        stage, stage_text = ticket.disposition, INSTANT[ticket.disposition]
    else:
        stage, stage_text = ticket.status, STAGES.get(ticket.status, ticket.status)
    name = unit_name(ticket.unit_code) if unit_name and ticket.unit_code else None
    result = _result(ticket)
    parts = [f"工单{ticket.number}：{stage_text}。"]
    if ticket.disposition == "dispatched":
        if name or ticket.unit_code:
            parts.append(f"承办单位：{name or ticket.unit_code}。")
        if ticket.due and ticket.status != "closed":
            parts.append(f"办理时限：{format_due(ticket.due)}。")
    if result:
        parts.append(f"办理结果：{result}")
    return TicketStatus(
        number=ticket.number,
        stage=stage,
        stage_text=stage_text,
        unit=ticket.unit_code,
        unit_name=name,
        due=ticket.due,
        result=result,
        reply="".join(parts),
    )


def not_found_reply(number: str) -> str:
    return NOT_FOUND.format(number=number)
