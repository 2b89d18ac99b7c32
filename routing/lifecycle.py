"""A dispatched ticket's life with its unit, as the regulations describe it, one transition at a time.

::

    registered ─dispatch─▶ dispatched ─sign─▶ signed ─reply─▶ replied ─review─▶ reviewed
    reviewed ─record_rating─▶ surveyed ─close─▶ closed
    dispatched | signed ─request_return─▶ returned ─approve_return─▶ dispatched (to another unit)
                                                   ─refuse_return─▶ back where it was
    signed | extended ─request_extension─▶ extension_requested ─approve_extension─▶ extended
                                                               ─refuse_extension─▶ back where it was
    extension_requested | extended | rehandling ─reply─▶ replied (a pending extension lapses)
    replied ─review (refused)─▶ signed | rehandling
    replied | reviewed | surveyed | closed ─rehandle─▶ rehandling ─reply─▶ replied …

Each transition is a method of ``Lifecycle`` that checks the ticket's state and the pack's limits,
changes the ticket, appends a ``TicketEvent`` (kind, actor, at, data) and returns it (an approved
return also appends the new ``dispatched``); the caller commits. What the pack does not allow raises
``TransitionRefused`` with a Chinese reason naming the article (a return after
``handling.return_within``, a third extension under 002 第十三条, an extension of an urgent ticket
where ``excludes_urgent``, a second re-handling under 002 第十八条). Bad input from a unit (a reply
without its handler) raises ``InvalidInput`` naming the field.

Every dispatch (the first, a re-dispatch after a return, a re-handling) raises the ticket's
``version`` and owes the unit a notice through ``routing.handoff`` in the same transaction, keyed
``number:version``. Tickets the intake pipeline dispatched are picked up by ``hand_off_new``.

Listeners registered with ``Lifecycle.on(kind, fn)`` run inside the transition's transaction, after
the event is appended: the survey hooks ``replied`` there, so the survey is owed exactly when the
reply is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.dates import describe_moment, local_iso
from intake.core.db import Database
from intake.core.models import Ticket, TicketEvent, Unit
from intake.core.tickets import citizen_phone
from intake.core.vocabulary import STAGES
from routing.deadlines import Deadlines, describe_limit
from routing.handoff import Handoff, HandoffReport, incident
from routing.policy import Policy
from routing.redaction import contact_shown, redact, unit_facts
from routing.replies import InvalidInput, Reply, parse_moment
from routing.workdays import WorkdayCalendar

log = logging.getLogger(__name__)

# Statuses in which the unit holds the ticket and owes a reply.
HANDLING = ("signed", "extension_requested", "extended", "rehandling")
# Statuses of a dispatched ticket that is not closed.
OPEN = ("dispatched", "returned", *HANDLING, "replied", "reviewed", "surveyed")


class TransitionRefused(Exception):
    """A transition the ticket's state or the pack does not allow; ``reason`` is what the unit is told."""

    def __init__(self, code: str, reason: str, basis: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.basis = basis


Listener = Callable[[Session, Ticket, TicketEvent], None]


# ---------------------------------------------------------------- the transitions


class Lifecycle:
    """Transitions of dispatched tickets under one pack; the hand-off owed by each dispatch."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        calendar: WorkdayCalendar,
        tz: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        handoff: Handoff | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.tz = tz
        self.clock = clock
        self.deadlines = Deadlines(policy, calendar, tz)
        self.handoff = handoff or Handoff(db, clock)
        self._listeners: dict[str, list[Listener]] = {}

    def on(self, kind: str, listener: Listener) -> None:
        """Call ``listener(session, ticket, event)`` after every ``kind`` event, in its transaction."""
        self._listeners.setdefault(kind, []).append(listener)

    # ------------------------------------------------------------ helpers

    def _now(self, now: datetime | None) -> datetime:
        return now or self.clock()

    def _event(
        self, session: Session, ticket: Ticket, kind: str, actor: str, now: datetime, **data: Any
    ) -> TicketEvent:
        event = TicketEvent(
            kind=kind, actor=actor, at=now, data={k: v for k, v in data.items() if v is not None}
        )
        ticket.events.append(event)
        session.flush()
        for listener in self._listeners.get(kind, ()):
            listener(session, ticket, event)
        return event

    def _require(self, ticket: Ticket, allowed: tuple[str, ...], action: str) -> None:
        if ticket.disposition != "dispatched":
            raise TransitionRefused("not_dispatched", f"工单{ticket.number}不是转办工单，不能{action}。")
        if ticket.status not in allowed:
            stage = STAGES.get(ticket.status, ticket.status)
            raise TransitionRefused("bad_state", f"工单{ticket.number}当前状态为“{stage}”，不能{action}。")

    def _request(self, kind: str, ticket: Ticket, now: datetime, **fields: Any) -> dict[str, Any]:
        """A request awaiting the office, remembering the status to go back to if it is refused."""
        return {"kind": kind, **fields, "from": ticket.status, "at": local_iso(now, self.tz)}

    def _unit_exists(self, session: Session, unit: str) -> None:
        if not unit or session.scalar(select(Unit.code).where(Unit.code == unit)) is None:
            raise InvalidInput("unit", f"没有代码为 {unit} 的承办单位")

    def _moment(self, moment: datetime) -> str:
        return describe_moment(moment, self.tz)

    def adopt(self, session: Session, ticket: Ticket) -> None:
        """Hand a ticket the pipeline dispatched to its unit: version 1, the notice owed."""
        if ticket.version or ticket.disposition != "dispatched" or not ticket.unit_code:
            return
        ticket.version = 1
        ticket.dispatched_at = ticket.dispatched_at or ticket.created_at
        self._notify(session, ticket, "dispatched")

    def _notify(self, session: Session, ticket: Ticket, kind: str) -> None:
        payload = {"event": kind, "ticket": self.unit_view(session, ticket, now=ticket.dispatched_at)}
        self.handoff.notify(
            session,
            key=f"{ticket.number}:{ticket.version}",
            ticket_number=ticket.number,
            version=ticket.version,
            unit_code=ticket.unit_code or "",
            kind=kind,
            payload=payload,
        )

    def _send_to(self, ticket: Ticket, unit: str, now: datetime, due: str | None) -> None:
        """A new dispatch of ``ticket``: the next version, the clock started again."""
        ticket.unit_code = unit
        ticket.version = (ticket.version or 0) + 1
        ticket.dispatched_at = now
        ticket.signed_at = None
        ticket.replied_at = None
        ticket.request = None
        ticket.card = None
        ticket.card_at = None
        ticket.due = due

    # ------------------------------------------------------------ dispatch and signing

    def dispatch(
        self, session: Session, ticket: Ticket, *, unit: str, actor: str, now: datetime | None = None
    ) -> TicketEvent:
        """Send the ticket to ``unit`` (the office dispatching, or correcting an unsigned dispatch).

        The limit starts again from now (000 第十六条: 重新计算办理时限).
        """
        now = self._now(now)
        self._require(ticket, ("registered", "dispatched", "returned"), "派单")
        self._unit_exists(session, unit)
        previous = ticket.unit_code if ticket.status != "registered" else None
        self._send_to(ticket, unit, now, self.deadlines.due_from(ticket, now))
        ticket.status = "dispatched"
        self._notify(session, ticket, "dispatched")
        log.info("ticket %s dispatched to %s (version %s)", ticket.number, unit, ticket.version)
        return self._event(
            session,
            ticket,
            "dispatched",
            actor,
            now,
            unit=unit,
            previous_unit=previous,
            due=ticket.due,
            version=ticket.version,
        )

    def sign(
        self, session: Session, ticket: Ticket, *, actor: str, now: datetime | None = None
    ) -> TicketEvent:
        """The unit signs for (签收) the ticket. Signing twice returns the first signature."""
        now = self._now(now)
        self.adopt(session, ticket)
        if ticket.status in HANDLING and ticket.signed_at is not None:
            signed = [e for e in ticket.events if e.kind == "signed"]
            if signed:
                return signed[-1]
        self._require(ticket, ("dispatched",), "签收")
        ticket.status = "signed"
        ticket.signed_at = now
        sign_by = self.deadlines.sign_by(ticket)
        late = sign_by is not None and now > sign_by
        return self._event(
            session,
            ticket,
            "signed",
            actor,
            now,
            version=ticket.version,
            late=late or None,
            sign_by=local_iso(sign_by, self.tz),
        )

    # ------------------------------------------------------------ returns (退单)

    def request_return(
        self,
        session: Session,
        ticket: Ticket,
        *,
        actor: str,
        reason: str,
        basis: str,
        now: datetime | None = None,
    ) -> TicketEvent:
        """The unit asks to send back a ticket that is not its own, with the reason and its basis."""
        now = self._now(now)
        self.adopt(session, ticket)
        self._require(ticket, ("dispatched", "signed"), "申请退回")
        if not (reason or "").strip():
            raise InvalidInput("reason", "申请退回应说明理由（reason）")
        if not (basis or "").strip():
            raise InvalidInput("basis", "申请退回应说明依据（basis）")
        limit = self.deadlines.return_limit(ticket)
        by = self.deadlines.return_by(ticket)
        if limit is not None and by is not None and now > by:
            raise TransitionRefused(
                "late_return",
                f"已超过退回时限：依据{limit.basis}，承办单位应在{describe_limit(limit)}内申请退回"
                f"（本工单截止{self._moment(by)}），现已不能退回，请继续办理。",
                limit.basis,
            )
        ticket.request = self._request("return", ticket, now, reason=reason.strip(), basis=basis.strip())
        ticket.status = "returned"
        ticket.return_count += 1
        return self._event(
            session,
            ticket,
            "return_requested",
            actor,
            now,
            reason=reason.strip(),
            basis=basis.strip(),
            unit=ticket.unit_code,
            version=ticket.version,
        )

    def approve_return(
        self,
        session: Session,
        ticket: Ticket,
        *,
        unit: str,
        actor: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> TicketEvent:
        """The office agrees (002 第十一条) and re-dispatches to ``unit``; the limit starts again."""
        now = self._now(now)
        self._require(ticket, ("returned",), "审核退回")
        if unit == ticket.unit_code:
            raise InvalidInput("unit", "同意退回后应转派给其他承办单位")
        self._unit_exists(session, unit)
        previous = ticket.unit_code
        event = self._event(
            session, ticket, "return_approved", actor, now, unit=previous, to=unit, note=note,
            version=ticket.version + 1,
        )  # fmt: skip
        self.dispatch(session, ticket, unit=unit, actor=actor, now=now)
        return event

    def refuse_return(
        self, session: Session, ticket: Ticket, *, actor: str, reason: str, now: datetime | None = None
    ) -> TicketEvent:
        """The office does not agree (002 第十一条, 003 第十二条(三)): the unit goes on handling it."""
        now = self._now(now)
        self._require(ticket, ("returned",), "审核退回")
        if not (reason or "").strip():
            raise InvalidInput("reason", "不同意退回应说明理由（reason）")
        ticket.status = (ticket.request or {}).get("from", "signed")
        ticket.request = None
        return self._event(session, ticket, "return_refused", actor, now, reason=reason.strip())

    # ------------------------------------------------------------ extensions (延期)

    def extension_limit(self, ticket: Ticket, now: datetime) -> TransitionRefused | None:
        """Why the pack allows no extension of ``ticket`` at ``now``, or ``None`` when one may be asked."""
        ext = self.policy.handling.extension
        if ext is None:
            return TransitionRefused(
                "no_extension",
                "本热线的管理办法没有规定延期办理，请在办理时限内办结；确有困难请说明阶段性办理结果。",
            )
        if ticket.urgent and ext.excludes_urgent:
            return TransitionRefused(
                "urgent_no_extension",
                f"突发类工单不能延期：依据{ext.basis}，延期只适用于突发类以外的事项，请在时限内办结。",
                ext.basis,
            )
        if ext.max_count is not None and ticket.extension_count >= ext.max_count:
            return TransitionRefused(
                "extension_limit",
                f"延期次数已用完：依据{ext.basis}，延期办理以{ext.max_count}次为限，"
                f"本工单已延期{ticket.extension_count}次。",
                ext.basis,
            )
        if ticket.due:
            last = self.deadlines.due_end(ticket.due)
            if ext.ask_working_days_before_expiry and "T" not in ticket.due:
                day = self.deadlines.working_days_before(
                    date.fromisoformat(ticket.due), ext.ask_working_days_before_expiry
                )
                last = self.deadlines.end_of_day(day)
            if now > last:
                ahead = (
                    f"办理期限届满{ext.ask_working_days_before_expiry}个工作日前"
                    if ext.ask_working_days_before_expiry
                    else "办理期限届满前"
                )
                return TransitionRefused(
                    "extension_too_late",
                    f"已过申请延期的时间：依据{ext.basis}，应在{ahead}提出延期申请（本工单截止{self._moment(last)}）。",
                    ext.basis,
                )
        return None

    def longest_extension(self, ticket: Ticket) -> datetime | None:
        """The latest due one extension may reach: the current due plus the pack's longest extension."""
        ext = self.policy.handling.extension
        original = self.deadlines.limit_for(ticket)
        if ext is None or original is None or not ticket.due:
            return None
        longest = ext.longest(original)
        current = self.deadlines.due_end(ticket.due)
        if longest.hours:
            return current + timedelta(hours=longest.hours)
        day = self.deadlines.calendar.add_workdays(
            date.fromisoformat(ticket.due[:10]), longest.working_days or 0
        )
        return self.deadlines.end_of_day(day)

    def request_extension(
        self,
        session: Session,
        ticket: Ticket,
        *,
        actor: str,
        reason: str,
        until: str,
        now: datetime | None = None,
    ) -> TicketEvent:
        """The unit asks for more time, with the reason and the new due (a date, or a date-time for hours)."""
        now = self._now(now)
        self.adopt(session, ticket)
        self._require(ticket, ("signed", "extended"), "申请延期")
        if not (reason or "").strip():
            raise InvalidInput("reason", "申请延期应说明理由（reason）")
        if not isinstance(until, str) or not until.strip():
            raise InvalidInput("until", "申请延期应给出新的办结日期（until），例如 2026-12-04")
        refused = self.extension_limit(ticket, now)
        if refused:
            raise refused
        new_due, new_end = self._new_due(ticket, until)
        if ticket.due and new_end <= self.deadlines.due_end(ticket.due):
            raise InvalidInput("until", f"新的办结日期应晚于现在的办理时限（{ticket.due}）")
        latest = self.longest_extension(ticket)
        ext = self.policy.handling.extension
        if latest is not None and new_end > latest:
            original = self.deadlines.limit_for(ticket)
            raise TransitionRefused(
                "extension_too_long",
                f"延期时限过长：依据{ext.basis}，每次延期不得超过"
                f"{describe_limit(ext.longest(original))}，本工单最晚可延至{self._moment(latest)}。",
                ext.basis,
            )
        ticket.request = self._request("extension", ticket, now, reason=reason.strip(), until=new_due)
        ticket.status = "extension_requested"
        return self._event(
            session,
            ticket,
            "extension_requested",
            actor,
            now,
            reason=reason.strip(),
            until=new_due,
            due=ticket.due,
            number=ticket.extension_count + 1,
        )

    def _new_due(self, ticket: Ticket, until: str) -> tuple[str, datetime]:
        moment, has_time = parse_moment(until, "until", self.tz)
        if ticket.due and "T" in ticket.due:
            if not has_time:
                raise InvalidInput(
                    "until", "按小时计时的工单，新的办结时间应具体到时，例如 2026-11-25T10:00+08:00"
                )
            return moment.astimezone(self.tz).replace(microsecond=0).isoformat(), moment
        day = moment.astimezone(self.tz).date()
        return day.isoformat(), self.deadlines.end_of_day(day)

    def approve_extension(
        self,
        session: Session,
        ticket: Ticket,
        *,
        actor: str,
        until: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> TicketEvent:
        """The office agrees (002 第十四条): the due moves to the requested date (or an earlier ``until``)."""
        now = self._now(now)
        self._require(ticket, ("extension_requested",), "审核延期")
        request = ticket.request or {}
        new_due = request.get("until")
        if until:
            new_due, new_end = self._new_due(ticket, until)
            if new_end > self.deadlines.due_end(request["until"]):
                raise InvalidInput("until", "批准的办结日期不能晚于申请的日期")
        previous = ticket.due
        ticket.due = new_due
        ticket.extension_count += 1
        ticket.status = "extended"
        ticket.request = None
        return self._event(
            session,
            ticket,
            "extension_approved",
            actor,
            now,
            previous_due=previous,
            due=new_due,
            number=ticket.extension_count,
            reason=request.get("reason"),
            note=note,
        )

    def refuse_extension(
        self, session: Session, ticket: Ticket, *, actor: str, reason: str, now: datetime | None = None
    ) -> TicketEvent:
        """The office does not agree (002 第十四条): the unit finishes within the current due."""
        now = self._now(now)
        self._require(ticket, ("extension_requested",), "审核延期")
        if not (reason or "").strip():
            raise InvalidInput("reason", "不同意延期应说明理由（reason）")
        ticket.status = (ticket.request or {}).get("from", "signed")
        ticket.request = None
        return self._event(
            session, ticket, "extension_refused", actor, now, reason=reason.strip(), due=ticket.due
        )

    # ------------------------------------------------------------ reply, review, survey, close

    def reply(
        self,
        session: Session,
        ticket: Ticket,
        *,
        actor: str,
        reply: Reply | Mapping[str, Any],
        now: datetime | None = None,
    ) -> TicketEvent:
        """The unit replies with the result. The survey hooks this event (``on("replied", …)``)."""
        now = self._now(now)
        self._require(ticket, HANDLING, "答复")
        if not isinstance(reply, Reply):
            reply = Reply.parse(reply, ticket, self.tz, now, self.policy.handling.unreachable)
        dropped = ticket.request if ticket.status == "extension_requested" else None
        ticket.status = "replied"
        ticket.replied_at = now
        ticket.request = None
        ticket.reply = reply.to_dict()
        late = bool(ticket.due) and now > self.deadlines.due_end(ticket.due)
        return self._event(
            session,
            ticket,
            "replied",
            actor,
            now,
            **reply.to_dict(),
            version=ticket.version,
            round=ticket.rehandle_count + 1,
            late=late or None,
            dropped_extension=(dropped or {}).get("until"),
        )

    def review(
        self,
        session: Session,
        ticket: Ticket,
        *,
        actor: str,
        approved: bool,
        note: str | None = None,
        now: datetime | None = None,
    ) -> TicketEvent:
        """The office checks the reply (002 第十六条, 000 第十九条); a refused one goes back to the unit."""
        now = self._now(now)
        self._require(ticket, ("replied",), "审核答复")
        if approved:
            ticket.status = "reviewed"
            return self._event(session, ticket, "reviewed", actor, now, approved=True, note=note)
        if not (note or "").strip():
            raise InvalidInput("note", "退回答复应说明理由（note）")
        ticket.status = "rehandling" if ticket.rehandle_count else "signed"
        ticket.replied_at = None
        return self._event(session, ticket, "reply_refused", actor, now, approved=False, note=note)

    def record_rating(
        self,
        session: Session,
        ticket: Ticket,
        *,
        rating: str,
        actor: str = "citizen",
        by: str = "citizen",
        now: datetime | None = None,
    ) -> TicketEvent:
        """The citizen's rating (``by``: citizen, no_reply, person); the last round's rating counts."""
        now = self._now(now)
        self._require(ticket, ("replied", "reviewed"), "记录评价")
        ratings = self.policy.survey.ratings
        allowed = self.policy.survey.rating_values
        if rating not in allowed:
            raise InvalidInput("rating", f"评价应为 {' / '.join(allowed)} 之一")
        ticket.status = "surveyed"
        return self._event(
            session,
            ticket,
            "surveyed",
            actor,
            now,
            rating=rating,
            by=by,
            round=ticket.rehandle_count + 1,
            basis=ratings.basis if ratings else None,
        )

    def rehandle_refusal(self, ticket: Ticket) -> TransitionRefused | None:
        """Why the pack allows no (further) re-handling of ``ticket``, or ``None`` when it may go back."""
        rule = self.policy.survey.rehandle
        if rule is None:
            return TransitionRefused("no_rehandle", "本热线的管理办法没有规定重办，请人工回访诉求人。")
        if rule.max_count is not None and ticket.rehandle_count >= rule.max_count:
            return TransitionRefused(
                "rehandle_limit",
                f"重办次数已用完：依据{rule.basis}，重办次数为{rule.max_count}次，本工单已重办"
                f"{ticket.rehandle_count}次，请人工回访诉求人了解不满意的原因。",
                rule.basis,
            )
        return None

    def rehandle(
        self, session: Session, ticket: Ticket, *, actor: str, reason: str, now: datetime | None = None
    ) -> TicketEvent:
        """Send an unsatisfied ticket back to its unit (重办), within the pack's re-handling limit.

        002 第十八条: once, within 5 (working) days; where the pack sets no limit, the category's.
        """
        now = self._now(now)
        self._require(ticket, ("replied", "reviewed", "surveyed", "closed"), "重办")
        refused = self.rehandle_refusal(ticket)
        if refused:
            raise refused
        rule = self.policy.survey.rehandle
        due = self.deadlines.due_from(ticket, now, rule.within if rule and rule.within else None)
        unit = ticket.unit_code or ""
        signed = ticket.signed_at
        self._send_to(ticket, unit, now, due)
        ticket.signed_at = signed  # the unit holds the ticket already: no new signature
        ticket.status = "rehandling"
        ticket.rehandle_count += 1
        ticket.closed_at = None
        self._notify(session, ticket, "rehandled")
        return self._event(
            session,
            ticket,
            "rehandled",
            actor,
            now,
            reason=reason,
            due=due,
            version=ticket.version,
            round=ticket.rehandle_count + 1,
            basis=rule.basis if rule else None,
        )

    def close(
        self, session: Session, ticket: Ticket, *, actor: str, now: datetime | None = None
    ) -> TicketEvent:
        """Close (办结) a replied ticket once the review and survey are done."""
        now = self._now(now)
        self._require(ticket, ("replied", "reviewed", "surveyed"), "办结")
        ticket.status = "closed"
        ticket.closed_at = now
        return self._event(session, ticket, "closed", actor, now, version=ticket.version)

    # ------------------------------------------------------------ what a unit sees

    def ticket_for_update(self, session: Session, number: str) -> Ticket | None:
        """A dispatched ticket, locked for a transition (concurrent requests on it queue up)."""
        return session.scalar(
            select(Ticket)
            .where(Ticket.number == number, Ticket.disposition == "dispatched")
            .with_for_update()
        )

    def check_version(self, ticket: Ticket, version: Any) -> None:
        """Refuse a unit's action on an older dispatch than the ticket's current one."""
        if version is None:
            return
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInput("version", "version 应为整数（工单的派单版本）")
        if version != ticket.version:
            raise TransitionRefused(
                "stale_version",
                f"工单{ticket.number}已更新（当前版本 {ticket.version}），请重新获取后再操作。",
            )

    def unit_view(self, session: Session, ticket: Ticket, *, now: datetime | None = None) -> dict[str, Any]:
        """The ticket as its unit sees it, in the webhook and the unit API.

        A confidential ticket (001 第二十四条) carries no phone, name, address or IP: the citizen's
        contact is left out and the free text redacted.
        """
        now = self._now(now)
        contact = self.policy.facts.contact_to_unit
        secret = not contact_shown(ticket, contact)  # confidential, or (001 第二十四条) not agreed to
        phone = None if secret else citizen_phone(ticket)
        sign_by = self.deadlines.sign_by(ticket)
        return_by = self.deadlines.return_by(ticket)
        unit_name = session.scalar(select(Unit.name).where(Unit.code == ticket.unit_code))
        reminders = [
            {"kind": e.data.get("kind"), "deadline": e.data.get("deadline"), "at": local_iso(e.at, self.tz)}
            for e in ticket.events
            if e.kind == "reminded" and e.data.get("version") == ticket.version
        ]
        return {
            "number": ticket.number,
            "version": ticket.version,
            "status": ticket.status,
            "stage": STAGES.get(ticket.status, ticket.status),
            "unit": ticket.unit_code,
            "unit_name": unit_name,
            "category": ticket.category,
            "urgent": bool(ticket.urgent),
            "confidential": bool(ticket.confidential),
            "text": redact(ticket.text) if secret else ticket.text,
            "location": redact(ticket.location) if secret else ticket.location,
            "citizen": None if secret else {"channel": ticket.channel, "phone": phone},
            **unit_facts(ticket, contact),  # citizen_name, contact_phone, event_time/date, parties, consent
            "registered_at": local_iso(ticket.created_at, self.tz),
            "dispatched_at": local_iso(ticket.dispatched_at or ticket.created_at, self.tz),
            "signed_at": local_iso(ticket.signed_at, self.tz),
            "due": ticket.due,
            "due_basis": ticket.basis,
            "sign_by": local_iso(sign_by, self.tz),
            "return_by": local_iso(return_by, self.tz),
            "card": self.deadlines.card(ticket, now) if ticket.status != "closed" else ticket.card,
            "extensions": ticket.extension_count,
            "rehandles": ticket.rehandle_count,
            "request": ticket.request,
            "reply": ticket.reply,
            "reminders": reminders,
            **incident(session, ticket),  # key_item, key_item_basis, reporters, linked (000 第十四条)
        }

    def open_for_unit(self, session: Session, unit: str) -> list[Ticket]:
        """The unit's tickets that are not closed, soonest due first."""
        rows = session.scalars(
            select(Ticket)
            .where(Ticket.unit_code == unit, Ticket.disposition == "dispatched", Ticket.status.in_(OPEN))
            .order_by(Ticket.id)
        ).all()
        return sorted(
            rows, key=lambda t: self.deadlines.due_end(t.due) if t.due else datetime.max.replace(tzinfo=UTC)
        )

    # ------------------------------------------------------------ the worker's part

    def hand_off_new(self, limit: int = 100) -> list[str]:
        """Hand every ticket the pipeline dispatched since the last run to its unit; return their numbers.

        Safe on several workers: each claims its tickets with ``FOR UPDATE SKIP LOCKED``, and the notice
        is keyed ``number:1``.
        """
        with self.db.session() as session:
            rows = session.scalars(
                select(Ticket)
                .where(Ticket.disposition == "dispatched", Ticket.version == 0, Ticket.unit_code.is_not(None))
                .order_by(Ticket.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for ticket in rows:
                self.adopt(session, ticket)
            session.commit()
            return [t.number for t in rows]

    def deliver_handoffs(self, limit: int = 50) -> HandoffReport:
        """One worker pass: hand new tickets over, then POST every due notice (retries included)."""
        adopted = self.hand_off_new(limit)
        with self.db.session() as session:  # flagged as key items after they were handed over
            self.handoff.owe_key_item_notices(session, self.unit_view)
            session.commit()
        report = self.handoff.deliver_due(limit)
        report.adopted = adopted
        return report
