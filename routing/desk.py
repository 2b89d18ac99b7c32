"""The hotline office's own actions on one ticket, beside the ticket's life in ``routing.lifecycle``:
corrections of what the machine decided, confidentiality, links to other tickets, notes, and the
stamp that tells two staff acting on one ticket at once apart.

- A correction (category, urgency, redirect) changes the ticket's field and is stored as a
  ``corrected`` event ``{"field", "before", "after", "text"}``: ``hotline train`` reads exactly these
  as labelled examples for the triage model. The new value must be one of the codes the pack
  chooses from (``intake.core.vocabulary``; a redirect, one of the pack's ``redirects``).
- Links: ``repeat_of`` / ``repeated_by`` between a ticket and the earlier one it repeats; a key item
  (000 第十四条) joins the tickets given into one incident with ``linked`` and ``key_item`` events, as
  ``routing.keyitems`` does by itself, only where the pack has the rule.
- The stamp is the id of the ticket's latest event. Every action appends an event, so a page loaded
  before someone else acted carries an older stamp, and ``check_stamp`` refuses it naming who did what
  and when (no migration: the events are already there).

Every refusal is a ``TransitionRefused`` (with the article where a pack rule refuses) or an
``InvalidInput`` naming the field, as the lifecycle's are; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.core.dates import describe_moment
from intake.core.models import InboundMessage, Ticket, TicketEvent, Unit
from intake.core.text import normalize
from intake.core.tickets import find_ticket
from intake.core.vocabulary import CATEGORIES
from routing.keyitems import is_key_item, linked_numbers
from routing.lifecycle import TransitionRefused
from routing.policy import Policy
from routing.replies import InvalidInput
from routing.surveys import SurveyRequest
from routing.units import Choice, UnitCatalogue

NOTE_LIMIT = 1000
UNIT_RESULTS = 20
CORRECTABLE = ("category", "urgent", "redirect")

# Every event kind a ticket may carry, as the office reads it
EVENT_NAMES = {
    "registered": "登记",
    "dispatched": "派单",
    "signed": "签收",
    "return_requested": "申请退回",
    "return_approved": "同意退回",
    "return_refused": "不同意退回",
    "extension_requested": "申请延期",
    "extension_approved": "同意延期",
    "extension_refused": "不同意延期",
    "replied": "答复",
    "reviewed": "审核通过答复",
    "reply_refused": "退回答复",
    "surveyed": "回访评价",
    "rehandled": "重办",
    "closed": "办结",
    "reminded": "催办提醒",
    "card": "督办亮牌",
    "linked": "关联同一事件",
    "key_item": "列为重点事项",
    "follow_up": "诉求人补充",
    "voicemail": "电话留言",
    "survey_asked": "发送回访",
    "survey_unanswered": "回访未答复",
    "callback_queued": "转人工回访",
    "callback_result": "人工回访结果",
    "callback_unreachable": "回访未接通",
    "corrected": "更正",
    "confidential": "设为保密",
    "repeat_of": "标记为重复件",
    "repeated_by": "被标记为重复件",
    "note": "备注",
    "citizen_told": "告知诉求人",
}
FIELD_NAMES = {"category": "类别", "urgent": "紧急程度", "redirect": "转其他渠道"}


def event_name(kind: str) -> str:
    """An event kind in Chinese (an unknown kind as it is stored)."""
    return EVENT_NAMES.get(kind, kind)


def actor_name(actor: str) -> str:
    """Who did it, as the office reads it: 热线办公室 wang, 承办单位 cgj, 诉求人, 系统."""
    side, _, who = (actor or "").partition(":")
    if side == "office":
        return f"热线办公室 {who}" if who else "热线办公室"
    if side == "unit":
        return f"承办单位 {who}" if who else "承办单位"
    if who == "citizen" or side == "citizen":
        return "诉求人"
    if side in ("system", "worker", ""):
        return "系统"
    return actor


# ---------------------------------------------------------------- two staff at once


def stamp(session: Session, ticket: Ticket) -> int:
    """The ticket's state as a number: the id of its latest event (0 for none)."""
    return session.scalar(select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id)) or 0


def parse_stamp(value: Any) -> int:
    """A form's stamp as a number; anything else is bad input."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("stamp", "页面缺少工单状态标记，请刷新页面后再操作")
    return int(text)


def check_stamp(session: Session, ticket: Ticket, seen: int, tz: ZoneInfo) -> None:
    """Refuse an action decided on a page older than the ticket: who changed what, and when."""
    newer = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.id > seen)
        .order_by(TicketEvent.id)
    ).all()
    if not newer:
        return
    said = "；".join(
        f"{actor_name(e.actor)}于{describe_moment(aware(e.at), tz)}{event_name(e.kind)}" for e in newer[-3:]
    )
    more = f"等{len(newer)}项变更" if len(newer) > 3 else ""
    raise TransitionRefused(
        "stale",
        f"您打开页面后，工单{ticket.number}已有变更：{said}{more}。您的操作未执行，请查看最新状态后再决定。",
    )


def aware(moment: datetime) -> datetime:
    """A stored moment with its zone (SQLite returns UTC moments without one)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- what the office reads


