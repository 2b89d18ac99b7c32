"""Working days in China: statutory holidays and make-up working days (调休), and deadlines counted in them.

``chinesecalendar`` is the source of truth for the years it covers. For a year it does not know
(its data ends when the State Council has not yet published the next year's arrangement), a pack's
own ``holidays`` section is used, and failing that Monday to Friday, with a warning in the log and in
``/healthz`` so the office knows deadlines are provisional.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)


class WorkdayCalendar:
    """Answers whether a day is a working day, for any year."""

    def __init__(self, pack_holidays: dict[int, dict[str, tuple[str, ...]]] | None = None) -> None:
        self._pack: dict[int, tuple[set[date], set[date]]] = {}
        for year, spec in (pack_holidays or {}).items():
            off = {date.fromisoformat(d) for d in spec.get("off", ())}
            work = {date.fromisoformat(d) for d in spec.get("work", ())}
            self._pack[int(year)] = (off, work)
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    @property
    def provisional_years(self) -> list[int]:
        """Years for which deadlines were counted Monday to Friday because no calendar knew them."""
        return sorted(self._warned)

    def source_for(self, year: int) -> str:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return "chinesecalendar"
        except NotImplementedError:
            return "pack" if year in self._pack else "weekdays"

    def is_workday(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            pass
        if day.year in self._pack:
            off, work = self._pack[day.year]
            if day in work:
                return True
            if day in off:
                return False
            return day.weekday() < 5
        with self._lock:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no holiday calendar for %s: counting Monday to Friday; update chinesecalendar "
                    "or add holidays for %s to the policy pack",
                    day.year,
                    day.year,
                )
        return day.weekday() < 5

    def add_workdays(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def next_workday(self, start: date) -> date:
        """``start`` if it is a working day, else the first working day after it."""
        day = start
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day


def due_date(
    calendar: WorkdayCalendar,
    dispatched: datetime,
    tz: ZoneInfo,
    *,
    working_days: int | None = None,
    hours: int | None = None,
    counting: str = "same_day",
) -> str:
    """The deadline as an ISO date (working days) or an ISO date-time in the hotline's zone (hours).

    ``counting="next_working_day"`` (003 第十二条(二)) makes the first day of the limit the working
    day after dispatch; ``"same_day"`` counts the dispatch day itself when it is a working day.
    """
    local = dispatched.astimezone(tz)
    if hours is not None:
        # elapsed hours, counted in UTC: local clocks may jump at daylight saving
        moment = (dispatched.astimezone(UTC) + timedelta(hours=hours)).astimezone(tz)
        return moment.replace(microsecond=0).isoformat()
    if working_days is None:
        raise ValueError("give working_days or hours")
    day = local.date()
    if counting == "next_working_day" or not calendar.is_workday(day):
        return calendar.add_workdays(day, working_days).isoformat()
    return calendar.add_workdays(day, working_days - 1).isoformat()
