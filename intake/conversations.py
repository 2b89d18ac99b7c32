"""The full pipeline for a channel: store the message, keep the conversation, decide, record the ticket.

Every matter a citizen raises becomes one ticket record (工单) with its disposition, because the
regulations count all of them (受理量, 即时办结, the one-time answer rate of 000 第十一条(五)):

- ``answered`` (with the knowledge entry and its version), ``transferred`` (the line), ``redirected``
  (the code and the guidance given), ``declined`` (the reason): closed at once (即时办结);
- ``dispatched`` (the unit and due date): goes on to routing;
- ``abandoned``: the citizen left before a decision (a chat gone silent, a call hung up).

While the pipeline waits for the citizen (a clarify list, a question about the place) the matter's
record is ``pending``; follow-ups in the same conversation belong to it. The citizen is told the number
only where it helps (a dispatched matter) or when they ask for it.

A conversation move (hello, thanks, that's all, a person please, say it again, that's not it:
``intake.moves``) is no matter: it gets an ``Outcome`` with action ``move`` and no ticket record.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.db import Database
from intake.core.messages import Candidate, Message, Outcome, TicketInfo
from intake.core.models import Conversation, InboundMessage, Ticket, TicketEvent
from intake.core.tickets import create_ticket, find_ticket
from intake.core.vocabulary import STAGES
from intake.gathering import (
    CONSENT_QUESTION,
    missing_facts,
    note_facts,
    pending_category,
    question,
    read_answer,
    read_consent,
)
from intake.lookups import LookupGuard, guarded
from intake.moves import Move, is_garbage, recognise, replies
from intake.status import look_up, not_found_reply, parse_status_query
from intake.triage import Context, Triage, emergency_step, format_due, ticket_step
from kb.entries import Hit, SearchIndex
from kb.gaps import record_gap
from kb.search import KnowledgeBase
from routing import rules
from routing.keyitems import link_same_incident
from routing.surveys import Surveys, parse_rating
from routing.units import UnitCatalogue

log = logging.getLogger(__name__)

CONVERSATION_IDLE = timedelta(minutes=30)
# A citizen's earlier matter counts as the same one when the texts mean nearly the same (USE cosine).
SAME_MATTER = 0.75
RESOLVED_WINDOW = timedelta(days=90)  # after this a closed matter raised again is taken afresh
LOCATION_KEPT = "已收到您发送的位置：{place}。请用文字说明您要反映的事项或咨询的问题。"
_CHOICE = re.compile(r"^\s*(?:第)?([1-9])\s*(?:个|项|条)?\s*[.。,!]?\s*$")

DISPOSITION = {
    "answer": "answered",
    "transfer": "transferred",
    "redirect": "redirected",
    "decline": "declined",
    "ticket": "dispatched",
}
WAITING = {"clarify", "ask"}


# A repeated message whose first copy is younger than this is being worked on, not abandoned.
IN_FLIGHT = timedelta(minutes=2)
AWAIT_SECONDS = 3.0


class InProgress(Exception):
    """The same message is being processed by another request; its reply will come from there."""


@dataclass(frozen=True)
class _Busy:
    row_id: int


def format_day(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def outcome_from_dict(data: dict[str, Any]) -> Outcome:
    """Rebuild an outcome stored with a message (a retried message gets the same reply)."""
    data = dict(data)
    if data.get("candidates"):
        data["candidates"] = [Candidate(**c) for c in data["candidates"]]
    if data.get("ticket"):
        data["ticket"] = TicketInfo(**data["ticket"])
    return Outcome(**data)


class NotProcessed(RuntimeError):
    """The message was stored (marked ``failed``, with the error) but the pipeline failed on it: the
    citizen may be told it was recorded. Chained from the original exception."""

    def __init__(self, row_id: int) -> None:
        super().__init__(f"message {row_id} stored but not processed")
        self.row_id = row_id


class Conversations:
    """Stores, remembers and decides: what ``POST /api/v1/messages`` and every channel call."""

    def __init__(
        self,
        db: Database,
        triage: Triage,
        kb: KnowledgeBase,
        units: Callable[[Session], UnitCatalogue],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        similarity: Callable[[str, str], float] | None = None,
        surveys: Surveys | None = None,
        lookups: LookupGuard | None = None,
    ) -> None:
        self.similarity = similarity
        self.lookups = lookups
        self.surveys = surveys
        self.db = db
        self.triage = triage
        self.kb = kb
        self.units = units
        self.clock = clock

    # ------------------------------------------------------------ entry points

    def handle(self, message: Message) -> Outcome:
        """Store ``message``, run it through the pipeline and return the outcome.

        A message whose id was seen before gets the outcome stored for it; if another request is still
        working on it, this one waits a moment for that outcome, then raises ``InProgress``.
        """
        # PostgreSQL refuses NUL in text; no citizen means one
        message = replace(
            message, text=message.text.replace("\x00", ""), sender=message.sender.replace("\x00", "")
        )
        now = message.received_at or self.clock()
        stored = self._store(message, now)
        if isinstance(stored, Outcome):
            return stored  # a retried message: the same reply, nothing done twice
        if isinstance(stored, _Busy):
            return self._await(stored.row_id)
        try:
            with self.db.session() as session:
                row = session.get(InboundMessage, stored)
                outcome = self._process(session, message, row, now)
                row.status = "processed"
                # the private fields too: a retried call turn must hear the same spoken answer
                row.outcome = outcome.to_dict() | {
                    "spoken_reply": outcome.spoken_reply,
                    "unit_name": outcome.unit_name,
                    "kb_version": outcome.kb_version,
                }
                session.commit()
                return outcome
        except Exception as exc:
            log.exception("message %s from %s failed", stored, message.channel)
            with self.db.session() as session:
                row = session.get(InboundMessage, stored)
                row.status = "failed"
                row.error = f"{type(exc).__name__}: {exc}"[:2000]
                session.commit()
            raise NotProcessed(stored) from exc

    def abandon(
        self, channel: str, sender: str, reason: str = "left", *, session_ref: str | None = None
    ) -> str | None:
        """Close the sender's open conversation; a matter still pending becomes ``abandoned``.

        Channels call this when the citizen leaves (a call hung up); ``sweep`` does it for chats that
        went silent. With ``session_ref`` (a call's id, whose messages are stored as ``{ref}:…``) only
        a conversation that call took part in is closed: a late hang-up report of an earlier call
        leaves the caller's next call alone. Returns the number of the abandoned ticket, if any.
        """
        now = self.clock()
        with self.db.session() as session:
            conv = self._open_conversation(session, channel, sender)
            if conv is not None and session_ref is not None:
                last = session.scalar(
                    select(InboundMessage.channel_msg_id)
                    .where(InboundMessage.conversation_id == conv.id)
                    .order_by(InboundMessage.id.desc())
                    .limit(1)
                )
                if not (last or "").startswith(f"{session_ref}:"):
                    conv = None  # another call's conversation
            number = self._close(session, conv, now, reason) if conv else None
            session.commit()
            return number

    def sweep(self, idle: timedelta = CONVERSATION_IDLE) -> int:
        """Close every conversation idle longer than ``idle``; return how many matters were abandoned."""
        now = self.clock()
        abandoned = 0
        with self.db.session() as session:
            stale = session.scalars(
                select(Conversation).where(
                    Conversation.status == "open", Conversation.updated_at < now - idle
                )
            ).all()
            for conv in stale:
                abandoned += self._close(session, conv, now, "silent") is not None
            session.commit()
        return abandoned

    # ------------------------------------------------------------ storage

    def _await(self, row_id: int) -> Outcome:
        deadline = time.monotonic() + AWAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            with self.db.session() as session:
                row = session.get(InboundMessage, row_id)
                if row.status == "processed" and row.outcome:
                    return outcome_from_dict(row.outcome)
        raise InProgress(row_id)

    def _store(self, message: Message, now: datetime) -> int | Outcome | _Busy:
        with self.db.session() as session:
            if message.channel_msg_id:
                existing = session.scalar(
                    select(InboundMessage).where(
                        InboundMessage.channel == message.channel,
                        InboundMessage.channel_msg_id == message.channel_msg_id,
                    )
                )
                if existing is not None:
                    if existing.status == "processed" and existing.outcome:
                        return outcome_from_dict(existing.outcome)
                    started = existing.received_at
                    if existing.status == "received" and started and now - started < IN_FLIGHT:
                        return _Busy(existing.id)  # another request is on it right now
                    return existing.id  # it failed, or its worker died: take it up again
            row = InboundMessage(
                channel=message.channel,
                channel_msg_id=message.channel_msg_id,
                sender=message.sender,
                text=message.text,
                received_at=now,
                kind=message.kind,
                meta=dict(message.meta) or None,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same message arrived twice at the same moment
                session.rollback()
                return self._store(message, now)
            return row.id

    def _open_conversation(self, session: Session, channel: str, sender: str) -> Conversation | None:
        return session.scalar(
            select(Conversation)
            .where(
                Conversation.channel == channel, Conversation.sender == sender, Conversation.status == "open"
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )

    def _close(self, session: Session, conv: Conversation, now: datetime, reason: str) -> str | None:
        """Close ``conv``; mark its pending matter abandoned. Returns that ticket's number."""
        conv.status = "closed"
        number = (conv.state or {}).get("pending")
        conv.state = {}
        ticket = find_ticket(session, number) if number else None
        if ticket is None or ticket.disposition != "pending":
            return None
        ticket.disposition = "abandoned"
        ticket.status = "closed"
        ticket.closed_at = now
        ticket.events.append(TicketEvent(kind="abandoned", actor="system", at=now, data={"reason": reason}))
        return ticket.number

    def _conversation(self, session: Session, message: Message, now: datetime) -> Conversation:
        conv = self._open_conversation(session, message.channel, message.sender)
        if conv is not None and now - conv.updated_at > CONVERSATION_IDLE:
            self._close(session, conv, now, "silent")
            conv = None
        if conv is None:
            conv = Conversation(channel=message.channel, sender=message.sender, started_at=now, state={})
            session.add(conv)
        conv.updated_at = now
        session.flush()
        return conv

    # ------------------------------------------------------------ deciding

    def _process(self, session: Session, message: Message, row: InboundMessage, now: datetime) -> Outcome:
        conv = self._conversation(session, message, now)
        row.conversation_id = conv.id
        index = self.kb.refresh(session)
        units = self.units(session)
        triage = self.triage
        ctx = triage.context(message.text, now=now, channel=message.channel, index=index, units=units)
        state = dict(conv.state or {})

        if rules.asks_for_ticket_number(ctx.match, triage.policy) and state.get("last"):
            return self._tell_number(session, state["last"])

        outcome = emergency_step(triage, ctx)
        if outcome is None and state.get("awaiting") != "clarify":
            outcome = self._survey_answer(session, message, now)
            if outcome is not None:
                return outcome
        if outcome is None and (query := parse_status_query(message.text)):
            return self._status(session, message, query.number, query.check, units)
        if outcome is None and message.kind != "location":
            # hello, thanks, that's all, a person please, say it again: about the conversation, no matter
            if (move := recognise(ctx.match)) is not None:
                return self._move(session, conv, message, row, move, state, now)
            if is_garbage(ctx.match) and (said := self._garbage(session, conv, message, ctx, state)):
                return said
        if outcome is None and state.get("awaiting") == "clarify":
            outcome = self._pick(ctx, state, index)
        recording = message.meta.get("recording_url")
        if outcome is None and message.kind == "location" and state.get("awaiting") != "place":
            # a shared location says where, not what: keep it for the matter the citizen describes next
            conv.state = {**state, "location": message.text}
            return Outcome(action="ask", reply=LOCATION_KEPT.format(place=message.text))
        if outcome is None and state.get("awaiting") == "place" and not recording:
            # the matter first described, with the facts the citizen has just given (intake.gathering)
            combined = f"{state.get('text', '')}\n{message.text}".strip()
            ctx = triage.context(combined, now=now, channel=message.channel, index=index, units=units)
            return self._answered(session, conv, message, ctx, state)
        if outcome is None:
            if state.get("awaiting") == "describe" and state.get("pending"):
                # "不是这个": this message is the matter, in the citizen's own words
                described = find_ticket(session, state["pending"])
                if described is not None:
                    described.text = ctx.text.display
            outcome = triage.run(ctx)
            if outcome.action == "ticket":
                outcome = self._repeat(session, message, ctx) or outcome
            missing = []
            if outcome.action == "ticket" and not recording:  # a recording cannot answer a question
                missing = missing_facts(
                    triage.policy.facts, outcome.category, ctx.text.display, channel=message.channel,
                    sender=message.sender, towns=self._towns(ctx), location=state.get("location"),
                )  # fmt: skip
            if missing:  # the pack's required facts the citizen's words do not give: one question
                consent = triage.policy.facts.contact_to_unit == "ask"  # 001 第二十四条: asked with them
                outcome = replace(outcome, action="ask", reply=question(missing, consent), unit=None,
                                  unit_name=None, due=None, basis=None)  # fmt: skip
                return self._record(session, conv, message, ctx, outcome, place=None, missing=missing)
        shared = state.get("location") if outcome.action == "ticket" else None
        return self._record(session, conv, message, ctx, outcome, place=shared)

    def _answered(
        self, session: Session, conv: Conversation, message: Message, ctx: Context, state: dict[str, Any]
    ) -> Outcome:
        """The citizen's answer to the question about the pending matter: it fills that matter, never a
        new one. "不知道" files it without the fact; a refusal the pack declines (001 第十三条(四), 002
        第七条(十)) is declined with the pack's reply and article; anything else files it."""
        rules_ = self.triage.policy.facts
        asked = state.get("missing") or ["place"]
        towns = self._towns(ctx)
        answer = read_answer(message.text, asked, towns)
        still = [
            f for f in missing_facts(rules_, pending_category(state, rules_, asked), ctx.text.display,
                                     channel=message.channel, sender=message.sender, towns=towns,
                                     location=answer.place or state.get("location"))
            if f in asked and not (f == "name" and answer.name)
        ]  # fmt: skip
        declining = set(still) & set(rules_.decline_for)
        if answer.refused and declining and rules_.decline:
            rule = next((r for r in self.triage.policy.declines if r.code == rules_.decline), None)
            outcome = Outcome(
                action="decline", reply=rules_.reply or "", decline_reason=rules_.decline,
                basis=rules_.basis or (rule.basis if rule else None), category=state.get("category"),
            )  # fmt: skip
            return self._record(session, conv, message, ctx, outcome, place=answer.place or "")
        outcome = ticket_step(self.triage, ctx)
        recorded = self._record(session, conv, message, ctx, outcome, place=answer.place or "")
        ticket = find_ticket(session, state["pending"]) if state.get("pending") else None
        if ticket is not None and answer.name:
            ticket.citizen_name = answer.name[:64]
        if ticket is not None and CONSENT_QUESTION in (state.get("question") or ""):
            ticket.contact_consent = read_consent(message.text)  # asked once; unclear stays None
        return recorded

    # ------------------------------------------------------------ conversation moves

    def _move(
        self,
        session: Session,
        conv: Conversation,
        message: Message,
        row: InboundMessage,
        move: Move,
        state: dict[str, Any],
        now: datetime,
    ) -> Outcome:
        """The reply to a conversation move (``intake.moves``): no ticket, no knowledge gap.

        A matter still waiting for the citizen (the place, a choice) is never lost silently: a closer
        says what becomes of it (it is recorded as abandoned), any other move asks for it again.
        """
        said = replies()
        medium = "voice" if message.channel == "voice" else "text"
        waiting = state.get("awaiting") if state.get("pending") else None
        again = (state.get("question") or said["still_waiting"].get(waiting, "")) if waiting else ""
        kind = move.kind
        if kind == "closing":
            lead = said["closing_pending"].get(waiting, "") if waiting else ""
            if waiting:
                self._close(session, conv, now, "closed_by_citizen")
            return Outcome(action="move", move=kind, reply=lead + said["closing"][medium])
        if kind == "repeat":
            return self._say_again(session, conv, row) or Outcome(
                action="move", move=kind, reply=said["repeat_nothing"]
            )
        if kind == "not_it":
            answered = find_ticket(session, state["last"]) if state.get("last") else None
            if state.get("pending"):  # the next message is the matter, in the citizen's own words
                conv.state = {"pending": state["pending"], "last": state["pending"], "awaiting": "describe"}
            elif answered is not None and answered.disposition == "answered":
                # for the office: the answer given did not help; the next message is a matter of its own
                event = TicketEvent(kind="not_it", actor=f"{message.channel}:citizen", at=now)
                answered.events.append(event)
            return Outcome(action="move", move=kind, reply=said["not_it"])
        if kind == "agent":
            reply = said["agent"][medium]
            if medium == "text":
                reply += self._staffed_hours()
            return Outcome(action="move", move=kind, reply=reply + again)
        if waiting:  # a greeting, thanks or an acknowledgement while we wait for the citizen
            return Outcome(action="move", move=kind, reply=said["while_waiting"][kind] + again)
        reply = said[kind] if isinstance(said[kind], str) else said[kind][medium]
        return Outcome(action="move", move=kind, reply=reply)

    def _staffed_hours(self) -> str:
        """When a person answers the hotline's phone, from the pack's ``hours`` (nothing when unknown)."""
        hours, said = self.triage.policy.hours, replies()
        if hours.always_staffed:
            return said["staffed_always"]
        if hours.staffed:
            windows = "、".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in hours.staffed)
            return said["staffed_hours"].format(hours=windows)
        return ""

    def _say_again(self, session: Session, conv: Conversation, row: InboundMessage) -> Outcome | None:
        """The last reply this conversation gave, as a ``repeat`` move (a list stays open as it was)."""
        earlier = session.scalar(
            select(InboundMessage.outcome)
            .where(
                InboundMessage.conversation_id == conv.id,
                InboundMessage.id != row.id,
                InboundMessage.status == "processed",
            )
            .order_by(InboundMessage.id.desc())
            .limit(1)
        )
        if not earlier or not earlier.get("reply"):
            return None
        keep = ("reply", "candidates", "kb_id", "ticket", "spoken_reply")
        return outcome_from_dict({k: earlier.get(k) for k in keep} | {"action": "move", "move": "repeat"})

    def _garbage(
        self, session: Session, conv: Conversation, message: Message, ctx: Context, state: dict[str, Any]
    ) -> Outcome | None:
        """Keyboard mash: asked to say it again, never held as a matter nor glued to the next message.

        Nothing waiting: the pack's ``no_content`` decline, recorded as every contact is. A matter
        waiting for the citizen: it keeps waiting, and the question is asked again. ``None`` when the
        pack has no ``no_content`` rule (the pipeline then decides as before).
        """
        rule = next((r for r in self.triage.policy.declines if r.code == "no_content"), None)
        waiting = state.get("awaiting") if state.get("pending") else None
        if waiting:
            said = replies()
            reply = said["garbage"] + (state.get("question") or said["still_waiting"][waiting])
            if waiting == "place":
                return Outcome(action="ask", reply=reply)
            if rule is None:
                return None
            return Outcome(action="decline", reply=reply, decline_reason="no_content", basis=rule.basis)
        if rule is None:
            return None
        reply = rule.reply or ""
        outcome = Outcome(action="decline", reply=reply, decline_reason="no_content", basis=rule.basis)
        return self._record(session, conv, message, ctx, outcome, place=None)

    def _repeat(self, session: Session, message: Message, ctx: Context) -> Outcome | None:
        """A decline when the citizen raises again a matter already registered for them.

        Open: ``duplicate`` with its progress; closed within ``RESOLVED_WINDOW`` and no new facts:
        ``already_resolved`` with where to find the result. Only where the pack names these rules.
        """
        enabled = {
            r.code: r for r in self.triage.policy.declines if r.code in ("duplicate", "already_resolved")
        }
        if not enabled or self.similarity is None:
            return None
        earlier = session.scalars(
            select(Ticket)
            .where(Ticket.sender == message.sender, Ticket.disposition == "dispatched")
            .order_by(Ticket.id.desc())
            .limit(20)
        ).all()
        tz = self.triage.tz
        for ticket in earlier:
            closed = ticket.status == "closed"
            code = "already_resolved" if closed else "duplicate"
            if code not in enabled or (closed and ctx.now - (ticket.closed_at or ctx.now) > RESOLVED_WINDOW):
                continue
            if self.similarity(ticket.text, ctx.text.display) < SAME_MATTER:
                continue
            rule = enabled[code]
            reply = (rule.reply or "").format(
                number=ticket.number,
                unit=ctx.units.name(ticket.unit_code) or ticket.unit_code or "",
                registered=format_day(ticket.created_at.astimezone(tz)),
                closed=format_day((ticket.closed_at or ctx.now).astimezone(tz)),
                due=format_due(ticket.due) or "法定时限",  # 004: no number until the deployment sets it
                stage=STAGES.get(ticket.status, ticket.status),
            )
            return Outcome(
                action="decline", reply=reply, decline_reason=code, basis=rule.basis,
                category=ticket.category, unit=ticket.unit_code, due=ticket.due,
            )  # fmt: skip
        return None

    def _pick(self, ctx: Context, state: dict[str, Any], index: SearchIndex) -> Outcome | None:
        """The entry the citizen chose by number from a clarify list."""
        found = _CHOICE.match(ctx.match)
        ids = state.get("candidates") or []
        if not found or int(found.group(1)) > len(ids):
            return None
        chosen = ids[int(found.group(1)) - 1]
        entry = next((e for e in index.entries if e.public_id == chosen), None)
        if entry is None:
            return None
        return self.triage.answer_outcome(Hit(entry, 1.0), ctx)

    def _survey_answer(self, session: Session, message: Message, now: datetime) -> Outcome | None:
        """A rating for the survey this sender was asked (1/2/3 or 满意/基本满意/不满意)."""
        if self.surveys is None:
            return None
        request = self.surveys.pending_for(session, message.channel, message.sender)
        rating = parse_rating(message.text, self.triage.policy) if request else None
        if request is None or rating is None:
            return None
        verdict = self.surveys.answer(session, request, rating, now)
        ticket = session.get(Ticket, request.ticket_id)
        info = TicketInfo(ticket.number, ticket.category, ticket.unit_code, ticket.due)
        return Outcome(action="survey", reply=verdict.reply, ticket=info, category=ticket.category)

    def _status(
        self, session: Session, message: Message, number: str, check: str | None, units: UnitCatalogue
    ) -> Outcome:
        """A status look-up: no new matter, the conversation's state left as it was."""

        def look(digits: str | None):
            return look_up(
                session,
                number,
                channel=message.channel,
                sender=message.sender,
                check=digits,
                unit_name=units.name,
            )

        if self.lookups is None:
            found = look(check)
        else:
            found = guarded(
                self.lookups, session, self.clock(), number, channel=message.channel, sender=message.sender,
                address=message.meta.get("address"), check=check, look=look,
            )  # fmt: skip
        if found is None:
            return Outcome(action="status", reply=not_found_reply(number))
        ticket = find_ticket(session, number)
        info = TicketInfo(found.number, ticket.category, found.unit, found.due)
        return Outcome(
            action="status", reply=found.reply, ticket=info, category=ticket.category, unit=found.unit,
            unit_name=found.unit_name, due=found.due,
        )  # fmt: skip

    def _tell_number(self, session: Session, number: str) -> Outcome:
        ticket = find_ticket(session, number)
        info = TicketInfo(ticket.number, ticket.category, ticket.unit_code, ticket.due) if ticket else None
        dispatched = ticket is not None and ticket.disposition == "dispatched"
        return Outcome(
            action="ticket" if dispatched else "answer",
            kb_id=ticket.kb_public_id if ticket else None,
            reply=f"您本次来电来信的工单号是{number}，可凭工单号查询办理情况。",
            ticket=info,
            category=ticket.category if ticket else None,
            unit=ticket.unit_code if ticket else None,
            due=ticket.due if ticket else None,
        )

    # ------------------------------------------------------------ recording

    def _record(
        self,
        session: Session,
        conv: Conversation,
        message: Message,
        ctx: Context,
        outcome: Outcome,
        place: str | None,
        missing: list[str] | None = None,
    ) -> Outcome:
        """Write the matter's ticket for ``outcome`` and the conversation's next state (``missing``: the
        facts an ``ask`` asks for)."""
        state = dict(conv.state or {})
        ticket = find_ticket(session, state["pending"]) if state.get("pending") else None
        if ticket is None:
            ticket = create_ticket(
                session,
                now=ctx.now,
                tz=self.triage.tz,
                actor=f"{message.channel}:citizen",
                channel=message.channel,
                sender=message.sender,
                conversation_id=conv.id,
                text=ctx.text.display,
                disposition="pending",
                policy=self.triage.policy.name,
            )
        else:  # a follow-up to the pending matter
            if place is not None:
                ticket.text = ctx.text.display
            follow_up = TicketEvent(
                kind="follow_up",
                actor=f"{message.channel}:citizen",
                at=ctx.now,
                data={"action": outcome.action},
            )
            ticket.events.append(follow_up)

        # the matter's facts as the citizen gave them: name, contact phone, time, parties, place
        note_facts(
            ticket, ctx.text.display, towns=self._towns(ctx), today=ctx.now.astimezone(self.triage.tz).date()
        )

        if message.meta.get("recording_url"):  # a voicemail: the office listens to it
            keep = ("recording_url", "recording_duration", "call_sid")
            data = {k: message.meta[k] for k in keep if k in message.meta}
            ticket.events.append(
                TicketEvent(kind="voicemail", actor=f"{message.channel}:citizen", at=ctx.now, data=data)
            )

        if outcome.action in WAITING:
            ticket.category = outcome.category
            waiting: dict[str, Any] = {"pending": ticket.number, "last": ticket.number}
            if outcome.action == "clarify":
                waiting |= {"awaiting": "clarify", "candidates": [c.kb_id for c in outcome.candidates or []]}
            else:
                waiting |= {"awaiting": "place", "text": ctx.text.display, "missing": missing or ["place"],
                            "question": outcome.reply, "category": outcome.category}  # fmt: skip
            conv.state = waiting
            return outcome

        if outcome.category == "consult" and outcome.action == "ticket":
            record_gap(session, ctx.text.display, message.channel, ctx.now)  # editors: what to write next
        self._decide(ticket, outcome, ctx.now, place)
        if rules.wants_confidentiality(ctx.match, self.triage.policy):  # 001 第二十四条
            ticket.confidential = True
        conv.state = {"last": ticket.number}
        if outcome.action != "ticket":
            return outcome
        if self.similarity is not None:  # 000 第十四条: one incident reported by many people in a day
            link_same_incident(session, ticket, self.triage.policy, self.similarity, ctx.now, self.triage.tz)
        info = TicketInfo(
            number=ticket.number, category=ticket.category, unit=ticket.unit_code, due=ticket.due
        )
        reply = f"工单号：{ticket.number}。{outcome.reply}您可以凭工单号查询办理进度。"
        return replace(outcome, reply=reply, ticket=info)

    def _towns(self, ctx: Context) -> set[str]:
        """The towns a place may start with: the pack's jurisdiction's and the unit catalogue's."""
        return set(self.triage.policy.towns) | {t for u in ctx.units.units.values() for t in u.towns}

    def _decide(self, ticket: Ticket, outcome: Outcome, now: datetime, place: str | None) -> None:
        """Fill in the ticket's disposition from the decision, and close it unless it is dispatched."""
        disposition = DISPOSITION[outcome.action]
        ticket.disposition = disposition
        ticket.category = outcome.category
        ticket.urgent = outcome.urgent
        ticket.unit_code = outcome.unit
        ticket.due = outcome.due
        ticket.basis = outcome.basis
        ticket.kb_public_id = outcome.kb_id
        ticket.kb_version = outcome.kb_version
        ticket.transfer_to = outcome.transfer_to
        ticket.redirect_to = outcome.redirect_to
        ticket.decline_reason = outcome.decline_reason
        if place:
            ticket.location = place.strip()[:200]
        data = {
            "disposition": disposition,
            "kb_id": outcome.kb_id,
            "kb_version": outcome.kb_version,
            "transfer_to": outcome.transfer_all or outcome.transfer_to,
            "redirect_to": outcome.redirect_to,
            "decline_reason": outcome.decline_reason,
            "guidance": outcome.reply if outcome.action in ("redirect", "decline") else None,
            "basis": outcome.basis,
        }
        ticket.events.append(
            TicketEvent(kind=disposition, actor="system", at=now, data={k: v for k, v in data.items() if v})
        )
        if disposition == "dispatched":
            ticket.status = "dispatched"
        else:
            ticket.status = "closed"
            ticket.closed_at = now
