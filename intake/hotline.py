"""Assembling one deployment from its settings: database, policy pack, calendar, knowledge base, pipeline.

The web app and the CLI both build a ``Hotline`` and call the same methods, so a decision made by
``hotline triage`` is the one the web API makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.conversations import Conversations
from intake.core.config import Settings
from intake.core.db import Database
from intake.core.messages import Message, Outcome
from intake.core.outbox import Outbox
from intake.core.text import normalize
from intake.lookups import LookupGuard, guarded
from intake.status import TicketStatus, look_up
from intake.triage import Triage
from kb.encoders import Encoder, get_encoder
from kb.models import KbEntry, current_revision
from kb.search import KnowledgeBase
from routing import policy as policies
from routing.classifier import CategoryClassifier
from routing.emergency import shared_detector
from routing.lifecycle import Lifecycle
from routing.surveys import Surveys
from routing.units import UnitCatalogue
from routing.workdays import WorkdayCalendar

UNIT_CACHE_SECONDS = 60.0


def _cosine(encoder: Encoder) -> Callable[[str, str], float]:
    def similarity(a: str, b: str) -> float:
        first, second = encoder.encode([a, b])
        return float(first @ second)

    return similarity


@dataclass(frozen=True)
class KbResult:
    id: str
    question: str
    answer: str
    unit: str
    unit_name: str | None
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Hotline:
    """Everything one deployment needs to take messages, built once at start."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.db = Database(settings.database_url)
        self.policy = policies.load(settings.policy)
        self.calendar = WorkdayCalendar(self.policy.holidays)
        encoder = self.encoder = get_encoder(settings.kb_model)
        self.triage = Triage(
            self.policy,
            self.calendar,
            settings.timezone,
            max_text=settings.max_text,
            semantic=shared_detector(encoder),
            classifier=CategoryClassifier.for_encoder(encoder, settings.instance_path),
        )
        self.kb = KnowledgeBase(
            lambda text: normalize(text, settings.max_text).match,
            encoder=encoder,
            cache_dir=settings.instance_path / "kb-index",
        )
        self._units: tuple[float, UnitCatalogue] | None = None
        self._units_lock = threading.Lock()
        self.outbox = Outbox(self.db, self.clock)
        self.lifecycle = Lifecycle(self.db, self.policy, self.calendar, settings.timezone, self.clock)
        self.surveys = Surveys(self.lifecycle, self.outbox, public_url=settings.public_url)
        self.surveys.listen()
        # wrong status checks counted per number and asker, in Redis when set (all workers share them)
        self.lookups = LookupGuard(settings.redis_url, namespace=f"{settings.instance_path}:lookup")
        self.intake = Conversations(
            self.db, self.triage, self.kb, self.units, clock=self.clock, similarity=_cosine(encoder),
            surveys=self.surveys, lookups=self.lookups,
        )  # fmt: skip

    def units(self, session: Session) -> UnitCatalogue:
        """The unit catalogue, re-read from the database at most once a minute."""
        cached = self._units
        if cached and time.monotonic() - cached[0] < UNIT_CACHE_SECONDS:
            return cached[1]
        with self._units_lock:
            catalogue = UnitCatalogue.from_session(session)
            self._units = (time.monotonic(), catalogue)
        return catalogue

    def forget_units(self) -> None:
        self._units = None

    def warm_up(self) -> None:
        """Build the search index now, so the first caller after a deploy does not wait for it."""
        with self.db.session() as session:
            self.kb.refresh(session)
            self.units(session)

    def decide(self, text: str, channel: str = "api") -> Outcome:
        """Decide on ``text`` without storing anything (``hotline triage``, ``/api/v1/triage``)."""
        with self.db.session() as session:
            index = self.kb.refresh(session)
            units = self.units(session)
        return self.triage.decide(text, now=self.clock(), index=index, units=units, channel=channel)

    def today(self) -> date:
        """Today's date in the hotline's time zone (validity windows, review dates, periods)."""
        return self.clock().astimezone(self.settings.timezone).date()

    def search_kb(self, query: str, limit: int = 5) -> list[KbResult]:
        """Public look-up: entries valid today for ``query``, best first (004 第二十二条)."""
        text = normalize(query, self.settings.max_text).match
        today = self.today()
        with self.db.session() as session:
            index = self.kb.refresh(session)
            units = self.units(session)
        hits = index.search(text, today, limit=limit)
        shown = [h for h in hits if h.score >= self.triage.thresholds.clarify]
        return [
            KbResult(e.public_id, e.question, e.answer, e.unit, units.name(e.unit), round(h.score, 4))
            for h in shown
            for e in (h.entry,)
        ]

    def handle(self, message: Message) -> Outcome:
        """Run ``message`` through the full pipeline, with storage and conversation state."""
        return self.intake.handle(message)

    def ticket_status(
        self,
        number: str,
        *,
        check: str | None = None,
        channel: str | None = None,
        sender: str | None = None,
        address: str | None = None,
    ) -> TicketStatus | None:
        """A ticket's status for someone who proves it is theirs, else ``None`` (as for an unknown number).

        Wrong checks are limited per number and per asker (``intake.lookups``); every look-up is recorded.
        """
        with self.db.session() as session:
            units = self.units(session)
            found = guarded(
                self.lookups, session, self.clock(), number, channel=channel, sender=sender, address=address,
                check=check,
                look=lambda digits: look_up(
                    session, number, channel=channel, sender=sender, check=digits, unit_name=units.name
                ),
            )  # fmt: skip
            session.commit()
            return found  # type: ignore[return-value]

    def health(self) -> dict[str, Any]:
        """Database status, knowledge-entry count and the active policy."""
        report: dict[str, Any] = {"policy": self.policy.name, "jurisdiction": self.policy.jurisdiction}
        try:
            with self.db.session() as session:
                published = session.scalar(
                    select(func.count()).select_from(KbEntry).where(KbEntry.status == "published")
                )
                report["database"] = {
                    "ok": True,
                    "backend": self.db.engine.dialect.name,
                    "schema": self.db.current_revision(),
                }
                report["kb"] = {"entries": published, "revision": current_revision(session)}
        except Exception as exc:  # the health check reports, it does not fail
            report["database"] = {
                "ok": False,
                "backend": self.db.engine.dialect.name,
                "error": type(exc).__name__,
            }
            report["kb"] = {"entries": None, "revision": None}
        year = self.clock().astimezone(self.settings.timezone).year
        calendar = {str(y): self.calendar.source_for(y) for y in (year, year + 1)}
        report["calendar"] = calendar
        warnings = [
            f"no holiday calendar for {y}: deadlines counted Monday to Friday"
            for y, source in calendar.items()
            if source == "weekdays"
        ]
        report["warnings"] = warnings
        # statutory days by rule are right; only a year's make-up working days (调休) are unknown
        report["notices"] = [
            f"{y}: statutory holidays from the holidays package; add the State Council's 调休 days "
            "to the pack's holidays section once published"
            for y, source in calendar.items()
            if source == "holidays"
        ]
        report["status"] = "ok" if report["database"]["ok"] else "degraded"
        return report
