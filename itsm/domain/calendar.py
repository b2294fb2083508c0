"""A client's business-hours clock: which instants count as working time, and adding/measuring it.

Working hours are local wall-clock hours (8:00-16:00 Europe/Warsaw stays 8:00-16:00 local on both
sides of a DST change); instants going in must be timezone-aware and instants coming out are UTC.
Everything is built on `working_intervals`, so later rules (pauses, holiday libraries) can filter
or cut those intervals without touching the arithmetic.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_library

_ONE_DAY = timedelta(days=1)
_ONE_HOUR = timedelta(hours=1)
_MONDAY_TO_FRIDAY = frozenset(range(5))


@dataclass(frozen=True)
class BusinessCalendar:
    """When a client's SLA clock runs.

    `working_days` uses `date.weekday()` numbers (0 = Monday). `holidays` are the client's own
    days off; `holiday_country` (ISO 3166 code, e.g. "PL") adds that country's public holidays
    for any year from the maintained ``holidays`` package, so the calendar never runs out.
    With `round_the_clock` (a 24/7 contract) every hour counts and the days, hours and
    holidays are ignored.
    """

    timezone: str
    working_days: frozenset[int]
    day_start: time
    day_end: time
    holidays: frozenset[date]
    round_the_clock: bool = False
    holiday_country: str | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from error
        if not self.working_days:
            # Without a single working day, adding hours would never finish.
            raise ValueError("working_days must not be empty")
        if not self.working_days <= frozenset(range(7)):
            raise ValueError(
                f"working_days must be 0 (Monday) .. 6, got {sorted(self.working_days)}"
            )
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are local wall-clock times without tzinfo")
        if self.holiday_country is not None:
            public_holidays(self.holiday_country, 2000)  # an unknown country fails here, once
        if self.day_start >= self.day_end:
            raise ValueError(f"day_start {self.day_start} must be before day_end {self.day_end}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if self.round_the_clock:
            return True
        if day.weekday() not in self.working_days or day in self.holidays:
            return False
        return self.holiday_country is None or day not in public_holidays(
            self.holiday_country, day.year
        )


def default_polish_calendar(
    holidays: Iterable[date] = (), *, holiday_country: str | None = None
) -> BusinessCalendar:
    """The usual Polish office: Monday to Friday, 8:00-16:00 Europe/Warsaw."""
    return BusinessCalendar(
        timezone="Europe/Warsaw",
        working_days=_MONDAY_TO_FRIDAY,
        day_start=time(8, 0),
        day_end=time(16, 0),
        holidays=frozenset(holidays),
        holiday_country=holiday_country,
    )


@functools.lru_cache(maxsize=256)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """A country's public holidays in one year (no network: the data ships with the package)."""
    try:
        found = holidays_library.country_holidays(country, years=year)
    except NotImplementedError as error:
        raise ValueError(f"no public-holiday calendar for country {country!r}") from error
    return frozenset(found.keys())


def working_intervals(
    start: datetime, calendar: BusinessCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """Yield the working intervals [open, close) in UTC from `start` on, in order, without end.

    The first interval is clipped so that it never begins before `start`. A 24/7 calendar yields
    one interval per local day, back to back.
    """
    _require_aware(start, "start")
    start_utc = start.astimezone(UTC)
    day = start_utc.astimezone(calendar.zone).date()
    while True:
        if calendar.is_working_day(day):
            opens, closes = _local_day_window(day, calendar)
            opens = max(opens, start_utc)
            if opens < closes:
                yield opens, closes
        day += _ONE_DAY


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The UTC instant after `hours` of working time counted from `start`.

    Counting outside working time begins at the next opening, so adding 0 hours outside working
    time gives that opening. A result that lands exactly on closing time stays there (due at 16:00
    rather than at 8:00 the next working day).
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite non-negative number, got {hours}")
    remaining = hours * _ONE_HOUR
    for opens, closes in working_intervals(start, calendar):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("working_intervals never ends")  # pragma: no cover


def business_hours_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Hours of working time in [start, end); 0.0 when `end` is not after `start`."""
    _require_aware(end, "end")
    total = timedelta()
    for opens, closes in working_intervals(start, calendar):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total / _ONE_HOUR


def is_working_time(instant: datetime, calendar: BusinessCalendar) -> bool:
    """Whether the SLA clock runs at `instant` (opening counts, closing does not)."""
    opens, _ = next(working_intervals(instant, calendar))
    return opens == instant.astimezone(UTC)


def _local_day_window(day: date, calendar: BusinessCalendar) -> tuple[datetime, datetime]:
    """UTC bounds of the working window of one local day.

    Wall-clock times skipped by a spring-forward jump move forward by the jump and repeated ones
    take their first occurrence (zoneinfo's fold=0); a window that this empties is skipped.
    """
    zone = calendar.zone
    if calendar.round_the_clock:
        opens_local = datetime.combine(day, time(0), tzinfo=zone)
        closes_local = datetime.combine(day + _ONE_DAY, time(0), tzinfo=zone)
    else:
        opens_local = datetime.combine(day, calendar.day_start, tzinfo=zone)
        closes_local = datetime.combine(day, calendar.day_end, tzinfo=zone)
    return opens_local.astimezone(UTC), closes_local.astimezone(UTC)


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
