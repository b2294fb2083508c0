"""Business time: properties over random calendars (zones with odd DST, public holidays from the
``holidays`` package, 24/7) and worked examples that pin the library's holiday data.

`test_calendar.py` holds the basic examples; the properties here add what it leaves out:
``holiday_country``, windows that open or close inside a DST jump, Lord Howe's 30-minute
change, exact (1 µs) round trips, additivity and splitting of measured time.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_library
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itsm.domain.calendar import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    default_polish_calendar,
    is_working_time,
    public_holidays,
)

WARSAW = ZoneInfo("Europe/Warsaw")
ONE_MICROSECOND = timedelta(microseconds=1)
MICROSECOND_IN_HOURS = 1 / 3_600_000_000
POLISH_OFFICE = default_polish_calendar(holiday_country="PL")

PROPERTY = settings(max_examples=200, deadline=None)


def warsaw(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


# --- worked examples ------------------------------------------------------------------------


def test_polish_public_holidays_come_from_the_library_far_ahead() -> None:
    year_2030 = public_holidays("PL", 2030)

    assert {date(2030, 11, 1), date(2030, 4, 22), date(2030, 11, 11)} <= year_2030
    # All Saints' Day 2030 is a Friday: Thursday 15:00 + 2 h is Monday 9:00.
    assert add_business_hours(warsaw(2030, 10, 31, 15), 2, POLISH_OFFICE) == warsaw(2030, 11, 4, 9)
    # Easter Monday 2030 (22 April): Friday 15:00 + 2 h is Tuesday 9:00.
    assert add_business_hours(warsaw(2030, 4, 19, 15), 2, POLISH_OFFICE) == warsaw(2030, 4, 23, 9)
    # The week of 11 November 2030 (a Monday) has four working days.
    assert business_hours_between(
        warsaw(2030, 11, 11, 0), warsaw(2030, 11, 16, 0), POLISH_OFFICE
    ) == pytest.approx(32)
    assert not is_working_time(warsaw(2030, 11, 1, 10), POLISH_OFFICE)


def test_a_calendar_without_holiday_country_works_on_public_holidays() -> None:
    assert is_working_time(warsaw(2030, 11, 1, 10), default_polish_calendar())


def test_christmas_eve_is_a_polish_holiday_only_from_2025() -> None:
    library_2024 = holidays_library.country_holidays("PL", years=2024)
    library_2025 = holidays_library.country_holidays("PL", years=2025)
    # What the library says (the law changed in 2025) ...
    assert date(2024, 12, 24) not in library_2024
    assert library_2025.get(date(2025, 12, 24)) == "Christmas Eve"
    # ... is what the calendar does.
    assert is_working_time(warsaw(2024, 12, 24, 10), POLISH_OFFICE)
    assert not is_working_time(warsaw(2025, 12, 24, 10), POLISH_OFFICE)
    # Monday 23 December 2024 15:00 + 2 h: Tuesday the 24th is a working day.
    assert add_business_hours(warsaw(2024, 12, 23, 15), 2, POLISH_OFFICE) == warsaw(2024, 12, 24, 9)
    # Tuesday 23 December 2025 15:00 + 2 h: 24, 25 and 26 are holidays, then the weekend.
    assert add_business_hours(warsaw(2025, 12, 23, 15), 2, POLISH_OFFICE) == warsaw(2025, 12, 29, 9)


def test_client_holidays_and_public_holidays_add_up() -> None:
    bridge_day = date(2030, 11, 12)  # the Tuesday after Independence Day
    office = default_polish_calendar([bridge_day], holiday_country="PL")

    assert add_business_hours(warsaw(2030, 11, 8, 15), 2, office) == warsaw(2030, 11, 13, 9)


@pytest.mark.parametrize(
    ("friday", "monday", "utc_opening_before", "utc_opening_after"),
    [
        pytest.param(date(2026, 3, 27), date(2026, 3, 30), 7, 6, id="spring-2026-03-29"),
        pytest.param(date(2026, 10, 23), date(2026, 10, 26), 6, 7, id="autumn-2026-10-25"),
    ],
)
def test_warsaw_dst_change_keeps_eight_to_sixteen_local(
    friday: date, monday: date, utc_opening_before: int, utc_opening_after: int
) -> None:
    friday_15 = datetime.combine(friday, time(15), tzinfo=WARSAW)

    due = add_business_hours(friday_15, 2, POLISH_OFFICE)

    assert due == datetime.combine(monday, time(9), tzinfo=WARSAW)
    friday_opening = add_business_hours(
        datetime.combine(friday, time(0), tzinfo=WARSAW), 0, POLISH_OFFICE
    )
    monday_opening = add_business_hours(
        datetime.combine(monday, time(0), tzinfo=WARSAW), 0, POLISH_OFFICE
    )
    assert (friday_opening.hour, monday_opening.hour) == (utc_opening_before, utc_opening_after)
    # Eight hours a day on both sides: the week before the change is 40 hours, the two weeks
    # around it are 80, and from the first Monday 8:00 to the second Monday 9:00 is 41.
    week_start = datetime.combine(monday - timedelta(days=7), time(8), tzinfo=WARSAW)
    friday_16 = datetime.combine(friday, time(16), tzinfo=WARSAW)
    assert add_business_hours(week_start, 40, POLISH_OFFICE) == friday_16
    assert add_business_hours(week_start, 80, POLISH_OFFICE) == friday_16 + timedelta(days=7)
    assert business_hours_between(week_start, due, POLISH_OFFICE) == pytest.approx(41)


# --- properties -----------------------------------------------------------------------------

ZONES = ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
QUARTERS_OF_A_DAY = 24 * 4
FIRST_HOLIDAY = date(2023, 12, 1)  # client holidays fall in December 2023 .. December 2032


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Any window on a 15-minute grid, so openings and closings also fall inside DST jumps
    (2:00-3:00 in Warsaw and New York, 2:00-2:30 in Lord Howe)."""
    opening = draw(st.integers(min_value=0, max_value=QUARTERS_OF_A_DAY - 2))
    closing = draw(st.integers(min_value=opening + 1, max_value=QUARTERS_OF_A_DAY - 1))
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        working_days=draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1)),
        day_start=time(opening // 4, opening % 4 * 15),
        day_end=time(closing // 4, closing % 4 * 15),
        holidays=frozenset(
            FIRST_HOLIDAY + timedelta(days=offset)
            for offset in draw(st.lists(st.integers(min_value=0, max_value=3318), max_size=20))
        ),
        holiday_country=draw(st.sampled_from([None, "PL"])),
        round_the_clock=draw(st.booleans()),
    )


# Local times, including imaginary ones inside a spring-forward gap (they still name an instant).
# Aware datetimes in a zone subtract and compare as wall-clock times, so the tests do their own
# arithmetic in UTC.
starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2031, 12, 31, 23, 59),
    timezones=st.sampled_from([UTC, *(ZoneInfo(zone) for zone in ZONES)]),
)
any_hours = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
# Multiples of 1/64 hour (56.25 s) are exact in floats and in microseconds, so sums are exact.
grid_hours = st.integers(min_value=0, max_value=100 * 64).map(lambda n: n / 64)


