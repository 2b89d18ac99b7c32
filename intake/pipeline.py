"""The one pipeline every channel calls.

``Triage.decide`` decides what to do with a text and stores nothing (``hotline triage`` and
``POST /api/v1/triage``). Its steps run in a fixed order, each a small function that returns an
outcome or passes: emergency rules → redirect and decline rules → knowledge-base answer → ticket.
An emergency is therefore never answered from the knowledge base.

``Intake.handle`` is the full pipeline for a channel: it stores the message before anything else,
keeps the conversation's state in the database (so any worker can take the next message), decides,
and creates the ticket when one is due.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.db import Database
from intake.messages import Candidate, Message, Outcome, TicketInfo
from intake.models import Conversation, InboundMessage
from intake.text import NormalizedText, normalize
from intake.tickets import create_ticket
from kb.search import KnowledgeBase, LexicalIndex, Thresholds
from kb.search import decide as kb_decide
from routing import rules
from routing.policy import Policy
from routing.units import UnitCatalogue
from routing.workdays import WorkdayCalendar, due_date

log = logging.getLogger(__name__)

TEXT_CHANNELS = {"web", "sms", "wechat", "api"}
CONVERSATION_IDLE = timedelta(minutes=30)
KB_CATEGORIES = {"consult", "help"}
NEEDS_PLACE = {"help", "complaint", "report"}


def format_due(due: str | None) -> str:
    """A deadline as a citizen reads it: 2026年11月26日, or 11月24日10:00 for hour limits."""
    if not due:
        return ""
    if "T" in due:
        moment = datetime.fromisoformat(due)
        return f"{moment.year}年{moment.month}月{moment.day}日{moment:%H:%M}"
    day = date.fromisoformat(due)
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class Context:
    """What every step sees: the text in both forms, the time, and this request's indexes."""

    text: NormalizedText
    now: datetime
    channel: str
    index: LexicalIndex
    units: UnitCatalogue
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def match(self) -> str:
        return self.text.match


Step = Callable[["Triage", Context], Outcome | None]


