"""What the citizen is told while their ticket is worked, besides the survey: an approved extension.

000 第十六条, 001 第十六条, 002 第十四条 and 003 第十二条(二)9 each require the citizen to be told when
their matter will take longer (the new date, and why). The pack says so with
``handling.extension.tell_citizen`` (the article); 004 names no such duty, so its pack is silent.

The notice is owed through the outbox in the office's approval transaction, so it exists exactly when
the extension does: WeChat for a WeChat matter, else an SMS to the number the citizen gave or called
from. A web-chat citizen who left no number cannot be reached; the ticket then records that nobody was
told, so the office (or the unit) calls, and no screen claims a notice that was never sent.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake.core.dates import format_due
from intake.core.models import Ticket, TicketEvent
from intake.core.outbox import Outbox
from intake.core.tickets import citizen_phone
from routing.lifecycle import Lifecycle


def extension_notice(title: str, ticket: Ticket, due: str | None, reason: str | None) -> str:
    """The notice's text: which matter, the new date, and the unit's reason in its own words."""
    why = f"因{reason.rstrip('。；;，, ')}，" if reason else ""
    return (
        f"【{title}】您反映的事项（工单号{ticket.number}）{why}承办单位已申请延期办理，"
        f"经审核同意，办理时限延至{format_due(due)}。给您带来不便，敬请谅解。"
    )


def notice_route(ticket: Ticket) -> tuple[str, str] | None:
    """The channel and recipient of a notice about ``ticket``, or ``None`` when it cannot be sent."""
    if ticket.channel == "wechat" and ticket.sender:
        return "wechat", ticket.sender
    phone = ticket.contact_phone or citizen_phone(ticket)
    return ("sms", phone) if phone else None


class CitizenNotices:
    """Owes the citizen a notice when the office approves an extension, where the pack requires it."""

    def __init__(self, lifecycle: Lifecycle, outbox: Outbox) -> None:
        self.lifecycle = lifecycle
        self.outbox = outbox

    def listen(self) -> None:
        self.lifecycle.on("extension_approved", self.extension_approved)

    def extension_approved(self, session: Session, ticket: Ticket, event: TicketEvent) -> None:
        policy = self.lifecycle.policy
        extension = policy.handling.extension
        basis = extension.tell_citizen if extension else None
        if not basis:
            return
        data = event.data or {}
        route = notice_route(ticket)
        told = {"about": "extension", "basis": basis, "due": data.get("due")}
        if route is None:
            told |= {"sent": False, "why": "诉求人未留联系方式，请承办单位或热线电话告知"}
        else:
            channel, recipient = route
            body = extension_notice(policy.title, ticket, data.get("due"), data.get("reason"))
            self.outbox.enqueue(
                session, key=f"extension:{ticket.number}:{data.get('number')}", channel=channel,
                recipient=recipient, body=body, ticket_number=ticket.number,
            )  # fmt: skip
            told |= {"sent": True, "channel": channel}
        ticket.events.append(TicketEvent(kind="citizen_told", actor="system", at=event.at, data=told))
        session.flush()