@functools.lru_cache(maxsize=64)
def _library_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays_library.country_holidays(country, years=year))


def _oracle_is_day_off(day: date, calendar: BusinessCalendar) -> bool:
    """Independent of the module: weekday set, client holidays, the library's holidays."""
    if day.weekday() not in calendar.working_days or day in calendar.holidays:
        return True
    country = calendar.holiday_country
    return country is not None and day in _library_holidays(country, day.year)


def _wall_clock_after_normalising(day: date, moment: time, zone: ZoneInfo) -> time:
    """The local time a wall-clock time becomes on `day`: itself, except that a time skipped by
    a spring-forward jump moves forward by the jump (the standard library's fold=0 reading)."""
    local = datetime.combine(day, moment, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).time()


@PROPERTY
@given(start=starts, hours=any_hours, calendar=calendars())
def test_between_undoes_add_to_the_microsecond(
    start: datetime, hours: float, calendar: BusinessCalendar
) -> None:
    due = add_business_hours(start, hours, calendar)

    assert abs(business_hours_between(start, due, calendar) - hours) <= MICROSECOND_IN_HOURS


@PROPERTY
@given(start=starts, first=any_hours, second=any_hours, calendar=calendars())
def test_add_is_monotonic_in_hours(
    start: datetime, first: float, second: float, calendar: BusinessCalendar
) -> None:
    shorter, longer = sorted((first, second))

    assert add_business_hours(start, shorter, calendar) <= add_business_hours(
        start, longer, calendar
    )


