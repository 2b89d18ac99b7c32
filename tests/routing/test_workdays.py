"""Working days: holidays and make-up days (调休) count right, deadlines follow the pack's counting rule."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.workdays import WorkdayCalendar, due_date

SHANGHAI = ZoneInfo("Asia/Shanghai")


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


# ---------------------------------------------------------------- which days are working days


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2025-09-26", True),
        ("2025-09-27", False),
        ("2025-09-28", True),
        ("2025-09-30", True),
        ("2025-10-01", False),
        ("2025-10-03", False),
        ("2025-10-06", False),
        ("2025-10-08", False),
        ("2025-10-09", True),
        ("2025-10-11", True),
        ("2025-10-12", False),
        ("2026-01-01", False),
        ("2026-01-02", False),
        ("2026-01-04", True),
        ("2026-11-23", True),
        ("2026-11-28", False),
    ],
    ids=[
        "friday",
        "saturday",
        "sunday-made-up-for-national-day",
        "eve-of-national-day",
        "national-day",
        "national-day-friday",
        "national-day-monday",
        "last-holiday-day",
        "first-day-back",
        "saturday-made-up-for-national-day",
        "sunday-after",
        "new-year-2026",
        "new-year-bridge-friday",
        "sunday-made-up-for-new-year",
        "ordinary-monday",
        "ordinary-saturday",
    ],
)
def test_is_workday(day, expected):
    assert WorkdayCalendar().is_workday(d(day)) is expected


def test_the_whole_national_day_holiday_is_skipped():
    calendar = WorkdayCalendar()
    holiday = [d(f"2025-10-0{n}") for n in range(1, 9)]
    assert not any(calendar.is_workday(day) for day in holiday)
    assert calendar.add_workdays(d("2025-09-30"), 1) == d("2025-10-09")


@pytest.mark.parametrize(
    "start, count, expected",
    [
        ("2026-11-23", 2, "2026-11-25"),
        ("2026-11-27", 1, "2026-11-30"),
        ("2026-11-28", 1, "2026-11-30"),
        ("2025-09-26", 1, "2025-09-28"),
        ("2025-09-30", 1, "2025-10-09"),
        ("2025-09-30", 3, "2025-10-11"),
        ("2025-10-03", 1, "2025-10-09"),
        ("2025-09-26", 10, "2025-10-16"),
        ("2026-11-23", 0, "2026-11-23"),
    ],
    ids=[
        "plain-week",
        "friday-to-monday",
        "saturday-to-monday",
        "onto-made-up-sunday",
        "over-national-day",
        "onto-made-up-saturday",
        "from-inside-the-holiday",
        "ten-days-across-the-holiday",
        "zero",
    ],
)
def test_add_workdays(start, count, expected):
    assert WorkdayCalendar().add_workdays(d(start), count) == d(expected)


# ---------------------------------------------------------------- deadlines in working days

# dispatched (Asia/Shanghai), working days, due when counting next_working_day, due when same_day
DUE = [
    ("monday", "2026-11-23 10:00", 2, "2026-11-25", "2026-11-24"),
    ("monday-late", "2026-11-23 23:59", 1, "2026-11-24", "2026-11-23"),
    ("friday", "2026-11-27 16:00", 2, "2026-12-01", "2026-11-30"),
    ("saturday", "2026-11-28 09:00", 2, "2026-12-01", "2026-12-01"),
    ("sunday", "2026-11-29 09:00", 1, "2026-11-30", "2026-11-30"),
    ("holiday", "2025-10-01 09:00", 2, "2025-10-10", "2025-10-10"),
    ("last-holiday-day", "2025-10-08 18:00", 1, "2025-10-09", "2025-10-09"),
    ("eve-of-holiday", "2025-09-30 10:00", 2, "2025-10-10", "2025-10-09"),
    ("saturday-before-made-up-sunday", "2025-09-27 10:00", 1, "2025-09-28", "2025-09-28"),
    ("made-up-sunday", "2025-09-28 10:00", 1, "2025-09-29", "2025-09-28"),
    ("complaint-across-holiday", "2025-09-26 10:00", 10, "2025-10-16", "2025-10-15"),
    ("new-year", "2025-12-31 10:00", 2, "2026-01-05", "2026-01-04"),
]


@pytest.mark.parametrize(
    "dispatched, days, next_day, same_day", [c[1:] for c in DUE], ids=[c[0] for c in DUE]
)
@pytest.mark.parametrize("counting", ["next_working_day", "same_day"])
def test_due_date_in_working_days(dispatched, days, next_day, same_day, counting):
    due = due_date(WorkdayCalendar(), at(dispatched), SHANGHAI, working_days=days, counting=counting)
    assert due == (next_day if counting == "next_working_day" else same_day)


def test_due_date_counts_from_the_next_working_day_by_003():
    """003 第十二条(二): 自派单的下一工作日起计算 — 2 days from Monday are due Wednesday."""
    calendar = WorkdayCalendar()
    monday = at("2026-11-23 10:00")
    assert due_date(calendar, monday, SHANGHAI, working_days=2, counting="next_working_day") == "2026-11-25"
    assert due_date(calendar, monday, SHANGHAI, working_days=2) == "2026-11-24"  # same_day is the default


@pytest.mark.parametrize(
    "dispatched, expected",
    [
        (datetime(2026, 11, 22, 17, 0, tzinfo=UTC), "2026-11-25"),  # Monday 01:00 in Shanghai
        (datetime(2026, 11, 22, 15, 59, tzinfo=UTC), "2026-11-24"),  # still Sunday 23:59 in Shanghai
    ],
    ids=["utc-sunday-is-shanghai-monday", "utc-and-shanghai-both-sunday"],
)
def test_the_dispatch_day_is_taken_in_the_hotline_zone(dispatched, expected):
    due = due_date(WorkdayCalendar(), dispatched, SHANGHAI, working_days=2, counting="next_working_day")
    assert due == expected


# ---------------------------------------------------------------- deadlines in hours


@pytest.mark.parametrize(
    "dispatched, hours, tz, expected",
    [
        (at("2026-11-23 10:00"), 24, SHANGHAI, "2026-11-24T10:00:00+08:00"),
        (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), 24, SHANGHAI, "2026-11-24T10:00:00+08:00"),
        (at("2025-09-30 20:00"), 24, SHANGHAI, "2025-10-01T20:00:00+08:00"),
        (at("2026-11-28 09:30"), 2, SHANGHAI, "2026-11-28T11:30:00+08:00"),
        (at("2026-11-23 10:00:00.654321"), 1, SHANGHAI, "2026-11-23T11:00:00+08:00"),
        (at("2026-11-23 10:00"), 2, ZoneInfo("UTC"), "2026-11-23T04:00:00+00:00"),
        (at("2026-11-23 10:00"), 24, ZoneInfo("Asia/Urumqi"), "2026-11-24T08:00:00+06:00"),
    ],
    ids=[
        "shanghai",
        "utc-input",
        "into-a-holiday",
        "on-a-saturday",
        "drops-microseconds",
        "utc-zone",
        "urumqi-zone",
    ],
)
def test_hours_limits_are_an_iso_datetime_in_the_given_zone(dispatched, hours, tz, expected):
    due = due_date(WorkdayCalendar(), dispatched, tz, hours=hours, counting="next_working_day")
    assert due == expected
    elapsed = datetime.fromisoformat(due) - dispatched
    assert elapsed == timedelta(hours=hours) - timedelta(microseconds=dispatched.microsecond)


def test_an_hours_limit_is_elapsed_time_across_a_daylight_saving_change():
    berlin = ZoneInfo("Europe/Berlin")
    dispatched = at("2026-03-28 12:00", berlin)  # DST starts 2026-03-29 02:00
    due = due_date(WorkdayCalendar(), dispatched, berlin, hours=24)
    assert datetime.fromisoformat(due) - dispatched == timedelta(hours=24)


def test_due_date_needs_a_limit():
    with pytest.raises(ValueError, match="working_days or hours"):
        due_date(WorkdayCalendar(), at("2026-11-23 10:00"), SHANGHAI)


# ---------------------------------------------------------------- years chinesecalendar does not cover

# 2027: chinesecalendar 1.11.0 stops at 2026, so the statutory days come from the holidays package
# (国务院令第795号's rules: 除夕 to 初三, weekend days moved to the next working day).


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2027-01-01", False),
        ("2027-01-04", True),
        ("2027-02-04", True),
        ("2027-02-05", False),
        ("2027-02-08", False),
        ("2027-02-10", False),
        ("2027-02-11", True),
        ("2027-10-01", False),
        ("2027-10-05", False),
        ("2027-10-06", True),
    ],
    ids=[
        "new-year-friday",
        "first-monday",
        "day-before-the-eve",
        "spring-festival-eve",
        "spring-festival-day-3",
        "spring-festival-moved-from-the-weekend",
        "back-after-the-spring-festival",
        "national-day",
        "national-day-moved-from-the-weekend",
        "back-after-national-day",
    ],
)
def test_a_year_after_chinesecalendar_counts_the_statutory_holidays(day, expected):
    calendar = WorkdayCalendar()
    assert calendar.source_for(2027) == "holidays"
    assert calendar.is_workday(d(day)) is expected
    assert calendar.provisional_years == []


def test_a_year_no_library_knows_falls_back_to_monday_to_friday_and_is_reported(caplog):
    calendar = WorkdayCalendar()
    assert calendar.provisional_years == []
    assert calendar.source_for(2026) == "chinesecalendar"
    assert calendar.source_for(2101) == "weekdays"  # past holidays' lunar tables
    with caplog.at_level(logging.WARNING, logger="routing.workdays"):
        assert calendar.is_workday(d("2101-01-03")) is True  # a Monday; New Year's bridge unknown
        assert calendar.is_workday(d("2101-01-01")) is False  # a Saturday
        assert calendar.is_workday(d("2101-01-04")) is True
    assert calendar.provisional_years == [2101]
    warnings = [r for r in caplog.records if "2101" in r.getMessage()]
    assert len(warnings) == 1  # once per year, not once per day


def test_a_deadline_running_into_2027_skips_new_years_day():
    calendar = WorkdayCalendar()
    due = due_date(calendar, at("2026-12-30 10:00"), SHANGHAI, working_days=3, counting="next_working_day")
    assert due == "2027-01-05"  # 12-31, (01-01 New Year's Day), 01-04, 01-05
    assert calendar.provisional_years == []


PACK_2027 = {2027: {"off": ("2027-02-12",), "work": ("2027-02-20", "2027-02-08")}}


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2027-02-12", False),
        ("2027-02-20", True),
        ("2027-02-08", True),
        ("2027-02-09", False),
        ("2027-02-21", False),
        ("2027-02-22", True),
    ],
    ids=[
        "pack-holiday-on-a-friday",
        "pack-made-up-saturday",
        "pack-turns-a-library-holiday-into-a-working-day",
        "library-holiday-the-pack-leaves-alone",
        "plain-sunday",
        "plain-monday",
    ],
)
def test_pack_days_override_the_statutory_rules_for_a_year_after_chinesecalendar(day, expected):
    calendar = WorkdayCalendar(PACK_2027)
    assert calendar.is_workday(d(day)) is expected
    assert calendar.source_for(2027) == "holidays+pack"
    assert calendar.provisional_years == []


PACK_2101 = {2101: {"off": ("2101-01-03",), "work": ("2101-01-08",)}}


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2101-01-03", False),
        ("2101-01-04", True),
        ("2101-01-08", True),
        ("2101-01-09", False),
    ],
    ids=["pack-holiday-on-a-monday", "plain-tuesday", "pack-made-up-saturday", "plain-sunday"],
)
def test_pack_holidays_are_used_for_a_year_no_library_knows(day, expected):
    calendar = WorkdayCalendar(PACK_2101)
    assert calendar.is_workday(d(day)) is expected
    assert calendar.source_for(2101) == "pack"
    assert calendar.provisional_years == []


def test_a_deadline_over_pack_holidays():
    calendar = WorkdayCalendar(PACK_2027)
    due = due_date(calendar, at("2027-02-11 10:00"), SHANGHAI, working_days=2, counting="next_working_day")
    assert due == "2027-02-16"  # 02-12 is off by the pack: 02-15, 02-16
    assert calendar.provisional_years == []


def test_pack_holidays_do_not_cover_other_years():
    calendar = WorkdayCalendar(PACK_2101)
    assert calendar.source_for(2102) == "weekdays"
    calendar.is_workday(d("2102-01-03"))
    assert calendar.provisional_years == [2102]


def test_the_library_wins_over_the_pack_for_a_year_it_covers():
    calendar = WorkdayCalendar({2025: {"off": ("2025-09-29",), "work": ("2025-10-01",)}})
    assert calendar.source_for(2025) == "chinesecalendar"
    assert calendar.is_workday(d("2025-09-29")) is True
    assert calendar.is_workday(d("2025-10-01")) is False


# ---------------------------------------------------------------- a ticket's deadline, end to end


@pytest.mark.parametrize(
    "registered, due",
    [
        # 000 第十六条: 15 working days from the next working day. 02-05 (除夕) to 02-10 are off:
        # 02-02..04 (3), 02-11..12 (5), 02-15..19 (10), 02-22..26 (15). Monday to Friday said 02-22.
        ("2027-02-01 10:00", "2027-02-26"),
        # 12-29..31 (3), 01-04..08 (8), 01-11..15 (13), 01-18..19 (15); 01-01 is New Year's Day.
        ("2026-12-28 10:00", "2027-01-19"),
    ],
    ids=["over-the-2027-spring-festival", "over-new-years-day-2027"],
)
def test_a_wengyuan_complaint_is_due_after_the_holidays(database_url, tmp_path, registered, due):
    from tests.conftest import Clock, make_hotline

    hotline = make_hotline(database_url, tmp_path / "instance", Clock(at(registered)), policy="wengyuan")
    outcome = hotline.decide("我要投诉县城东门那家饭店，卖给我过期的牛奶，老板还骂人不肯退钱")
    assert (outcome.action, outcome.category) == ("ticket", "complaint")
    assert outcome.due == due
