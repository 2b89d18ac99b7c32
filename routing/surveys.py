"""Satisfaction surveys (满意度评价): asking, reading the answer, silence, re-handling, a person's call.

When the unit replies, the citizen is asked through the channel they used: an SMS for calls and
SMS, a WeChat message for WeChat, a link (``/survey/<token>``) for the web. The pack says what the
ratings are, what silence counts as (003: 满意 after 24 hours), how often an unsatisfied ticket goes
back to its unit (002: once, within 5 days; the second rating counts) and after which 不满意 a person
calls the citizen back. Automated calls (``routing.callbacks``) ask the same survey by phone.

The person call-backs (a second 不满意, a citizen the calls never reached) wait in
``callback_requests``, the operators' queue (``queue``). An operator records the result
(``record_callback``): reached, with the rating the citizen gave, or not reached, with a note. That
closes the request (once: a request someone else finished meanwhile raises ``AlreadyDone``), adds a
``callback_result`` event to the ticket, and a rating goes through ``answer`` (source ``person``): on
the round still open it is the citizen's rating; on a round the citizen rated already it replaces that
rating (000 第十九条: the call-back asks again how satisfied they are), the earlier one kept in the
event. A person is on the phone, so a 不满意 given to them queues no further person call-back.

A citizen who sent 退订 (``contact_preferences.no_surveys``) is not asked; the pack's silence rule
then applies as for anyone who does not answer.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.core.db import Base
from intake.core.models import Ticket, TicketEvent, utcnow
from intake.core.outbox import Outbox
from intake.core.preferences import wants_surveys
from routing.lifecycle import Lifecycle, TransitionRefused
from routing.policy import Policy, Unreachable

log = logging.getLogger(__name__)

UNSATISFIED = "不满意"
# how long a survey without a silence rule stays open for an answer before it is left unanswered
OPEN_FOR = timedelta(days=7)
REPLIES = {
    "thanks": "感谢您的评价！",
    "callback": "感谢您的评价。工作人员将尽快与您联系，了解您不满意的原因。",
    "rehandle": "感谢您的评价。您的诉求已退回承办单位重新办理，办结后将再次请您评价。",
    "unsatisfied": "感谢您的评价，我们会督促承办单位改进工作。",
}


class SurveyRequest(Base):
    """One request for a rating of one ticket; a re-handled ticket is asked again (round 2)."""

    __tablename__ = "survey_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16))  # sms | wechat | web
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the web link's secret
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    # asked -> answered (by the citizen, or to an operator) | defaulted (silence, the pack's rule)
    #        | unanswered (no rule) | unreachable (calls never answered: 000 第十七条) | superseded
    status: Mapped[str] = mapped_column(String(16), default="asked", index=True)
    rating: Mapped[str | None] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None] = mapped_column()


class CallbackRequest(Base):
    """A citizen a person must call back (a second 不满意, an unreachable citizen), and the result."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
    operator: Mapped[str | None] = mapped_column(String(128))  # the staff username who called
    result: Mapped[str | None] = mapped_column(Text)  # the operator's note
    outcome: Mapped[str | None] = mapped_column(String(16))  # reached | not_reached (migration 0009)
    rating: Mapped[str | None] = mapped_column(String(16))  # what the citizen told the operator


OUTCOMES = ("reached", "not_reached")
MAX_NOTE = 500
PERSON = "person"  # ``answer``'s source for a rating given to an operator


class AlreadyDone(Exception):
    """The call-back was finished already (by another operator); nothing was changed."""

    def __init__(self, request: CallbackRequest) -> None:
        super().__init__(f"call-back {request.id} done by {request.operator} already")
        self.request = request


class InvalidResult(ValueError):
    """An operator's result that cannot be recorded as given (the message says why, in Chinese)."""


@dataclass(frozen=True)
class Verdict:
    """What a rating led to."""

    rating: str
    next_step: str  # closed | rehandle | callback
    reply: str


def ratings(policy: Policy) -> tuple[str, ...]:
    return policy.survey.rating_values


def survey_channel(ticket: Ticket) -> str:
    """Where the citizen is asked: SMS for calls and SMS, WeChat for WeChat, a link for the web."""
    return {"voice": "sms", "sms": "sms", "wechat": "wechat"}.get(ticket.channel, "web")


