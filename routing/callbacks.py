"""Satisfaction call-backs by phone (电话回访): which surveys get a call, when, how often, and what then.

The rule, kept simple:

- A survey (``SurveyRequest`` still ``asked``) is **due a call** when its ticket came by phone (the
  citizen is called at once, alongside the survey SMS), or when it came by SMS, the pack has
  ``survey.callback_within`` (000 第十九条, 001 第二十二条(二)) and the SMS has gone unanswered for
  ``SMS_GRACE``. Only a real phone number is called (not a withheld caller ID), and never someone
  who sent 退订.
- Calls are placed only inside ``CALLING_HOURS`` (local time, any day): not at night, not at lunch.
- An attempt that ends unanswered (no answer, busy, failed, cancelled, or answered but no rating
  given) is retried after ``RETRY_AFTER``, up to ``MAX_ATTEMPTS`` attempts. When the last one ends
  unanswered the pack's silence rule applies at once (003: 满意, ``Surveys.answer(source="no_reply")``);
  a pack without one queues a ``CallbackRequest`` for a person ("电话回访未接通") and the survey stays
  open for an SMS answer.

State lives on the ticket as events (``callback_call_placed``, ``callback_call_status``,
``callback_answered``, ``callback_reason``) and in ``channel_events``, whose unique
(channel, ref, kind) makes every webhook count once: an attempt is claimed there before the call is
placed (two workers never dial the same attempt), and each status, rating and reason of a call is
recorded there under its CallSid. A retried webhook hits the unique key, the caller rolls back and
nothing is recorded twice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.models import ChannelEvent, Ticket, TicketEvent
from intake.preferences import wants_surveys
from intake.tickets import PHONE_CHANNELS, citizen_phone
from routing.lifecycle import HIDDEN, redact
from routing.surveys import UNSATISFIED, CallbackRequest, SurveyRequest, Surveys, Verdict, parse_rating

log = logging.getLogger(__name__)

# Local times calls may be placed, any day of the week (start inclusive, end exclusive).
CALLING_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(14), time(20)))
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(hours=2)
# how long an SMS survey waits for an answer before a pack with ``callback_within`` calls instead
SMS_GRACE = timedelta(days=1)
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
UNREACHABLE = "电话回访未接通"
CHANNEL = "callback"  # ``channel_events.channel`` of everything here
MAX_REASON = 500


def in_calling_hours(
    moment: datetime, tz: ZoneInfo, hours: tuple[tuple[time, time], ...] = CALLING_HOURS
) -> bool:
    """Whether ``moment`` falls inside the calling hours, read in the hotline's time zone."""
    local = moment.astimezone(tz).time()
    return any(start <= local < end for start, end in hours)


class Duplicate(Exception):
    """This webhook (or this attempt) was recorded already."""


@dataclass(frozen=True)
class Due:
    """A survey to call about, and which attempt this call is."""

    request: SurveyRequest
    ticket: Ticket
    attempt: int


def _placed(ticket: Ticket, survey_id: int) -> list[TicketEvent]:
    return [
        e for e in ticket.events if e.kind == "callback_call_placed" and e.data.get("survey") == survey_id
    ]


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    # SQLite gives naive datetimes back (stored as UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)


