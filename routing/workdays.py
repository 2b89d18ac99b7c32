"""Working days in China: statutory holidays and make-up working days (调休), and deadlines counted in them.

Each year is counted from the first source that knows it:

1. ``chinesecalendar``: the State Council's published schedule, holidays and 调休 both (2004 to the
   last year its release has; 1.11.0 ends at 2026).
2. ``holidays`` (vacanza/holidays): China's statutory days for any later year, computed from the rules
   of 《全国年节及纪念日放假办法》 (国务院令第795号, 2024): New Year, Spring Festival eve to day 3,
   Qingming, May 1–2, Dragon Boat, Mid-Autumn, Oct 1–3, and a day on a weekend moved to the next
   working day. It does not know a year's 调休 until the schedule is published and the package updated,
   so the pack's own ``holidays`` section adds or overrides single days on top of it (the office copies
   the State Council's notice there each November).
3. the pack's ``holidays`` section alone, for a year neither library knows;
4. Monday to Friday, with a warning in the log and in ``/healthz``: deadlines in such a year are
   provisional.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

log = logging.getLogger(__name__)

CHINESECALENDAR, HOLIDAYS, PACK, WEEKDAYS = "chinesecalendar", "holidays", "pack", "weekdays"


class WorkdayCalendar:
    """Answers whether a day is a working day, for any year, and says where each year's answer comes from."""

    def __init__(self, pack_holidays: dict[int, dict[str, tuple[str, ...]]] | None = None) -> None:
        self._pack: dict[int, tuple[set[date], set[date]]] = {}
        for year, spec in (pack_holidays or {}).items():
            off = {date.fromisoformat(d) for d in spec.get("off", ())}
            work = {date.fromisoformat(d) for d in spec.get("work", ())}
            self._pack[int(year)] = (off, work)
        # holidays' off days and make-up working days per year, computed once (empty when it has none)
        self._statutory: dict[int, tuple[frozenset[date], frozenset[date]] | None] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    @property
    def provisional_years(self) -> list[int]:
        """Years for which deadlines were counted Monday to Friday because no calendar knew them."""
        return sorted(self._warned)

    def source_for(self, year: int) -> str:
        """Who counts ``year``: ``chinesecalendar``, ``holidays`` (``holidays+pack`` with the pack's days),
        ``pack`` or ``weekdays``."""
        if _chinesecalendar_knows(year):
            return CHINESECALENDAR
        if self._statutory_days(year) is not None:
            return f"{HOLIDAYS}+{PACK}" if year in self._pack else HOLIDAYS
        return PACK if year in self._pack else WEEKDAYS

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
        statutory = self._statutory_days(day.year)
        if statutory is not None:
            off, work = statutory
            return day in work or (day not in off and day.weekday() < 5)
        if day.year not in self._pack:
            self._warn(day.year)
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

    def _statutory_days(self, year: int) -> tuple[frozenset[date], frozenset[date]] | None:
        """``holidays``' days off and make-up working days in ``year``; ``None`` if it has none then."""
        if year in self._statutory:
            return self._statutory[year]
        china = holidays.country_holidays("CN", years=year)
        off = frozenset(day for day in china if day.year == year)
        work = frozenset(day for day in china.weekend_workdays if day.year == year)
        with self._lock:
            self._statutory[year] = (off, work) if off else None
        return self._statutory[year]

    def _warn(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        log.warning(
            "no holiday calendar for %s: counting Monday to Friday; update chinesecalendar and holidays "
            "or add holidays for %s to the policy pack",
            year,
            year,
        )


def _chinesecalendar_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


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