def question(ticket: Ticket, policy: Policy, link: str | None = None) -> str:
    """The survey text: which matter, then the ratings with their numbers."""
    options = "，".join(f"{i}{value}" for i, value in enumerate(ratings(policy), 1))
    head = f"【{policy.title}】您反映的事项（工单号{ticket.number}）已办理答复。"
    if link:
        return f"{head}请评价办理结果：{link}"
    return f"{head}请回复数字评价：{options}。回复“退订”不再接收评价短信。"


def parse_rating(text: str, policy: Policy) -> str | None:
    """A rating from a reply: its number, or its words (不满意 before 满意, as one contains the other)."""
    values = ratings(policy)
    cleaned = re.sub(r"[\s。.!！，,]", "", text)
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(values):
        return values[int(cleaned) - 1]
    for value in sorted(values, key=len, reverse=True):
        if value in cleaned and len(cleaned) <= len(value) + 4:
            return value
    return None


class Surveys:
    """Asks, records and follows up; the worker calls ``expire`` periodically."""

    def __init__(self, lifecycle: Lifecycle, outbox: Outbox, public_url: str | None = None) -> None:
        self.lifecycle = lifecycle
        self.policy = lifecycle.policy
        self.outbox = outbox
        self.public_url = public_url or ""

    def listen(self) -> None:
        """Ask for a rating whenever a unit replies (inside the reply's transaction)."""
        self.lifecycle.on("replied", lambda session, ticket, event: self.ask(session, ticket, event.at))

    # ---------------------------------------------------------------- asking

    def ask(self, session: Session, ticket: Ticket, now: datetime) -> SurveyRequest | None:
        """Ask the citizen to rate ``ticket`` (once per round); the caller commits."""
        round_ = (ticket.rehandle_count or 0) + 1  # a re-handled ticket is rated again
        previous = session.scalars(select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id)).all()
        for earlier in previous:
            if earlier.round == round_:
                return earlier  # this round was asked already
            if earlier.status == "asked":
                earlier.status = "superseded"  # rated some other way (an operator's call), or never
        channel = survey_channel(ticket)
        no_reply = self.policy.survey.no_reply
        expires = self.lifecycle.deadlines.end_of(no_reply.after, now) if no_reply else now + OPEN_FOR
        request = SurveyRequest(
            ticket_id=ticket.id, round=round_, channel=channel, recipient=ticket.sender,
            token=secrets.token_urlsafe(24), unit_code=ticket.unit_code, status="asked", asked_at=now,
            expires_at=expires,
        )  # fmt: skip
        session.add(request)
        opted_out = self._opted_out(session, ticket)
        link = f"{self.public_url}/survey/{request.token}" if channel == "web" else None
        if channel != "web" and not opted_out:
            self.outbox.enqueue(
                session, key=f"survey:{ticket.number}:{round_}", channel=channel, recipient=ticket.sender,
                body=question(ticket, self.policy, link), ticket_number=ticket.number,
            )  # fmt: skip
        data = {"round": round_, "channel": channel, "opted_out": opted_out}
        ticket.events.append(TicketEvent(kind="survey_asked", actor="system", at=now, data=data))
        session.flush()
        return request

    def _opted_out(self, session: Session, ticket: Ticket) -> bool:
        # a 退订 is kept under the channel it arrived on: the survey's, not the matter's (a caller texts it)
        return not wants_surveys(session, survey_channel(ticket), ticket.sender)

    # ---------------------------------------------------------------- answers

    def pending_for(self, session: Session, channel: str, sender: str) -> SurveyRequest | None:
        """The survey this sender was last asked and has not answered (SMS and WeChat replies)."""
        return session.scalar(
            select(SurveyRequest)
            .where(
                SurveyRequest.channel == channel,
                SurveyRequest.recipient == sender,
                SurveyRequest.status == "asked",
            )
            .order_by(SurveyRequest.asked_at.desc(), SurveyRequest.id.desc())
            .limit(1)
        )

    def by_token(self, session: Session, token: str) -> SurveyRequest | None:
        return session.scalar(select(SurveyRequest).where(SurveyRequest.token == token))

    def answer(
        self,
        session: Session,
        request: SurveyRequest,
        rating: str,
        now: datetime,
        source: str = "citizen",
        actor: str | None = None,
    ) -> Verdict:
        """Record ``rating`` and do what the pack says follows; the caller commits.

        ``source``: ``citizen`` (their own answer), ``person`` (told to an operator), or a rule
        (``no_reply``, ``unreachable``) that counts silence as a rating."""
        if rating not in ratings(self.policy):
            raise ValueError(f"{rating!r} is not a rating of this hotline")
        ticket = session.get(Ticket, request.ticket_id)
        request.rating = rating
        request.status = "answered" if source in ("citizen", PERSON) else "defaulted"
        request.answered_at = now
        try:
            self.lifecycle.record_rating(
                session, ticket, rating=rating, actor=actor or source, by=source, now=now
            )
        except TransitionRefused as refused:  # the office closed it meanwhile: the rating still counts
            log.info("rating of %s kept on its survey only: %s", ticket.number, refused)
            return Verdict(rating, "closed", REPLIES["thanks"])
        if rating != UNSATISFIED:
            self._close(session, ticket, now)
            return Verdict(rating, "closed", REPLIES["thanks"])
        return self._unsatisfied(session, ticket, request, now, by_person=source == PERSON)

    def _unsatisfied(
        self, session: Session, ticket: Ticket, request: SurveyRequest, now: datetime, by_person: bool
    ) -> Verdict:
        survey = self.policy.survey
        unsatisfied = session.scalars(
            select(SurveyRequest).where(
                SurveyRequest.ticket_id == ticket.id, SurveyRequest.rating == UNSATISFIED
            )
        ).all()
        follow = survey.person_follow_up
        if follow and len(unsatisfied) >= follow.after_unsatisfied and not by_person:
            session.add(
                CallbackRequest(
                    ticket_id=ticket.id, reason=f"第{len(unsatisfied)}次不满意", basis=follow.basis,
                    created_at=now,
                )
            )  # fmt: skip
            ticket.events.append(
                TicketEvent(kind="callback_queued", actor="system", at=now, data={"basis": follow.basis})
            )
            if not self._may_rehandle(session, ticket):
                self._close(session, ticket, now)
            else:
                self._rehandle(session, ticket, now)
            return Verdict(
                UNSATISFIED, "callback", "感谢您的评价。工作人员将尽快与您联系，了解您不满意的原因。"
            )
        if self._may_rehandle(session, ticket):
            self._rehandle(session, ticket, now)
            return Verdict(
                UNSATISFIED,
                "rehandle",
                "感谢您的评价。您的诉求已退回承办单位重新办理，办结后将再次请您评价。",
            )
        self._close(session, ticket, now)
        return Verdict(UNSATISFIED, "closed", REPLIES["unsatisfied"])

    def _may_rehandle(self, session: Session, ticket: Ticket) -> bool:
        return self.lifecycle.rehandle_refusal(ticket) is None

    def _rehandle(self, session: Session, ticket: Ticket, now: datetime) -> None:
        self.lifecycle.rehandle(session, ticket, actor="system:survey", reason="诉求人不满意", now=now)

    def _close(self, session: Session, ticket: Ticket, now: datetime) -> None:
        self.lifecycle.close(session, ticket, actor="system:survey", now=now)

    # ---------------------------------------------------------------- silence

    def expire(self, session: Session, now: datetime, limit: int = 100) -> int:
        """Apply the pack's silence rule to surveys past their time; returns how many were settled."""
        due = session.scalars(
            select(SurveyRequest)
            .where(SurveyRequest.status == "asked", SurveyRequest.expires_at <= now)
            .order_by(SurveyRequest.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        no_reply = self.policy.survey.no_reply
        for request in due:
            if no_reply:
                self.answer(session, request, no_reply.rating, now, source="no_reply")
            else:
                request.status = "unanswered"
                ticket = session.get(Ticket, request.ticket_id)
                ticket.events.append(
                    TicketEvent(
                        kind="survey_unanswered", actor="system", at=now, data={"round": request.round}
                    )
                )
        return len(due)

    def unreachable(
        self, session: Session, request: SurveyRequest, now: datetime, rule: Unreachable, contacts: list[str]
    ) -> None:
        """A citizen the call-backs never reached counts as the pack says (000 第十七条: 视为已答复, the
        survey settled without a rating and the ticket closed); every contact time joins the event."""
        ticket = session.get(Ticket, request.ticket_id)
        data = {"survey": request.id, "round": request.round, "days": rule.days,
                "counts_as": rule.counts_as, "basis": rule.basis, "contacts": contacts}  # fmt: skip
        ticket.events.append(TicketEvent(kind="callback_unreachable", actor="system", at=now, data=data))
        if rule.counts_as != "replied":
            self.answer(session, request, rule.counts_as, now, source="unreachable")
            return
        request.status = "unreachable"
        request.answered_at = now
        if ticket.status in ("replied", "reviewed", "surveyed"):
            self._close(session, ticket, now)

    # ---------------------------------------------------------------- the operators' queue

    def queue(self, session: Session, limit: int = 200) -> list[tuple[CallbackRequest, Ticket]]:
        """The open person call-backs, oldest first, each with its ticket."""
        return [
            (callback, ticket)
            for callback, ticket in session.execute(
                select(CallbackRequest, Ticket)
                .join(Ticket, Ticket.id == CallbackRequest.ticket_id)
                .where(CallbackRequest.status == "open")
                .order_by(CallbackRequest.created_at, CallbackRequest.id)
                .limit(limit)
            ).all()
        ]

    def record_callback(
        self,
        session: Session,
        callback_id: int,
        *,
        operator: str,
        outcome: str,
        rating: str | None,
        note: str,
        now: datetime,
    ) -> CallbackRequest:
        """An operator's result for one call-back: closes it, adds ``callback_result``, and a rating
        goes through ``answer``; the caller commits. ``AlreadyDone`` when it was finished meanwhile,
        ``InvalidResult`` for a result that cannot be recorded, ``LookupError`` for no such call-back."""
        note = (note or "").strip()
        rating = rating or None
        if outcome not in OUTCOMES:
            raise InvalidResult("请选择是否联系上诉求人")
        if outcome == "reached" and rating is not None and rating not in ratings(self.policy):
            raise InvalidResult(f"评价应为 {' / '.join(ratings(self.policy))} 之一")
        if outcome == "not_reached" and rating is not None:
            raise InvalidResult("未联系上诉求人，不能记录评价")
        if outcome == "reached" and rating is None and not note:
            raise InvalidResult("联系上但未评价时，请填写情况说明")
        if outcome == "not_reached" and not note:
            raise InvalidResult("请说明未联系上的情况（如关机、空号、无人接听）")
        if len(note) > MAX_NOTE:
            raise InvalidResult(f"情况说明不超过{MAX_NOTE}字")
        callback = session.get(CallbackRequest, callback_id)
        if callback is None:
            raise LookupError(callback_id)
        survey = None
        if rating is not None:
            survey = session.scalar(
                select(SurveyRequest)
                .where(SurveyRequest.ticket_id == callback.ticket_id, SurveyRequest.status != "superseded")
                .order_by(SurveyRequest.round.desc(), SurveyRequest.id.desc())
                .limit(1)
            )
            if survey is None:
                raise InvalidResult("该工单没有满意度评价记录，不能记录评价")
        # Only the first of two operators saving at once changes the row; the second sees 0 rows.
        done = session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id, CallbackRequest.status == "open")
            .values(status="done", done_at=now, operator=operator, outcome=outcome, rating=rating,
                    result=note or None)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if done.rowcount != 1:
            session.rollback()
            raise AlreadyDone(session.get(CallbackRequest, callback_id))
        session.refresh(callback)
        ticket = session.get(Ticket, callback.ticket_id)
        data: dict[str, object] = {"callback": callback.id, "reason": callback.reason, "outcome": outcome,
                                   "rating": rating, "note": note or None}  # fmt: skip
        if survey is not None and rating is not None:
            data |= {"survey": survey.id, "previous_rating": survey.rating}
            verdict = self.answer(session, survey, rating, now, source=PERSON, actor=f"staff:{operator}")
            data["next_step"] = verdict.next_step
        ticket.events.append(
            TicketEvent(kind="callback_result", actor=f"staff:{operator}", at=now, data=data)
        )
        session.flush()
        return callback
