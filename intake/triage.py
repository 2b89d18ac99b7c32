"""The one pipeline every channel calls.

``Triage.decide`` decides what to do with a text and stores nothing (``hotline triage`` and
``POST /api/v1/triage``). Its steps run in a fixed order, each a small function that returns an
outcome or passes: emergency rules → redirect and decline rules → knowledge-base answer → ticket.
An emergency is therefore never answered from the knowledge base.

``intake.conversations.Conversations.handle`` is the full pipeline for a channel: it stores the message,
keeps the conversation's state and records the ticket, calling these steps to decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from intake.core.dates import format_due
from intake.core.messages import Candidate, Outcome
from intake.core.text import NormalizedText, normalize
from kb.answer_forms import spoken
from kb.entries import Hit, SearchIndex
from kb.search import Thresholds
from kb.search import decide as kb_decide
from routing import rules
from routing.classifier import CategoryClassifier
from routing.deadlines import Deadlines
from routing.emergency import SemanticEmergency
from routing.policy import EmergencyLine, Policy
from routing.units import UnitCatalogue
from routing.workdays import WorkdayCalendar

log = logging.getLogger(__name__)

TEXT_CHANNELS = {"web", "sms", "wechat", "api"}
KB_CATEGORIES = {"consult", "help"}


@dataclass
class Context:
    """What every step sees: the text in both forms, the time, and this request's indexes."""

    text: NormalizedText
    now: datetime
    channel: str
    index: SearchIndex
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
        semantic: SemanticEmergency | None = None,
        classifier: CategoryClassifier | None = None,
    ) -> None:
        self.policy = policy
        self.calendar = calendar
        self.tz = tz
        self.deadlines = Deadlines(policy, calendar, tz)
        self.max_text = max_text
        self.thresholds = thresholds or Thresholds()
        self.semantic = semantic
        self.classifier = classifier  # decides a category no pack rule names (issue 21)
        self.steps: list[Step] = [emergency_step, redirect_step, decline_step, knowledge_step, ticket_step]

    def context(
        self, text: str, *, now: datetime, channel: str, index: SearchIndex, units: UnitCatalogue
    ) -> Context:
        return Context(normalize(text, self.max_text), now, channel, index, units)

    def decide(
        self, text: str, *, now: datetime, index: SearchIndex, units: UnitCatalogue, channel: str = "api"
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
            learned = (lambda text: self.classifier.predict(text)[0]) if self.classifier else None
            ctx.cache["category"] = rules.classify(ctx.match, self.policy, learned)
        return ctx.cache["category"]

    def urgent(self, ctx: Context) -> bool:
        return rules.is_urgent(ctx.match, self.policy)

    def deadline(self, category: str, urgent: bool, now: datetime) -> tuple[str | None, str | None]:
        """The due date and the article it rests on for a matter registered at ``now``."""
        return self.deadlines.for_matter(category, urgent, now)

    def answer_outcome(self, entry_hit: Hit, ctx: Context) -> Outcome:
        """An instant answer: whatever the wording, what the citizen got is a consultation (咨询)."""
        entry = entry_hit.entry
        return Outcome(
            action="answer",
            reply=entry.answer,
            kb_id=entry.public_id,
            score=entry_hit.score,
            category="consult",
            unit=entry.unit,
            unit_name=ctx.units.name(entry.unit),
            basis=self.policy.answer_basis,
            spoken_reply=spoken(entry.answer, entry.spoken_answer),
            kb_version=entry.version,
        )


# ---------------------------------------------------------------- the steps, in order


def emergency_step(triage: Triage, ctx: Context) -> Outcome | None:
    # the conversation asks first (an emergency interrupts any pending question), then the steps run:
    # the detection (patterns and exemplar vectors) is made once per message and remembered
    if "emergency" not in ctx.cache:
        ctx.cache["emergency"] = rules.detect_emergency(ctx.match, triage.policy, triage.semantic)
    found = ctx.cache["emergency"]
    if not found:
        return None
    first, rest = found.found[0], found.found[1:]
    if first.utility:
        # a public-utility line (004 第十条(一)): its guidance says how to reach it, with or without a number
        reply = first.guidance or f"请拨打{_line_label(first)}。"
        if first.dial and ctx.channel not in TEXT_CHANNELS:
            reply = f"您反映的事项由{first.name}受理，现在为您转接{_line_label(first)}，请不要挂机。"
    elif ctx.channel in TEXT_CHANNELS:
        reply = f"情况紧急！请立即拨打{_line_label(first)}电话求助，12345热线无法出警或派车。"
    else:
        reply = f"您反映的情况紧急，现在为您转接{_line_label(first)}，请不要挂机。"
    if rest and ctx.channel in TEXT_CHANNELS:
        reply += f"如有需要，也可拨打{'、'.join(_line_label(line) for line in rest)}。"
    return Outcome(
        action="transfer",
        reply=reply,
        transfer_to=found.primary,
        transfer_all=list(found.lines),
        category="help",
        urgent=True,
        basis=found.basis,
    )


def _line_label(line: EmergencyLine) -> str:
    """How a line is named to the citizen: 119消防报警, 95598供电服务热线, 供水服务热线 (no number)."""
    number = line.dial if line.utility else line.number
    return f"{number}{line.name}"


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
    hits = ctx.index.search(ctx.match, today)
    asked = ctx.units.towns_in(ctx.match)
    if asked:
        # "平等镇哪天停电" must not get 三门镇's outage notice: an entry whose question names other
        # towns only is about another place (entries that name no town hold for the whole county)
        hits = [h for h in hits if not _about_other_towns(h.entry.phrasings, asked, ctx.units)]
    decision = kb_decide(hits, triage.thresholds)
    if decision.kind == "answer" and decision.best:
        return triage.answer_outcome(decision.best, ctx)
    if decision.kind == "clarify" and category == "consult":  # a request for help is not a quiz
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


def _about_other_towns(phrasings: tuple[str, ...], asked: set[str], units: UnitCatalogue) -> bool:
    named = set().union(*(units.towns_in(p) for p in phrasings)) if phrasings else set()
    return bool(named) and named.isdisjoint(asked)


def ticket_step(triage: Triage, ctx: Context) -> Outcome:
    category = triage.category(ctx)
    filed = triage.policy.file_as.get(category)  # a kind the regulation does not name (praise)
    if filed:
        category = filed.category
    elif category not in triage.policy.categories:
        category = "help" if category != "consult" else "consult"
    urgent = triage.urgent(ctx)
    choice = ctx.units.choose(ctx.match)
    due, basis = triage.deadline(category, urgent, ctx.now)
    reply = triage.policy.ticket_reply.format(unit=choice.name, due=format_due(due))
    if filed:
        basis = "; ".join(b for b in (filed.basis, basis) if b) or None
        reply = (filed.reply or "").format(unit=choice.name) + reply
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