class CallBacks:
    """The call-back rules over the surveys; the channel places the calls and renders what they say."""

    def __init__(
        self,
        surveys: Surveys,
        tz: ZoneInfo,
        *,
        hours: tuple[tuple[time, time], ...] = CALLING_HOURS,
        max_attempts: int = MAX_ATTEMPTS,
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self.surveys = surveys
        self.policy = surveys.policy
        self.tz = tz
        self.hours = hours
        self.max_attempts = max_attempts
        self.retry_after = retry_after

    def may_call(self, now: datetime) -> bool:
        return in_calling_hours(now, self.tz, self.hours)

    # ---------------------------------------------------------------- placing

    def wants_call(self, session: Session, request: SurveyRequest, ticket: Ticket, now: datetime) -> bool:
        """Whether this survey is one the rule above calls about (attempts aside)."""
        if request.status != "asked" or citizen_phone(ticket) is None:
            return False
        if not wants_surveys(session, "sms", request.recipient):
            return False
        if ticket.channel == "voice":
            return True
        waited = now - _aware(request.asked_at, self.tz) >= SMS_GRACE
        return ticket.channel == "sms" and self.policy.survey.callback_within is not None and waited

    def next_attempt(self, request: SurveyRequest, ticket: Ticket, now: datetime) -> int | None:
        """The number of the attempt due now, or None (all made, or the last one too recent)."""
        placed = _placed(ticket, request.id)
        if len(placed) >= self.max_attempts:
            return None
        if placed and now - _aware(placed[-1].at, self.tz) < self.retry_after:
            return None
        return len(placed) + 1

    def due(self, session: Session, now: datetime, limit: int = 10) -> list[Due]:
        """Surveys due a call now (none outside calling hours), oldest first."""
        if not self.may_call(now):
            return []
        candidates = session.execute(
            select(SurveyRequest, Ticket)
            .join(Ticket, Ticket.id == SurveyRequest.ticket_id)
            .where(SurveyRequest.status == "asked", Ticket.channel.in_(PHONE_CHANNELS))
            .order_by(SurveyRequest.asked_at, SurveyRequest.id)
        ).all()
        due: list[Due] = []
        for request, ticket in candidates:
            if len(due) >= limit:
                break
            if not self.wants_call(session, request, ticket, now):
                continue
            attempt = self.next_attempt(request, ticket, now)
            if attempt is not None:
                due.append(Due(request, ticket, attempt))
        return due

    def claim(self, session: Session, due: Due, now: datetime) -> None:
        """Claim the attempt before dialling; ``Duplicate`` (rolled back) when another worker has it."""
        session.add(
            ChannelEvent(
                channel=CHANNEL, ref=f"survey:{due.request.id}", kind=f"attempt:{due.attempt}", at=now
            )
        )
        _flush_once(session)

    def placed(
        self, session: Session, due: Due, now: datetime, *, call_sid: str | None, error: str | None = None
    ) -> None:
        """Record an attempt; one that could not even be placed (``error``) ends at once as failed."""
        data = {"survey": due.request.id, "round": due.request.round, "attempt": due.attempt,
                "call_sid": call_sid, "error": error}  # fmt: skip
        due.ticket.events.append(TicketEvent(kind="callback_call_placed", actor="system", at=now, data=data))
        if error is not None:
            self._ended(session, due.request, due.ticket, due.attempt, "failed", now)
        session.flush()

    # ---------------------------------------------------------------- the call's webhooks

    def attempt_of(self, ticket: Ticket, survey_id: int, call_sid: str) -> int | None:
        """Which attempt ``call_sid`` was, or None when we never placed it for this survey."""
        for event in _placed(ticket, survey_id):
            if event.data.get("call_sid") == call_sid:
                return int(event.data["attempt"])
        return None

    def call_status(
        self, session: Session, request: SurveyRequest, call_sid: str, status: str, now: datetime
    ) -> str:
        """Record a call's status once; an unanswered last attempt brings in the fallback.

        Returns ``unknown`` (not our call), ``recorded``, ``retry`` or ``fallback``; raises
        ``Duplicate`` for a retried webhook (the caller rolls back)."""
        ticket = session.get(Ticket, request.ticket_id)
        attempt = self.attempt_of(ticket, request.id, call_sid)
        if attempt is None:
            return "unknown"
        session.add(ChannelEvent(channel=CHANNEL, ref=call_sid, kind=f"status:{status}", at=now,
                                 data={"survey": request.id, "attempt": attempt}))  # fmt: skip
        _flush_once(session)
        data = {"survey": request.id, "attempt": attempt, "call_sid": call_sid, "status": status}
        ticket.events.append(TicketEvent(kind="callback_call_status", actor="twilio", at=now, data=data))
        if status not in FINAL:
            session.flush()
            return "recorded"
        result = self._ended(session, request, ticket, attempt, status, now)
        session.flush()
        return result

    def _ended(
        self,
        session: Session,
        request: SurveyRequest,
        ticket: Ticket,
        attempt: int,
        status: str,
        now: datetime,
    ) -> str:
        if request.status != "asked":
            return "recorded"  # rated during the call, or some other way meanwhile
        if attempt < self.max_attempts:
            return "retry"
        no_reply = self.policy.survey.no_reply
        if no_reply:
            self.surveys.answer(session, request, no_reply.rating, now, source="no_reply")
        else:
            basis = self.policy.survey.callback_within
            session.add(CallbackRequest(ticket_id=ticket.id, reason=UNREACHABLE,
                                        basis=basis.basis if basis else None, created_at=now))  # fmt: skip
            ticket.events.append(
                TicketEvent(kind="callback_queued", actor="system", at=now,
                            data={"reason": UNREACHABLE, "attempts": attempt, "last_status": status})
            )  # fmt: skip
        log.info("call-back of %s unanswered %d times: fallback applied", ticket.number, attempt)
        return "fallback"

    def rate(
        self, session: Session, request: SurveyRequest, call_sid: str, said: str, now: datetime, how: str
    ) -> Verdict | None:
        """The rating given on the call (keys or speech); None when it reads as no rating.

        A retried webhook gets the verdict stored the first time; a survey rated some other way
        meanwhile gets a plain thanks and is left as it is."""
        stored = self._stored(session, call_sid, "rating")
        if stored is not None:
            return Verdict(**stored.data)
        rating = parse_rating(said, self.policy)
        if rating is None:
            return None
        ticket = session.get(Ticket, request.ticket_id)
        if request.status != "asked":
            verdict = Verdict(request.rating or rating, "closed", "感谢您的评价！")
        else:
            verdict = self.surveys.answer(session, request, rating, now)
        data = {"rating": verdict.rating, "next_step": verdict.next_step, "reply": verdict.reply}
        session.add(ChannelEvent(channel=CHANNEL, ref=call_sid, kind="rating", at=now, data=data))
        _flush_once(session)
        ticket.events.append(
            TicketEvent(kind="callback_answered", actor="citizen", at=now,
                        data={"survey": request.id, "call_sid": call_sid, "rating": rating, "input": how})
        )  # fmt: skip
        session.flush()
        return verdict

    def reason(
        self, session: Session, request: SurveyRequest, call_sid: str, text: str, now: datetime
    ) -> None:
        """The reason for a 不满意, said on the call, joins the ticket once."""
        text = text.strip()[:MAX_REASON]
        rated = self._stored(session, call_sid, "rating")
        if not text or rated is None or rated.data.get("rating") != UNSATISFIED:
            return
        session.add(ChannelEvent(channel=CHANNEL, ref=call_sid, kind="reason", at=now))
        _flush_once(session)
        ticket = session.get(Ticket, request.ticket_id)
        ticket.events.append(
            TicketEvent(kind="callback_reason", actor="citizen", at=now,
                        data={"survey": request.id, "call_sid": call_sid, "text": text})
        )  # fmt: skip
        session.flush()

    def _stored(self, session: Session, call_sid: str, kind: str) -> ChannelEvent | None:
        return session.scalar(
            select(ChannelEvent).where(
                ChannelEvent.channel == CHANNEL, ChannelEvent.ref == call_sid, ChannelEvent.kind == kind
            )
        )


def _flush_once(session: Session) -> None:
    """Flush the ``ChannelEvent`` just added; its unique key taken means this was done already."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Duplicate(str(exc.orig)) from exc


def summary(ticket: Ticket, limit: int = 30) -> str | None:
    """One line about the matter for the call (None for a confidential ticket): its first sentence,
    without phone, ID or door numbers (``routing.lifecycle.redact``)."""
    if ticket.confidential:
        return None
    # a door or phone number reads as 某 rather than as a bracketed notice
    text = (redact(ticket.text) or "").replace(HIDDEN, "某")
    first = re.split(r"[。！？!?\n]", text.strip(), maxsplit=1)[0]
    return first[:limit].rstrip("，,；;：:") or None


def reply_in_short(ticket: Ticket, limit: int = 80) -> str | None:
    """The unit's reply (its result) cut to what a call can read out."""
    result = ((ticket.reply or {}).get("result") or "").strip().rstrip("。.")
    if not result:
        return None
    return result if len(result) <= limit else result[:limit].rstrip("，,；;") + "……"