@dataclass(frozen=True)
class TicketFile:
    """What the office reads beside the ticket's own fields: the citizen's messages, in order, every
    event, in order, the linked tickets and the survey rounds."""

    messages: list[InboundMessage]
    events: list[TicketEvent]
    links: dict[str, Any]
    surveys: list[SurveyRequest]


def ticket_file(session: Session, ticket: Ticket) -> TicketFile:
    """The conversation's messages, the events, the links (repeats, key items) and the surveys."""
    messages: list[InboundMessage] = []
    if ticket.conversation_id is not None:
        messages = list(
            session.scalars(
                select(InboundMessage)
                .where(InboundMessage.conversation_id == ticket.conversation_id)
                .order_by(InboundMessage.received_at, InboundMessage.id)
            )
        )
    events = sorted(ticket.events, key=lambda e: e.id or 0)
    flags = [e.data for e in events if e.kind == "key_item"]
    links = {
        "repeat_of": [e.data.get("number") for e in events if e.kind == "repeat_of"],
        "repeated_by": [e.data.get("number") for e in events if e.kind == "repeated_by"],
        "same_incident": linked_numbers(ticket),
        "key_item": flags[-1] if flags else None,
    }
    surveys = list(
        session.scalars(
            select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id).order_by(SurveyRequest.id)
        )
    )
    return TicketFile(messages, events, links, surveys)


# ---------------------------------------------------------------- the unit to send it to


@dataclass(frozen=True)
class Suggestion:
    """The unit the routing rules pick for the ticket's text, and why, in words."""

    code: str
    name: str
    why: str


def suggest_unit(catalogue: UnitCatalogue, ticket: Ticket) -> Suggestion:
    """The unit ``routing.units`` picks for the ticket's text and place, as the pipeline picks it."""
    text = normalize(" ".join(filter(None, (ticket.text, ticket.location)))).match
    choice: Choice = catalogue.choose(text)
    unit = catalogue.units.get(choice.code)
    if choice.reason == "responsibility" and unit:
        words = [k for k in unit.keywords if k and k.lower() in text]
        why = f"诉求内容提到“{'、'.join(words[:5])}”，属该单位职责关键词"
    elif choice.reason == "township":
        why = f"诉求发生地为{catalogue.town_in(text)}，没有职能部门的关键词对应，由属地乡镇人民政府办理"
    else:
        why = "没有找到对应的职能部门或属地乡镇，由热线工作人员人工判断"
    return Suggestion(choice.code, choice.name, why)


def search_units(session: Session, words: str, limit: int = UNIT_RESULTS) -> list[Unit]:
    """Units whose code, name, responsibilities, keywords or towns hold every word of ``words``.

    Matched in Python: a county's catalogue is a few hundred rows, and the keyword lists are JSON that
    a database would compare as escaped text.
    """
    terms = [normalize(t).match for t in re.split(r"\s+", (words or "").strip()[:50]) if t][:5]
    found = []
    for unit in session.scalars(select(Unit).order_by(Unit.kind, Unit.code)):
        haystack = normalize(
            " ".join(
                [
                    unit.code,
                    unit.name,
                    unit.responsibilities or "",
                    *(unit.keywords or []),
                    *(unit.towns or []),
                ]
            )
        ).match
        if all(term in haystack for term in terms):
            found.append(unit)
            if len(found) >= limit:
                break
    return found


# ---------------------------------------------------------------- the office's own actions


