"""Dates and times as people read them, in one place: 2026年11月26日, 2026年11月25日24时, ISO in the
hotline's zone for machines, and a minute-precise local time for staff pages.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo


def chinese_date(day: date) -> str:
    """2026年11月26日."""
    return f"{day.year}年{day.month}月{day.day}日"


def format_due(due: str | None) -> str:
    """A stored deadline as a citizen reads it: 2026年11月26日, or 2026年11月24日10:00 for hour limits."""
    if not due:
        return ""
    if "T" in due:
        moment = datetime.fromisoformat(due)
        return f"{chinese_date(moment)}{moment:%H:%M}"
    return chinese_date(date.fromisoformat(due))


def describe_moment(moment: datetime, tz: ZoneInfo) -> str:
    """A deadline as a person reads it: 2026年11月25日24时 for the end of a day, else with the time."""
    local = moment.astimezone(tz)
    if local.time() == time(0, 0):
        return f"{chinese_date(local - timedelta(days=1))}24时"
    return f"{chinese_date(local)}{local:%H:%M}"


def local_iso(
    moment: datetime | None, tz: ZoneInfo, timespec: Literal["seconds", "minutes"] = "seconds"
) -> str | None:
    """A moment as ISO 8601 in the hotline's zone (to the second, or the minute for the dashboard)."""
    return moment.astimezone(tz).isoformat(timespec=timespec) if moment else None


def local_minute(moment: datetime | None, tz: ZoneInfo) -> str:
    """A stored (UTC) moment as the hotline's local time for staff pages: 2026-11-23 10:00."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""
