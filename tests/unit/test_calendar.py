"""Business-hours clock: worked examples (weekends, holidays, DST, 24/7) and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itsm.domain.calendar import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    default_polish_calendar,
    is_working_time,
)

WARSAW = ZoneInfo("Europe/Warsaw")
INDEPENDENCE_DAY = date(2025, 11, 11)  # a Tuesday
OFFICE = default_polish_calendar([INDEPENDENCE_DAY])
ROUND_THE_CLOCK = BusinessCalendar(
    timezone="Europe/Warsaw",
    working_days=frozenset(range(5)),
    day_start=time(8),
    day_end=time(16),
    holidays=frozenset({INDEPENDENCE_DAY}),
    round_the_clock=True,
)
# Opens across the 2:00-3:00 DST jump, to show that working hours are wall-clock hours.
NIGHT_SHIFT_EVERY_DAY = BusinessCalendar(
    timezone="Europe/Warsaw",
    working_days=frozenset(range(7)),
    day_start=time(1),
    day_end=time(5),
    holidays=frozenset(),
)


def warsaw(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param(warsaw(2025, 3, 7, 15), 2, warsaw(2025, 3, 10, 9), id="friday-to-monday"),
        pytest.param(warsaw(2025, 11, 10, 15), 2, warsaw(2025, 11, 12, 9), id="holiday-skipped"),
        pytest.param(warsaw(2025, 3, 9, 10), 3, warsaw(2025, 3, 10, 11), id="start-on-sunday"),
        pytest.param(warsaw(2025, 3, 10, 6), 1, warsaw(2025, 3, 10, 9), id="before-opening"),
        pytest.param(warsaw(2025, 3, 10, 18), 1, warsaw(2025, 3, 11, 9), id="after-closing"),
        pytest.param(warsaw(2025, 3, 10, 8), 8, warsaw(2025, 3, 10, 16), id="ends-at-closing"),
        pytest.param(warsaw(2025, 3, 8, 12), 0, warsaw(2025, 3, 10, 8), id="zero-waits-opening"),
        pytest.param(warsaw(2025, 3, 10, 9), 0.5, warsaw(2025, 3, 10, 9, 30), id="half-hour"),
        pytest.param(warsaw(2025, 3, 3, 8), 80, warsaw(2025, 3, 14, 16), id="two-weeks"),
        # Spring forward on Sunday 30 March: still 8:00-16:00 local on both sides.
        pytest.param(warsaw(2025, 3, 28, 15), 2, warsaw(2025, 3, 31, 9), id="dst-spring-forward"),
        pytest.param(warsaw(2025, 3, 24, 8), 48, warsaw(2025, 3, 31, 16), id="dst-spring-week"),
        # Fall back on Sunday 26 October.
        pytest.param(warsaw(2025, 10, 24, 15), 2, warsaw(2025, 10, 27, 9), id="dst-fall-back"),
        pytest.param(warsaw(2025, 10, 20, 8), 48, warsaw(2025, 10, 27, 16), id="dst-fall-week"),
    ],
)
def test_add_business_hours_in_a_polish_office(
    start: datetime, hours: float, expected: datetime
) -> None:
    due = add_business_hours(start, hours, OFFICE)

    assert due == expected
    assert due.tzinfo is UTC
    assert business_hours_between(start, due, OFFICE) == pytest.approx(hours)


def test_dst_change_moves_the_utc_opening_hour() -> None:
    before = add_business_hours(warsaw(2025, 3, 28, 15), 1, OFFICE)
    after = add_business_hours(warsaw(2025, 3, 31, 8), 1, OFFICE)

    assert before == datetime(2025, 3, 28, 15, tzinfo=UTC)  # 16:00 CET
    assert after == datetime(2025, 3, 31, 7, tzinfo=UTC)  # 9:00 CEST


def test_a_window_spanning_the_jump_is_wall_clock_time() -> None:
    # 1:00-5:00 local is 3 real hours on spring-forward day and 5 on fall-back day.
    spring = business_hours_between(
        warsaw(2025, 3, 30, 0), warsaw(2025, 3, 30, 12), NIGHT_SHIFT_EVERY_DAY
    )
    autumn = business_hours_between(
        warsaw(2025, 10, 26, 0), warsaw(2025, 10, 26, 12), NIGHT_SHIFT_EVERY_DAY
    )

    assert (spring, autumn) == (3.0, 5.0)


def test_round_the_clock_counts_nights_weekends_and_holidays() -> None:
    saturday_night = warsaw(2025, 3, 8, 23)

    assert add_business_hours(saturday_night, 5, ROUND_THE_CLOCK) == warsaw(2025, 3, 9, 4)
    holiday_eve = warsaw(2025, 11, 10, 20)
    assert add_business_hours(holiday_eve, 24, ROUND_THE_CLOCK) == warsaw(2025, 11, 11, 20)


def test_round_the_clock_counts_real_hours_across_dst() -> None:
    # 1:00 CET + 2 real hours = 4:00 CEST, because 2:00-3:00 never happens that night.
    assert add_business_hours(warsaw(2025, 3, 30, 1), 2, ROUND_THE_CLOCK) == warsaw(2025, 3, 30, 4)
    assert business_hours_between(
        warsaw(2025, 10, 26, 0), warsaw(2025, 10, 27, 0), ROUND_THE_CLOCK
    ) == pytest.approx(25)


def test_start_in_another_zone_is_the_same_instant() -> None:
    friday_in_utc = datetime(2025, 3, 7, 14, tzinfo=UTC)  # 15:00 in Warsaw

    assert add_business_hours(friday_in_utc, 2, OFFICE) == warsaw(2025, 3, 10, 9)


def test_between_is_zero_outside_working_time_and_for_reversed_bounds() -> None:
    weekend = business_hours_between(warsaw(2025, 3, 8, 0), warsaw(2025, 3, 10, 8), OFFICE)
    reversed_bounds = business_hours_between(
        warsaw(2025, 3, 10, 12), warsaw(2025, 3, 10, 9), OFFICE
    )

    assert (weekend, reversed_bounds) == (0.0, 0.0)


def test_between_counts_partial_days() -> None:
    hours = business_hours_between(warsaw(2025, 3, 7, 14, 30), warsaw(2025, 3, 10, 9), OFFICE)

    assert hours == pytest.approx(2.5)


def test_big_spans_are_cheap_and_consistent() -> None:
    start = warsaw(2020, 1, 1, 0)
    ten_years_of_hours = 8 * 261 * 10

    due = add_business_hours(start, ten_years_of_hours, OFFICE)

    assert date(2029, 12, 1) < due.date() < date(2030, 1, 31)
    assert business_hours_between(start, due, OFFICE) == pytest.approx(ten_years_of_hours)


def test_is_working_time() -> None:
    assert is_working_time(warsaw(2025, 3, 10, 8), OFFICE)
    assert is_working_time(warsaw(2025, 3, 10, 15, 59), OFFICE)
    assert not is_working_time(warsaw(2025, 3, 10, 16), OFFICE)
    assert not is_working_time(warsaw(2025, 3, 9, 12), OFFICE)
    assert not is_working_time(warsaw(2025, 11, 11, 12), OFFICE)
    assert is_working_time(warsaw(2025, 3, 9, 3), ROUND_THE_CLOCK)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_hours(datetime(2025, 3, 10, 9), 1, OFFICE)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_hours_between(warsaw(2025, 3, 10, 9), datetime(2025, 3, 10, 12), OFFICE)


@pytest.mark.parametrize("hours", [-1.0, float("nan"), float("inf")])
def test_hours_must_be_finite_and_non_negative(hours: float) -> None:
    with pytest.raises(ValueError, match="hours"):
        add_business_hours(warsaw(2025, 3, 10, 9), hours, OFFICE)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Warsw"}, "time zone"),
        ({"working_days": frozenset()}, "working_days"),
        ({"working_days": frozenset({7})}, "working_days"),
        ({"day_start": time(16), "day_end": time(8)}, "before"),
        ({"day_start": time(8, tzinfo=UTC)}, "tzinfo"),
    ],
)
def test_invalid_calendars_are_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "timezone": "Europe/Warsaw",
        "working_days": frozenset(range(5)),
        "day_start": time(8),
        "day_end": time(16),
        "holidays": frozenset(),
    }
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**(fields | changes))  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------------------

ZONES = ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    # Closing between 13:00 and 23:30 keeps it clear of every DST jump in ZONES.
    opening_hour = draw(st.integers(min_value=0, max_value=12))
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        working_days=draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1)),
        day_start=time(opening_hour, draw(st.sampled_from([0, 30]))),
        day_end=time(draw(st.integers(min_value=13, max_value=23)), draw(st.sampled_from([0, 30]))),
        holidays=draw(st.frozensets(st.dates(date(2019, 12, 1), date(2032, 12, 31)), max_size=40)),
        round_the_clock=draw(st.booleans()),
    )


starts = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([UTC, *(ZoneInfo(zone) for zone in ZONES)]),
)
hours = st.floats(min_value=0, max_value=400, allow_nan=False, allow_infinity=False)


@given(start=starts, hours=hours, calendar=calendars())
def test_between_undoes_add(start: datetime, hours: float, calendar: BusinessCalendar) -> None:
    due = add_business_hours(start, hours, calendar)

    assert business_hours_between(start, due, calendar) == pytest.approx(hours, abs=1 / 3600)


@given(start=starts, first=hours, second=hours, calendar=calendars())
def test_more_hours_never_end_earlier(
    start: datetime, first: float, second: float, calendar: BusinessCalendar
) -> None:
    shorter, longer = sorted((first, second))

    assert add_business_hours(start, shorter, calendar) <= add_business_hours(
        start, longer, calendar
    )


@given(start=starts, hours=hours, calendar=calendars())
def test_due_instant_is_in_working_time(
    start: datetime, hours: float, calendar: BusinessCalendar
) -> None:
    due = add_business_hours(start, hours, calendar)

    assert due.tzinfo is UTC
    assert due >= start
    if calendar.round_the_clock:
        assert abs(due - start - timedelta(hours=hours)) <= timedelta(seconds=1)
    else:
        local = due.astimezone(calendar.zone)
        assert local.weekday() in calendar.working_days
        assert local.date() not in calendar.holidays
        assert calendar.day_start <= local.time() <= calendar.day_end
