"""Assembling one deployment from its settings: database, policy pack, calendar, knowledge base, pipeline.

The web app and the CLI both build a ``Hotline`` and call the same methods, so a decision made by
``hotline triage`` is the one the web API makes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import events, spool
from intake.conversations import Conversations, NotProcessed
from intake.core.config import Settings
from intake.core.db import Database, database_unavailable
from intake.core.messages import Message, Outcome
from intake.core.models import InboundMessage
from intake.core.outbox import Outbox
from intake.core.preferences import apply_command, preference_command
from intake.core.privacy import mask_phone
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
from routing.notices import CitizenNotices
from routing.surveys import Surveys
from routing.units import UnitCatalogue
from routing.workdays import WorkdayCalendar

log = logging.getLogger(__name__)

UNIT_CACHE_SECONDS = 60.0
_PHONE = re.compile(r"^\+?\d{5,15}$")
# a kept message's late reply goes out where the medium can carry one: the phone's by SMS
LATE_REPLY_CHANNEL = {"sms": "sms", "voice": "sms", "wechat": "wechat"}


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
        CitizenNotices(self.lifecycle, self.outbox).listen()
        # wrong status checks counted per number and asker, in Redis when set (all workers share them)
        self.lookups = LookupGuard(settings.redis_url, namespace=f"{settings.instance_path}:lookup")
        # messages that arrive while the database is down (shared through Redis when set)
        self.spool = spool.open_spool(
            settings.instance_path, settings.redis_url, namespace=f"{settings.instance_path}:spool"
        )
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
        """Run ``message`` through the full pipeline, with storage and conversation state.

        When the database cannot be reached the message is kept in the spool and ``Spooled`` raised,
        so the channel can say it was kept; if the spool cannot keep it either, the database's error
        stands and the channel says it was not.
        """
        try:
            outcome = self.intake.handle(message)
        except NotProcessed:
            raise  # stored, then failed: it is in the database
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            kept = spool.prepare(message, self.clock())
            self.spool.put(kept)
            log.warning(
                "database unavailable: message from %s on %s kept in the spool as %s",
                mask_phone(message.sender), message.channel, kept.ref,
            )  # fmt: skip
            raise spool.Spooled(kept.ref) from exc
        self._text_ticket_number(message, outcome)
        return outcome

    def _text_ticket_number(self, message: Message, outcome: Outcome) -> None:
        """A caller who was given a ticket number aloud also gets it by SMS (a caller ID we can text);
        queued for the worker, so the call does not wait. A retried turn queues nothing twice."""
        if message.channel != "voice" or outcome.action != "ticket" or outcome.ticket is None:
            return
        if not _PHONE.match(message.sender):
            return  # a withheld caller ID: nothing to text
        number = outcome.ticket.number
        with self.db.session() as session:
            self.outbox.enqueue(
                session, key=f"voice-ticket:{number}", channel="sms", recipient=message.sender,
                body=f"【12345热线】{outcome.reply}", ticket_number=number,
            )  # fmt: skip
            session.commit()

    def record_once(self, channel: str, ref: str, kind: str, data: dict[str, Any] | None = None) -> bool:
        """Record a platform's callback once; ``False`` for a retry of one recorded already."""
        return events.record_once(self.db, self.clock(), channel, ref, kind, data)

    def claim_reply(self, channel: str, message_id: str, how: str) -> bool:
        """Whether this worker may answer ``message_id`` ``how`` (``passive`` or ``late``)."""
        return events.claim_reply(self.db, self.clock, channel, message_id, how)

    def replay_spool(self, limit: int = 100) -> int:
        """Put the messages kept during an outage through the pipeline (the worker's ``spool`` job)."""
        return spool.replay(self.spool, self._replay_one, self._reply_late, database_unavailable, limit)

    def _replay_one(self, message: Message) -> Outcome | str:
        """The pipeline's outcome for a kept message; an SMS preference command (退订, TD…) is applied
        as the SMS channel would have applied it, and its confirmation is the reply."""
        command = preference_command(message.text) if message.channel == "sms" else None
        if command is None:
            return self.intake.handle(message)
        with self.db.session() as session:
            session.add(
                InboundMessage(
                    channel=message.channel, channel_msg_id=message.channel_msg_id, sender=message.sender,
                    text=message.text, received_at=message.received_at, status="processed",
                )
            )  # fmt: skip
            reply = apply_command(session, command, message.channel, message.sender, self.clock())
            session.commit()
        return reply

    def _reply_late(self, kept: spool.Kept, result: Outcome | str) -> None:
        """Owe the citizen the reply they could not get while the database was down.

        Keyed by the platform's message id: a message kept twice (WeChat retried it during the outage)
        is answered once.
        """
        message = kept.message
        channel = LATE_REPLY_CHANNEL.get(message.channel)
        if channel is None or (channel == "sms" and not _PHONE.match(message.sender)):
            return  # web chat and API clients read it by sending the message again with its id
        reply = result if isinstance(result, str) else result.reply
        ticket = None if isinstance(result, str) or result.ticket is None else result.ticket.number
        if not reply:
            return
        with self.db.session() as session:
            self.outbox.enqueue(
                session, key=f"late:{message.channel}:{message.channel_msg_id}", channel=channel,
                recipient=message.sender, body=f"【12345热线】{reply}" if channel == "sms" else reply,
                ticket_number=ticket,
            )  # fmt: skip
            session.commit()

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