class Triage:
    """Decides what to do with one text under one policy pack. Stateless: it stores nothing."""

    def __init__(
        self,
        policy: Policy,
        calendar: WorkdayCalendar,
        tz: ZoneInfo,
        *,
        max_text: int = 2000,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.policy = policy
        self.calendar = calendar
        self.tz = tz
        self.max_text = max_text
        self.thresholds = thresholds or Thresholds()
        self.steps: list[Step] = [emergency_step, redirect_step, decline_step, knowledge_step, ticket_step]

    def context(
        self, text: str, *, now: datetime, channel: str, index: LexicalIndex, units: UnitCatalogue
    ) -> Context:
        return Context(normalize(text, self.max_text), now, channel, index, units)

    def decide(
        self, text: str, *, now: datetime, index: LexicalIndex, units: UnitCatalogue, channel: str = "api"
    ) -> Outcome:
        """Run the steps in order and return the first outcome."""
        ctx = self.context(text, now=now, channel=channel, index=index, units=units)
        return self.run(ctx)

    def run(self, ctx: Context) -> Outcome:
        for step in self.steps:
            outcome = step(self, ctx)
            if outcome is not None:
                return outcome
        raise AssertionError("the ticket step always decides")  # pragma: no cover

    # helpers the steps share
    def category(self, ctx: Context) -> str:
        if "category" not in ctx.cache:
            ctx.cache["category"] = rules.classify(ctx.match, self.policy)
        return ctx.cache["category"]

    def urgent(self, ctx: Context) -> bool:
        return rules.is_urgent(ctx.match, self.policy)

    def deadline(self, category: str, urgent: bool, now: datetime) -> tuple[str | None, str | None]:
        """The due date and the article it rests on for a matter registered at ``now``."""
        if urgent:
            spec = self.policy.urgent_deadline
        else:
            spec = self.policy.deadline_for(category)
            if spec is None:
                return None, None
        due = due_date(
            self.calendar,
            now,
            self.tz,
            working_days=spec.working_days,
            hours=spec.hours,
            counting=self.policy.counting,
        )
        return due, spec.basis

    def answer_outcome(self, entry_hit: Any, ctx: Context, category: str) -> Outcome:
        entry = entry_hit.entry
        return Outcome(
            action="answer",
            reply=entry.answer,
            kb_id=entry.public_id,
            score=entry_hit.score,
            category=category,
            unit=entry.unit,
            unit_name=ctx.units.name(entry.unit),
            basis=self.policy.answer_basis,
            spoken_reply=entry.spoken_answer,
            kb_version=entry.version,
        )


# ---------------------------------------------------------------- the steps, in order


def emergency_step(triage: Triage, ctx: Context) -> Outcome | None:
    found = rules.detect_emergency(ctx.match, triage.policy)
    if not found:
        return None
    names = dict(zip(found.lines, found.names, strict=True))
    primary = f"{found.primary}{names[found.primary]}"
    if ctx.channel in TEXT_CHANNELS:
        reply = f"情况紧急！请立即拨打{primary}电话求助，12345热线无法出警或派车。"
        others = [f"{n}{names[n]}" for n in found.lines[1:]]
        if others:
            reply += f"如有需要，也可拨打{'、'.join(others)}。"
    else:
        reply = f"您反映的情况紧急，现在为您转接{primary}，请不要挂机。"
    return Outcome(
        action="transfer",
        reply=reply,
        transfer_to=found.primary,
        transfer_all=list(found.lines),
        category="help",
        urgent=True,
        basis=found.basis,
    )


def redirect_step(triage: Triage, ctx: Context) -> Outcome | None:
    found = rules.detect_redirect(ctx.match, triage.policy)
    if not found:
        return None
    return Outcome(
        action="redirect",
        reply=found.reply,
        redirect_to=found.code,
        basis=found.basis,
        category=triage.category(ctx),
    )


def decline_step(triage: Triage, ctx: Context) -> Outcome | None:
    found = rules.detect_decline(ctx.match, triage.policy)
    if not found:
        return None
    return Outcome(action="decline", reply=found.reply, decline_reason=found.code, basis=found.basis)


def knowledge_step(triage: Triage, ctx: Context) -> Outcome | None:
    category = triage.category(ctx)
    if category not in KB_CATEGORIES:
        return None  # a complaint that names a KB topic is still a complaint
    today = ctx.now.astimezone(triage.tz).date()
    decision = kb_decide(ctx.index.search(ctx.match, today), triage.thresholds)
    if decision.kind == "answer" and decision.best:
        return triage.answer_outcome(decision.best, ctx, category)
    if decision.kind == "clarify":
        candidates = [
            Candidate(h.entry.public_id, h.entry.question, round(h.score, 4)) for h in decision.hits
        ]
        lines = "\n".join(f"{i}. {c.question}" for i, c in enumerate(candidates, 1))
        reply = f"您想咨询的是以下哪一项？请回复序号：\n{lines}\n如果都不是，请再详细描述一下您的问题。"
        return Outcome(
            action="clarify",
            reply=reply,
            candidates=candidates,
            score=decision.hits[0].score,
            category=category,
        )
    return None


def ticket_step(triage: Triage, ctx: Context) -> Outcome:
    category = triage.category(ctx)
    if category not in triage.policy.categories:
        category = "help" if category != "consult" else "consult"
    urgent = triage.urgent(ctx)
    choice = ctx.units.choose(ctx.match)
    due, basis = triage.deadline(category, urgent, ctx.now)
    reply = triage.policy.ticket_reply.format(unit=choice.name, due=format_due(due))
    if urgent:
        reply = "您反映的事项属于紧急事项，将优先处理。" + reply
    return Outcome(
        action="ticket",
        reply=reply,
        category=category,
        urgent=urgent,
        unit=choice.code,
        unit_name=choice.name,
        due=due,
        basis=basis,
    )


# ---------------------------------------------------------------- the full pipeline with state

ASK_PLACE = "请问这件事发生在什么地方？请告诉我们乡镇、村（社区）或街道、小区的名称，越具体越好。"
_CHOICE = re.compile(r"^\s*(?:第)?([1-9])\s*(?:个|项|条)?\s*[.。,!]?\s*$")


def outcome_from_dict(data: dict[str, Any]) -> Outcome:
    """Rebuild an outcome stored with a message (a retried message gets the same reply)."""
    data = dict(data)
    candidates = data.get("candidates")
    if candidates:
        data["candidates"] = [Candidate(**c) for c in candidates]
    if data.get("ticket"):
        data["ticket"] = TicketInfo(**data["ticket"])
    return Outcome(**data)


class Intake:
    """Stores, remembers and decides: what ``POST /api/v1/messages`` and every channel call."""

    def __init__(
        self,
        db: Database,
        triage: Triage,
        kb: KnowledgeBase,
        units: Callable[[Session], UnitCatalogue],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.triage = triage
        self.kb = kb
        self.units = units
        self.clock = clock

    def handle(self, message: Message) -> Outcome:
        """Store ``message``, run it through the pipeline and return the outcome."""
        now = message.received_at or self.clock()
        stored = self._store(message, now)
        if isinstance(stored, Outcome):
            return stored  # a retried message: the same reply, nothing done twice
        try:
            with self.db.session() as session:
                row = session.get(InboundMessage, stored)
                outcome = self._process(session, message, row, now)
                row.status = "processed"
                row.outcome = outcome.to_dict()
                session.commit()
                return outcome
        except Exception as exc:
            log.exception("message %s from %s failed", stored, message.channel)
            with self.db.session() as session:
                row = session.get(InboundMessage, stored)
                row.status = "failed"
                row.error = f"{type(exc).__name__}: {exc}"[:2000]
                session.commit()
            raise

    def _store(self, message: Message, now: datetime) -> int | Outcome:
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
                    return existing.id
            row = InboundMessage(
                channel=message.channel,
                channel_msg_id=message.channel_msg_id,
                sender=message.sender,
                text=message.text,
                received_at=now,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same message arrived twice at the same moment
                session.rollback()
                return self._store(message, now)
            return row.id

    def _conversation(self, session: Session, message: Message, now: datetime) -> Conversation:
        conv = session.scalar(
            select(Conversation)
            .where(
                Conversation.channel == message.channel,
                Conversation.sender == message.sender,
                Conversation.status == "open",
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conv is not None and now - conv.updated_at > CONVERSATION_IDLE:
            conv.status = "closed"
            conv = None
        if conv is None:
            conv = Conversation(channel=message.channel, sender=message.sender, started_at=now, state={})
            session.add(conv)
        conv.updated_at = now
        session.flush()
        return conv

    def _process(self, session: Session, message: Message, row: InboundMessage, now: datetime) -> Outcome:
        conv = self._conversation(session, message, now)
        row.conversation_id = conv.id
        index = self.kb.refresh(session)
        units = self.units(session)
        triage = self.triage
        ctx = triage.context(message.text, now=now, channel=message.channel, index=index, units=units)
        state = dict(conv.state or {})

        emergency = emergency_step(triage, ctx)
        if emergency is not None:
            conv.state = {}
            return emergency

        awaiting = state.get("awaiting")
        if awaiting == "clarify":
            picked = self._pick(ctx, state, index)
            if picked is not None:
                conv.state = {}
                return picked
        if awaiting == "place":
            draft = state.get("draft") or {}
            conv.state = {}
            combined = f"{draft.get('text', '')}\n{message.text}".strip()
            ctx = triage.context(combined, now=now, channel=message.channel, index=index, units=units)
            return self._ticket(session, message, conv, ctx, ticket_step(triage, ctx), place=message.text)

        outcome = triage.run(ctx)
        if outcome.action == "clarify":
            conv.state = {"awaiting": "clarify", "candidates": [c.kb_id for c in outcome.candidates or []]}
            return outcome
        if outcome.action != "ticket":
            conv.state = {}
            return outcome
        if outcome.category in NEEDS_PLACE and not rules.mentions_place(ctx.match, triage.policy):
            conv.state = {"awaiting": "place", "draft": {"text": message.text}}
            return replace(
                outcome, action="ask", reply=ASK_PLACE, unit=None, unit_name=None, due=None, basis=None
            )
        conv.state = {}
        return self._ticket(session, message, conv, ctx, outcome, place=None)

    def _pick(self, ctx: Context, state: dict[str, Any], index: LexicalIndex) -> Outcome | None:
        """The entry the citizen chose by number from a clarify list."""
        found = _CHOICE.match(ctx.match)
        if not found:
            return None
        ids = state.get("candidates") or []
        position = int(found.group(1)) - 1
        if position >= len(ids):
            return None
        entry = next((e for e in index.entries if e.public_id == ids[position]), None)
        if entry is None:
            return None
        from kb.search import Hit

        return self.triage.answer_outcome(Hit(entry, 1.0), ctx, "consult")

    def _ticket(
        self,
        session: Session,
        message: Message,
        conv: Conversation,
        ctx: Context,
        outcome: Outcome,
        place: str | None,
    ) -> Outcome:
        ticket = create_ticket(
            session,
            now=ctx.now,
            tz=self.triage.tz,
            actor=f"{message.channel}:citizen",
            channel=message.channel,
            sender=message.sender,
            conversation_id=conv.id,
            text=ctx.text.display,
            location=(place or "").strip()[:200] or None,
            category=outcome.category,
            urgent=outcome.urgent,
            disposition="dispatched",
            unit_code=outcome.unit,
            due=outcome.due,
            basis=outcome.basis,
            policy=self.triage.policy.name,
        )
        conv.state = {"ticket": ticket.number}
        info = TicketInfo(
            number=ticket.number, category=ticket.category, unit=ticket.unit_code, due=ticket.due
        )
        reply = f"工单号：{ticket.number}。{outcome.reply}您可以凭工单号查询办理进度。"
        return replace(outcome, reply=reply, ticket=info)
