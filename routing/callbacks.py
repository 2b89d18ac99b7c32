"""Satisfaction call-backs by phone (电话回访): which surveys get a call, when, how often, and what then.

The rule, kept simple (the numbers are the pack's ``survey.calls``; ``common.yaml`` holds the
deployment's defaults, since no shipped regulation sets calling hours):

- A survey (``SurveyRequest`` still ``asked``) is **due a call** when the citizen has a real phone
  number (not a withheld caller ID) and: the ticket came by phone (called at once, alongside the survey
  SMS); or the citizen asked for calls (``prefers_calls``: an SMS "电话回访", honoured even after an
  earlier 退订); or the ticket came by SMS, the pack has ``survey.callback_within`` (000 第十九条, 001
  第二十二条(二)) and the SMS has gone unanswered for ``calls.after_sms``. Nobody whose last word was
  退订 is called.
- Calls are placed only inside ``calls.hours`` (local time, any day): not at night, not at lunch.
- An attempt that ends unanswered (no answer, busy, failed, cancelled, or answered but no rating
  given) is retried after ``calls.retry_after``, up to ``calls.attempts`` (and ``calls.per_day`` on one
  local day). When the last one ends unanswered: a citizen never reached on ``calls.unreachable.days``
  consecutive days counts as the pack says (000 第十七条: 视为已答复, the survey settled without a rating
  and the ticket closed); else the pack's silence rule applies at once (003: 满意,
  ``Surveys.answer(source="no_reply")``); else a ``CallbackRequest`` ("电话回访未接通") is queued for a
  person and the survey stays open for an SMS answer.

State lives on the ticket as events (``callback_call_placed``, ``callback_call_status``,
``callback_answered``, ``callback_reason``, ``callback_recording``) and in ``channel_events``, whose
unique (channel, ref, kind) makes every webhook count once: an attempt is claimed there before the call
is placed (two workers never dial the same attempt), and each status, rating, reason and recording is
recorded there under its CallSid (or RecordingSid). A retried webhook hits the unique key, the caller
rolls back and nothing is recorded twice. A claim whose worker died before the call was placed (no
``callback_call_placed`` for it after ``CLAIM_LEASE``) is taken over by the next worker, again through
the unique key, so exactly one of several workers re-claims it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.models import ChannelEvent, Ticket, TicketEvent
from intake.core.preferences import prefers_calls, wants_surveys
from intake.core.tickets import PHONE_CHANNELS, citizen_phone
from routing.deadlines import aware, in_hours, span
from routing.policy import Calls
from routing.redaction import HIDDEN, redact
from routing.surveys import UNSATISFIED, CallbackRequest, SurveyRequest, Surveys, Verdict, parse_rating

log = logging.getLogger(__name__)

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
# statuses that mean somebody picked up: such a citizen was reached, even without a rating
PICKED_UP = ("in-progress", "completed")
UNREACHABLE = "电话回访未接通"
CHANNEL = "callback"  # ``channel_events.channel`` of everything here
MAX_REASON = 500
# A claimed attempt with no call placed after this long had a worker that died before dialling; far
# longer than the REST call's own timeout, so a slow worker is never taken for a dead one.
CLAIM_LEASE = timedelta(minutes=10)


def longest_run(days: set[date]) -> int:
    """The most consecutive calendar days in ``days``."""
    best = run = 0
    previous = None
    for day in sorted(days):
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        best, previous = max(best, run), day
    return best


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


class CallBacks:
    """The call-back rules over the surveys; the channel places the calls and renders what they say."""

    def __init__(self, surveys: Surveys, tz: ZoneInfo, calls: Calls | None = None) -> None:
        self.surveys = surveys
        self.policy = surveys.policy
        self.tz = tz
        self.calls = calls or self.policy.survey.calls

    def may_call(self, now: datetime) -> bool:
        return in_hours(now, self.tz, self.calls.hours)

    # ---------------------------------------------------------------- placing

    def wants_call(self, session: Session, request: SurveyRequest, ticket: Ticket, now: datetime) -> bool:
        """Whether this survey is one the rule above calls about (attempts aside)."""
        if request.status != "asked" or citizen_phone(ticket) is None:
            return False
        # a wish for calls (电话回访) is kept with the phone's SMS address, like 退订, and is newer than
        # any 退订 (which clears it)
        if prefers_calls(session, "sms", request.recipient):
            return True
        if not wants_surveys(session, "sms", request.recipient):
            return False
        if ticket.channel == "voice":
            return True
        waited = now - aware(request.asked_at, self.tz) >= span(self.calls.after_sms)
        return ticket.channel == "sms" and self.policy.survey.callback_within is not None and waited

    def next_attempt(self, request: SurveyRequest, ticket: Ticket, now: datetime) -> int | None:
        """The number of the attempt due now, or None (all made, today's made, or the last too recent)."""
        placed = _placed(ticket, request.id)
        if len(placed) >= self.calls.attempts:
            return None
        if placed and now - aware(placed[-1].at, self.tz) < span(self.calls.retry_after):
            return None
        if self.calls.per_day:
            today = now.astimezone(self.tz).date()
            if sum(aware(e.at, self.tz).date() == today for e in placed) >= self.calls.per_day:
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
        """Claim the attempt before dialling; ``Duplicate`` (rolled back) when another worker has it.

        A claim is a ``channel_events`` row ``attempt:<n>``; one left ``CLAIM_LEASE`` without its call
        placed is taken over with a new row ``attempt:<n>:<k>``, whose unique key again lets only one
        worker win."""
        ref, kind = f"survey:{due.request.id}", f"attempt:{due.attempt}"
        claims = session.scalars(
            select(ChannelEvent)
            .where(ChannelEvent.channel == CHANNEL, ChannelEvent.ref == ref)
            .where((ChannelEvent.kind == kind) | ChannelEvent.kind.startswith(f"{kind}:"))
        ).all()
        if claims:
            latest = max(aware(c.at, self.tz) for c in claims)
            placed = any(e.data.get("attempt") == due.attempt for e in _placed(due.ticket, due.request.id))
            if placed or now - latest < CLAIM_LEASE:
                raise Duplicate(f"{ref} {kind} is claimed")
            log.warning("call-back %s %s claimed at %s but never placed: claimed again", ref, kind, latest)
            kind = f"{kind}:{len(claims)}"
        session.add(ChannelEvent(channel=CHANNEL, ref=ref, kind=kind, at=now, data={}))
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

    def unreachable_days(self, ticket: Ticket, survey_id: int) -> int:
        """On how many consecutive days this survey's calls all went unanswered (0 once anyone picked up)."""
        statuses = [e.data for e in ticket.events if e.kind == "callback_call_status"]
        if any(d.get("survey") == survey_id and d.get("status") in PICKED_UP for d in statuses):
            return 0
        return longest_run({aware(e.at, self.tz).date() for e in _placed(ticket, survey_id)})

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
        if attempt < self.calls.attempts:
            return "retry"
        gone = self.calls.unreachable
        no_reply = self.policy.survey.no_reply
        if gone and self.unreachable_days(ticket, request.id) >= gone.days:
            contacts = [aware(e.at, self.tz).isoformat() for e in _placed(ticket, request.id)]
            self.surveys.unreachable(session, request, now, gone, contacts)
        elif no_reply:
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

    def recording(
        self,
        session: Session,
        request: SurveyRequest,
        call_sid: str,
        *,
        recording_sid: str,
        url: str,
        seconds: int | None,
        now: datetime,
    ) -> bool:
        """A recorded reason for a 不满意 joins the ticket once, by its address (the recording stays at
        Twilio); both the ``<Record>`` action and its status callback bring it, whichever comes first."""
        rated = self._stored(session, call_sid, "rating")
        if rated is None or rated.data.get("rating") != UNSATISFIED or not url.startswith("https://"):
            return False
        session.add(ChannelEvent(channel=CHANNEL, ref=recording_sid, kind="recording", at=now,
                                 data={"call_sid": call_sid}))  # fmt: skip
        _flush_once(session)
        ticket = session.get(Ticket, request.ticket_id)
        ticket.events.append(
            TicketEvent(kind="callback_recording", actor="citizen", at=now,
                        data={"survey": request.id, "call_sid": call_sid, "recording_sid": recording_sid,
                              "url": url, "seconds": seconds})
        )  # fmt: skip
        session.flush()
        return True

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
    without phone, ID or door numbers (``routing.redaction.redact``)."""
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