@PROPERTY
@given(start=starts, first=grid_hours, second=grid_hours, calendar=calendars())
def test_add_is_additive(
    start: datetime, first: float, second: float, calendar: BusinessCalendar
) -> None:
    halfway = add_business_hours(start, first, calendar)
    in_two_steps = add_business_hours(halfway, second, calendar)

    if second > 0:
        assert in_two_steps == add_business_hours(start, first + second, calendar)
    else:
        # Adding nothing at a closing instant waits for the next opening; nothing is counted.
        assert in_two_steps >= halfway
        assert business_hours_between(halfway, in_two_steps, calendar) == 0
        assert (in_two_steps == halfway) == is_working_time(halfway, calendar)


@PROPERTY
@given(start=starts, hours=any_hours, calendar=calendars())
def test_result_is_working_time_or_exactly_a_closing(
    start: datetime, hours: float, calendar: BusinessCalendar
) -> None:
    due = add_business_hours(start, hours, calendar)

    assert due.tzinfo is UTC
    assert due >= start
    if not is_working_time(due, calendar):
        # A closing: the microsecond before it counts, the one at it does not.
        assert due > start
        before = business_hours_between(due - ONE_MICROSECOND, due, calendar)
        assert before == pytest.approx(MICROSECOND_IN_HOURS)
        assert is_working_time(due - ONE_MICROSECOND, calendar)


@PROPERTY
@given(start=starts, hours=any_hours, calendar=calendars())
def test_result_never_falls_on_a_day_off_or_outside_the_window(
    start: datetime, hours: float, calendar: BusinessCalendar
) -> None:
    due = add_business_hours(start, hours, calendar)

    if calendar.round_the_clock:
        assert abs(due - start.astimezone(UTC) - timedelta(hours=hours)) <= ONE_MICROSECOND
        return
    local = due.astimezone(calendar.zone)
    assert not _oracle_is_day_off(local.date(), calendar)
    # On a DST day a closing inside the jump moves forward by the jump (documented).
    closing = _wall_clock_after_normalising(local.date(), calendar.day_end, calendar.zone)
    assert calendar.day_start <= local.time() <= closing


@PROPERTY
@given(
    start=starts,
    first=st.integers(min_value=0, max_value=10 * 24 * 60),
    second=st.integers(min_value=0, max_value=10 * 24 * 60),
    calendar=calendars(),
)
def test_measured_time_adds_up_over_a_split_point(
    start: datetime, first: int, second: int, calendar: BusinessCalendar
) -> None:
    start = start.astimezone(UTC)
    middle = start + timedelta(minutes=first)
    end = middle + timedelta(minutes=second)

    whole = business_hours_between(start, end, calendar)
    parts = business_hours_between(start, middle, calendar) + business_hours_between(
        middle, end, calendar
    )

    assert whole == pytest.approx(parts, abs=MICROSECOND_IN_HOURS)
    assert 0 <= whole <= (end - start) / timedelta(hours=1)


@PROPERTY
@given(
    start=starts,
    hours=any_hours,
    zone=st.sampled_from(ZONES),
    working_days=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
    country=st.sampled_from([None, "PL"]),
)
def test_round_the_clock_is_plain_timedelta_addition(
    start: datetime,
    hours: float,
    zone: str,
    working_days: frozenset[int],
    country: str | None,
) -> None:
    calendar = BusinessCalendar(
        timezone=zone,
        working_days=working_days,
        day_start=time(8),
        day_end=time(16),
        holidays=frozenset({date(2026, 12, 25), date(2029, 1, 1)}),
        holiday_country=country,
        round_the_clock=True,
    )

    due = add_business_hours(start, hours, calendar)

    assert due == start.astimezone(UTC) + timedelta(hours=hours)
    assert is_working_time(due, calendar)
    assert business_hours_between(start, due, calendar) == pytest.approx(
        (due - start) / timedelta(hours=1), abs=MICROSECOND_IN_HOURS
    )