class Desk:
    """The office's actions on one ticket under one pack; each appends one event and returns it."""

    def __init__(self, policy: Policy, tz: ZoneInfo, clock: Callable[[], datetime]) -> None:
        self.policy = policy
        self.tz = tz
        self.clock = clock

    def _event(self, ticket: Ticket, kind: str, actor: str, **data: Any) -> TicketEvent:
        event = TicketEvent(
            kind=kind, actor=actor, at=self.clock(), data={k: v for k, v in data.items() if v is not None}
        )
        ticket.events.append(event)
        return event

    def redirect_codes(self) -> dict[str, str | None]:
        """The redirects the pack names, each with its article."""
        return {rule.code: rule.basis for rule in self.policy.redirects}

    def correct(self, session: Session, ticket: Ticket, *, field: str, value: Any, actor: str) -> TicketEvent:
        """Correct what the machine decided; the event is a labelled example for ``hotline train``."""
        if field not in CORRECTABLE:
            raise InvalidInput("field", "只能更正类别、紧急程度或转其他渠道")
        before: Any
        after: Any
        if field == "category":
            after = str(value or "").strip()
            if after not in CATEGORIES:
                raise InvalidInput("category", "请选择一个类别")
            before, ticket.category = ticket.category, after
        elif field == "urgent":
            text = str(value or "").strip().lower()
            if text not in ("1", "0", "true", "false"):
                raise InvalidInput("urgent", "请选择紧急或一般")
            after = text in ("1", "true")
            before, ticket.urgent = bool(ticket.urgent), after
        else:
            after = str(value or "").strip() or None
            codes = self.redirect_codes()
            if after is not None and after not in codes:
                raise InvalidInput("redirect", "本热线的管理办法没有这个转办渠道，请从列表中选择")
            before, ticket.redirect_to = ticket.redirect_to, after
        if before == after:
            raise InvalidInput(field, f"{FIELD_NAMES[field]}没有变化，无需更正")
        # every key kept, ``None`` too: ``hotline train`` reads exactly these four
        data = {"field": field, "before": before, "after": after, "text": ticket.text}
        event = TicketEvent(kind="corrected", actor=actor, at=self.clock(), data=data)
        ticket.events.append(event)
        session.flush()
        return event

    def mark_confidential(self, session: Session, ticket: Ticket, *, actor: str, reason: str) -> TicketEvent:
        """Keep the citizen's identity from the unit from now on (001 第二十四条)."""
        if ticket.confidential:
            raise TransitionRefused("already_confidential", f"工单{ticket.number}已是保密工单。")
        reason = (reason or "").strip()[:200]
        if not reason:
            raise InvalidInput("reason", "设为保密应说明原因（如诉求人来电要求保密）")
        ticket.confidential = True
        event = self._event(ticket, "confidential", actor, reason=reason)
        session.flush()
        return event

    def _other(self, session: Session, ticket: Ticket, number: str) -> Ticket:
        number = (number or "").strip()[:20]
        if not number:
            raise InvalidInput("number", "请填写要关联的工单号")
        other = find_ticket(session, number)
        if other is None:
            raise InvalidInput("number", f"没有工单号为 {number} 的工单")
        if other.id == ticket.id:
            raise InvalidInput("number", "不能关联工单本身")
        return other

    def link_repeat(self, session: Session, ticket: Ticket, *, of: str, actor: str) -> TicketEvent:
        """Mark ``ticket`` as a repeat (重复件) of the earlier ticket ``of``; both sides record it."""
        other = self._other(session, ticket, of)
        if any(e.kind == "repeat_of" and e.data.get("number") == other.number for e in ticket.events):
            raise TransitionRefused("already_linked", f"工单{ticket.number}已标记为{other.number}的重复件。")
        if other.created_at and ticket.created_at and aware(other.created_at) > aware(ticket.created_at):
            raise InvalidInput("number", f"工单{other.number}登记在本工单之后，重复件应关联到更早的工单")
        self._event(other, "repeated_by", actor, number=ticket.number)
        event = self._event(ticket, "repeat_of", actor, number=other.number)
        session.flush()
        return event

    def mark_key_item(self, session: Session, ticket: Ticket, *, numbers: str, actor: str) -> TicketEvent:
        """Join ``ticket`` and the tickets ``numbers`` as one key item, where the pack has the rule."""
        rule = self.policy.key_items
        if rule.reporters is None:
            raise TransitionRefused(
                "no_key_items", "本热线的管理办法没有规定重点事项（一天内多人反映），不能列为重点事项。"
            )
        others = [
            self._other(session, ticket, n)
            for n in list(dict.fromkeys(re.split(r"[\s,，、]+", numbers or "")))[:20]
            if n
        ]
        if not others:
            raise InvalidInput("numbers", "请填写同一事件的其他工单号")
        members = [ticket, *others]
        reporters = len({m.sender for m in members})
        data = {
            "basis": rule.basis,
            "reporters": reporters,
            "numbers": sorted(m.number for m in members),
            "by": "office",
        }
        self._event(ticket, "linked", actor, numbers=[o.number for o in others])
        for other in others:
            self._event(other, "linked", actor, numbers=[ticket.number])
        for member in members:
            if member is not ticket and not is_key_item(member):
                self._event(member, "key_item", actor, **data)
        event = self._event(ticket, "key_item", actor, **data)
        session.flush()
        return event

    def add_note(self, session: Session, ticket: Ticket, *, text: str, actor: str) -> TicketEvent:
        """A note for the office's colleagues (the unit does not see it)."""
        text = (text or "").strip()
        if not text:
            raise InvalidInput("text", "备注内容不能为空")
        if len(text) > NOTE_LIMIT:
            raise InvalidInput("text", f"备注最多{NOTE_LIMIT}字")
        event = self._event(ticket, "note", actor, text=text)
        session.flush()
        return event
