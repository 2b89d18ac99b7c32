"""Time limits, computed here and nowhere else: a matter's due at registration, a unit's sign-by and
return-by, extensions, reminders, cards, knowledge questions and call-back intervals all ask ``Deadlines``.

Working days come from ``routing.workdays`` (which days are working days); this module applies a pack's
limits to them in the hotline's time zone: working days counted as the pack counts them (``same_day`` or
``next_working_day``) and run to the end of the last day, working hours over an office day, hours and
minutes as elapsed time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.core.models import Ticket
from routing.policy import Deadline, Limit, Policy
from routing.workdays import WorkdayCalendar, due_date

# Working hours for limits counted in them (001 第十四条(二) "工作日8小时"): the regulation names no
# clock times, so a common office day is used.
WORKING_HOURS = ((time(8, 0), time(12, 0)), (time(14, 0), time(18, 0)))


def span(limit: Limit) -> timedelta:
    """A pack's ``hours`` or ``minutes`` limit as a duration."""
    return timedelta(hours=limit.hours or 0, minutes=limit.minutes or 0)


def aware(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` in the hotline's time zone (SQLite gives naive datetimes back, stored as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz)


def in_hours(moment: datetime, tz: ZoneInfo, hours: tuple[tuple[time, time], ...]) -> bool:
    """Whether ``moment`` falls inside ``hours`` (calling hours, staffed hours), read in ``tz``."""
    local = moment.astimezone(tz).time()
    return any(start <= local < end for start, end in hours)


def describe_limit(limit: Limit | Deadline) -> str:
    """A limit in Chinese: 2个工作日, 24小时, 30分钟."""
    if isinstance(limit, Deadline):
        return f"{limit.working_days}个工作日" if limit.working_days else f"{limit.hours}小时"
    words = {"working_days": "个工作日", "working_hours": "个工作小时", "hours": "小时", "minutes": "分钟"}
    return f"{limit.amount}{words[limit.unit]}"


class RememberedCalendar:
    """A ``WorkdayCalendar`` whose answers are remembered per day.

    chinesecalendar checks its whole table on every question (about 35 µs); cards and the overdue list
    ask about every day of every open ticket.
    """

    def __init__(self, calendar: WorkdayCalendar) -> None:
        self.calendar = calendar
        self._known: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self.calendar.is_workday(day)
        return known

    def add_workdays(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            count -= self.is_workday(day)
        return day


class Deadlines:
    """The pack's time limits applied to tickets, in the hotline's time zone and working days."""

    def __init__(self, policy: Policy, calendar: WorkdayCalendar, tz: ZoneInfo) -> None:
        self.policy = policy
        self.calendar = RememberedCalendar(calendar)
        self.tz = tz

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self.tz)

    def end_of(self, limit: Limit | Deadline, start: datetime) -> datetime:
        """When ``limit`` counted from ``start`` runs out.

        Working days are counted as the pack counts deadlines (``next_working_day``: the day of the
        event is not counted) and run to the end of the last day.
        """
        if isinstance(limit, Deadline):
            if limit.hours is not None:
                return start.astimezone(UTC) + timedelta(hours=limit.hours)
            limit = Limit(working_days=limit.working_days)
        if limit.minutes is not None:
            return start.astimezone(UTC) + timedelta(minutes=limit.minutes)
        if limit.hours is not None:
            return start.astimezone(UTC) + timedelta(hours=limit.hours)
        if limit.working_hours is not None:
            return self._add_working_hours(start, limit.working_hours)
        day = due_date(
            self.calendar,  # type: ignore[arg-type]  (it answers what due_date asks)
            start,
            self.tz,
            working_days=limit.working_days,
            counting=self.policy.counting,
        )
        return self.end_of_day(date.fromisoformat(day))

    def _add_working_hours(self, start: datetime, hours: int) -> datetime:
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.tz)
        day = local.date()
        while True:
            if self.calendar.is_workday(day):
                for begin, end in WORKING_HOURS:
                    lo = max(datetime.combine(day, begin, tzinfo=self.tz), local)
                    hi = datetime.combine(day, end, tzinfo=self.tz)
                    if hi <= lo:
                        continue
                    if hi - lo >= remaining:
                        return lo + remaining
                    remaining -= hi - lo
            day += timedelta(days=1)

    def due_end(self, due: str) -> datetime:
        """The moment a stored due (an ISO date, or a date-time for hour limits) runs out."""
        if "T" in due:
            return datetime.fromisoformat(due)
        return self.end_of_day(date.fromisoformat(due))

    def limit_of(self, category: str | None, urgent: bool) -> Deadline | None:
        """The handling limit of a matter of this kind: urgent, or its category's (``None``: none)."""
        limit = self.policy.urgent_deadline if urgent else self.policy.deadline_for(category or "")
        return None if limit is None or limit.unset else limit  # unset: the deployment has not set it

    def limit_for(self, ticket: Ticket) -> Deadline | None:
        return self.limit_of(ticket.category, ticket.urgent)

    def stored_due(self, limit: Limit | Deadline, start: datetime) -> tuple[str, datetime]:
        """``limit`` from ``start`` as a ticket stores its due (an ISO date for working days, else a
        date-time in the hotline's zone), and the moment it runs out."""
        end = self.end_of(limit, start)
        if limit.working_days:
            return (end.astimezone(self.tz) - timedelta(days=1)).date().isoformat(), end
        return end.astimezone(self.tz).replace(microsecond=0).isoformat(), end

    def due_from(self, ticket: Ticket, start: datetime, limit: Limit | Deadline | None = None) -> str | None:
        """The due, stored as the pipeline stores it, for ``limit`` (default: the ticket's) from ``start``."""
        limit = limit or self.limit_for(ticket)
        return self.stored_due(limit, start)[0] if limit else None

    def for_matter(self, category: str | None, urgent: bool, now: datetime) -> tuple[str | None, str | None]:
        """The due and the article it rests on for a matter registered at ``now`` (triage asks this)."""
        limit = self.limit_of(category, urgent)
        if limit is None:
            return None, None
        return self.stored_due(limit, now)[0], limit.basis

    def question_due(self, asked_at: datetime) -> tuple[str | None, datetime | None]:
        """The due of a knowledge question asked at ``asked_at`` (the pack's ``knowledge.question_within``)
        and the moment it runs out; ``(None, None)`` when the pack sets no limit."""
        limit = self.policy.knowledge.question_within
        if limit is None:
            return None, None
        return self.stored_due(limit, asked_at)

    def sign_limit(self, ticket: Ticket) -> Limit | None:
        handling = self.policy.handling
        return (handling.urgent_sign_within if ticket.urgent else None) or handling.sign_within

    def return_limit(self, ticket: Ticket) -> Limit | None:
        handling = self.policy.handling
        return (handling.urgent_return_within if ticket.urgent else None) or handling.return_within

    def started(self, ticket: Ticket) -> datetime:
        return ticket.dispatched_at or ticket.created_at

    def sign_by(self, ticket: Ticket) -> datetime | None:
        limit = self.sign_limit(ticket)
        return self.end_of(limit, self.started(ticket)) if limit else None

    def return_by(self, ticket: Ticket) -> datetime | None:
        """The last moment to ask for a return. The pack's ``handling.return_from`` says from when:
        ``signing`` (003 第十二条(三) "签收后", 002 第十条(二) "自收到事项之日起"), counted from the
        dispatch while the ticket is unsigned, or ``dispatch`` (000 第十六条 "自业务工单分转至本单位起")."""
        limit = self.return_limit(ticket)
        if limit is None:
            return None
        if self.policy.handling.return_from == "dispatch":
            return self.end_of(limit, self.started(ticket))
        return self.end_of(limit, ticket.signed_at or self.started(ticket))

    def full_working_days(self, start: datetime, end: datetime) -> int:
        """Working days wholly between ``start``'s day and ``end``'s day (both excluded)."""
        first = start.astimezone(self.tz).date() + timedelta(days=1)
        last = end.astimezone(self.tz).date()
        count, day = 0, first
        while day < last:
            count += self.calendar.is_workday(day)
            day += timedelta(days=1)
        return count

    def card(self, ticket: Ticket, now: datetime) -> str | None:
        """The supervision card (000 第二十二条) earned by ``now``; ``None`` where the pack has no cards.

        Counted from the current dispatch: whole working days after it without signing, and without a
        reply; a late signature or reply keeps the card it earned.
        """
        if not self.policy.supervision.cards:
            return None
        start = self.started(ticket)
        unsigned = self.full_working_days(start, ticket.signed_at or now)
        unreplied = self.full_working_days(start, ticket.replied_at or now)
        return self.policy.supervision.card(unsigned, unreplied)

    def card_basis(self, colour: str | None) -> str | None:
        return next((c.basis for c in self.policy.supervision.cards if c.colour == colour), None)

    def working_days_before(self, day: date, count: int) -> date:
        """The ``count``-th working day before ``day``."""
        while count > 0:
            day -= timedelta(days=1)
            if self.calendar.is_workday(day):
                count -= 1
        return day
