"""The SLA clock read from a ticket's status history: worked examples and properties.

The examples use a Polish office (Europe/Warsaw, Monday to Friday 8:00-16:00, public holidays
from the ``holidays`` package). Monday 2 March 2026 is an ordinary working Monday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from itsm.domain.calendar import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    default_polish_calendar,
)
from itsm.domain.sla_clock import (
    ClockReading,
    ClockRules,
    SlaClockKind,
    SlaReading,
    StatusChange,
    Threshold,
    read_sla,
)
from itsm.domain.tickets import TicketStatus as S

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = default_polish_calendar(holiday_country="PL")
ROUND_THE_CLOCK = replace(OFFICE, round_the_clock=True)
WAITING = frozenset({S.AWAITING_APPROVAL, S.AWAITING_REQUESTER, S.WITH_VENDOR})
RULES = ClockRules(WAITING)
MICROSECOND_IN_HOURS = 1 / 3_600_000_000


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def history(*changes: tuple[datetime, S]) -> list[StatusChange]:
    return [StatusChange(when, status) for when, status in changes]


def read(
    changes: Sequence[StatusChange],
    *,
    reaction: float = 4,
    resolution: float | None = 16,
    responded_at: datetime | None = None,
    resolved_at: datetime | None = None,
    calendar: BusinessCalendar = OFFICE,
    rules: ClockRules = RULES,
) -> SlaReading:
    return read_sla(
        changes,
        reaction_hours=reaction,
        resolution_hours=resolution,
        responded_at=responded_at,
        resolved_at=resolved_at,
        calendar=calendar,
        rules=rules,
    )


def resolution_of(reading: SlaReading) -> ClockReading:
    assert reading.resolution is not None
    return reading.resolution


REGISTERED = (at(2, 9), S.NEW)  # Monday 9:00


# --- running and pausing --------------------------------------------------------------------


def test_without_pauses_the_due_instants_are_plain_business_hours() -> None:
    reading = read(history(REGISTERED, (at(2, 9, 30), S.IN_PROGRESS)))

    reaction, resolution = reading.reaction, resolution_of(reading)
    assert reaction.kind is SlaClockKind.REACTION
    assert reaction.due_at == add_business_hours(at(2, 9), 4, OFFICE) == at(2, 13)
    assert resolution.due_at == add_business_hours(at(2, 9), 16, OFFICE) == at(4, 9)  # Wed
    assert (reaction.paused_since, reaction.elapsed_hours, reaction.stopped_at) == (None,) * 3
    assert (reaction.met, reaction.remaining_hours) == (None, None)


def test_warning_comes_at_three_quarters_of_the_target() -> None:
    reading = read(history(REGISTERED))

    assert reading.reaction.warn_at == at(2, 12)  # 3 of 4 hours
    assert resolution_of(reading).warn_at == at(3, 13)  # 12 of 16 hours: Mon 7 h, Tue 5 h

    half = read(history(REGISTERED), rules=ClockRules(WAITING, warning_fraction=0.5))
    assert half.reaction.warn_at == at(2, 11)


def test_a_pause_in_the_middle_moves_due_by_the_paused_working_hours() -> None:
    changes = history(REGISTERED, (at(2, 10), S.AWAITING_APPROVAL), (at(2, 11, 30), S.IN_PROGRESS))

    reading = read(changes)

    assert reading.reaction.due_at == at(2, 14, 30)
    assert resolution_of(reading).due_at == at(4, 10, 30)
    assert reading.reaction.warn_at == at(2, 13, 30)
    assert reading.reaction.paused_since is None


def test_a_pause_over_the_weekend_costs_no_extra_working_time() -> None:
    friday_14 = (at(6, 14), S.NEW)
    plain = read(history(friday_14))
    over_weekend = read(history(friday_14, (at(6, 16), S.WITH_VENDOR), (at(9, 8), S.IN_PROGRESS)))
    saturday_only = read(
        history(friday_14, (at(7, 10), S.AWAITING_REQUESTER), (at(8, 18), S.IN_PROGRESS))
    )

    assert plain.reaction.due_at == at(9, 10)  # Friday 2 h, Monday 2 h
    assert over_weekend == plain == saturday_only


def test_paused_at_the_end_has_no_due_instant_but_a_pause_start() -> None:
    reading = read(history(REGISTERED, (at(2, 10), S.AWAITING_REQUESTER)))

    for clock, left in [(reading.reaction, 3.0), (resolution_of(reading), 15.0)]:
        assert clock.due_at is None
        assert clock.warn_at is None
        assert clock.paused_since == at(2, 10)
        assert clock.elapsed_hours == pytest.approx(1)
        assert clock.remaining_hours == pytest.approx(left)
        assert clock.met is None
        assert clock.pending() == {}


def test_consecutive_pauses_are_paused_since_the_first_of_them() -> None:
    # Found by these tests: paused_since was the start of the *last* paused status (11:00).
    changes = history(REGISTERED, (at(2, 10), S.AWAITING_APPROVAL), (at(2, 11), S.WITH_VENDOR))

    reading = read(changes)

    assert reading.reaction.paused_since == at(2, 10)
    assert resolution_of(reading).paused_since == at(2, 10)
    assert reading.reaction.elapsed_hours == pytest.approx(1)


def test_a_warning_reached_before_the_pause_stays_but_nothing_is_pending() -> None:
    reading = read(history(REGISTERED, (at(2, 12, 30), S.AWAITING_APPROVAL)))

    assert reading.reaction.warn_at == at(2, 12)
    assert reading.reaction.due_at is None
    assert reading.reaction.paused_since == at(2, 12, 30)
    assert reading.reaction.remaining_hours == pytest.approx(0.5)
    assert reading.reaction.pending() == {}


def test_a_breach_reached_before_the_pause_keeps_its_due_instant() -> None:
    changes = history(REGISTERED, (at(2, 9, 30), S.IN_PROGRESS), (at(3, 10), S.AWAITING_APPROVAL))

    reading = read(changes)

    reaction, resolution = reading.reaction, resolution_of(reading)
    assert reaction.due_at == at(2, 13)
    assert reaction.paused_since is None
    assert reaction.pending() == {Threshold.WARNING: at(2, 12), Threshold.BREACH: at(2, 13)}
    assert reaction.pending([Threshold.WARNING]) == {Threshold.BREACH: at(2, 13)}
    # The resolution target (16 h) was not reached by Tuesday 10:00 (9 h): it is paused.
    assert resolution.due_at is None
    assert resolution.paused_since == at(3, 10)
    assert resolution.remaining_hours == pytest.approx(7)


def test_a_breach_exactly_at_the_pause_start_stands() -> None:
    reading = read(history(REGISTERED, (at(2, 13), S.AWAITING_APPROVAL)))

    assert (reading.reaction.due_at, reading.reaction.paused_since) == (at(2, 13), None)


def test_pending_leaves_out_fired_thresholds() -> None:
    reaction = read(history(REGISTERED)).reaction

    assert reaction.pending() == {Threshold.WARNING: at(2, 12), Threshold.BREACH: at(2, 13)}
    assert reaction.pending([Threshold.WARNING]) == {Threshold.BREACH: at(2, 13)}
    assert reaction.pending([Threshold.WARNING, Threshold.BREACH]) == {}


# --- stopping ---------------------------------------------------------------------------------


def test_an_early_response_meets_the_reaction_target_and_stays_met() -> None:
    early = read(history(REGISTERED), responded_at=at(2, 9, 30))
    later_history = read(
        history(
            REGISTERED,
            (at(2, 10), S.AWAITING_APPROVAL),
            (at(5, 10), S.IN_PROGRESS),
            (at(9, 10), S.WITH_VENDOR),
        ),
        responded_at=at(2, 9, 30),
    )

    reaction = early.reaction
    assert reaction.stopped_at == at(2, 9, 30)
    assert reaction.met is True
    assert reaction.elapsed_hours == pytest.approx(0.5)
    assert reaction.remaining_hours == pytest.approx(3.5)
    assert reaction.due_at == at(2, 13)  # projected as running after the stop
    assert reaction.pending() == {}
    assert later_history.reaction == reaction


def test_a_response_after_the_due_instant_misses_the_target() -> None:
    reaction = read(history(REGISTERED), responded_at=at(3, 9)).reaction

    assert reaction.met is False
    assert reaction.due_at == at(2, 13)
    assert reaction.elapsed_hours == pytest.approx(8)
    assert reaction.remaining_hours == 0
    assert reaction.pending() == {}


def test_a_response_during_a_pause_counts_until_the_pause() -> None:
    changes = history(REGISTERED, (at(2, 10), S.AWAITING_APPROVAL))

    reaction = read(changes, responded_at=at(4, 10)).reaction

    assert reaction.elapsed_hours == pytest.approx(1)
    assert reaction.paused_since is None
    assert reaction.due_at == at(4, 13)  # 3 hours left, projected from the response
    assert reaction.met is True


def test_a_response_stamped_before_the_registration_counts_from_the_registration() -> None:
    # Found by the no-pause property: a skewed clock put the projected due instant before
    # the ticket existed (9:00 + 4 h counted from 8:00 was 12:00).
    reaction = read(history(REGISTERED), responded_at=at(2, 8)).reaction

    assert reaction.due_at == at(2, 13)
    assert reaction.elapsed_hours == 0
    assert reaction.met is True


def test_time_while_resolved_is_not_counted_and_reopening_resumes() -> None:
    first = [REGISTERED, (at(2, 9, 30), S.IN_PROGRESS), (at(2, 15), S.RESOLVED)]
    reopened = [*first, (at(4, 10), S.IN_PROGRESS)]  # Tuesday and Wednesday morning skipped
    second = [*reopened, (at(4, 14), S.RESOLVED)]

    while_resolved = resolution_of(read(history(*first), resolved_at=at(2, 15)))
    running_again = resolution_of(read(history(*reopened)))
    resolved_again = resolution_of(read(history(*second), resolved_at=at(4, 14)))

    assert while_resolved.stopped_at == at(2, 15)
    assert while_resolved.elapsed_hours == pytest.approx(6)
    assert while_resolved.due_at == at(4, 9)  # 10 hours left, projected from the resolution
    assert while_resolved.met is True
    assert while_resolved.pending() == {}
    # Reopened on Wednesday 10:00 with 10 hours left: Wednesday 6 h, Thursday 4 h.
    assert running_again.due_at == at(5, 12)
    assert running_again.stopped_at is None
    assert running_again.met is None
    assert resolved_again.stopped_at == at(4, 14)
    assert resolved_again.elapsed_hours == pytest.approx(10)
    assert resolved_again.due_at == at(5, 12)
    assert resolved_again.met is True


@pytest.mark.parametrize("final", [S.CLOSED, S.REJECTED])
def test_closing_or_rejecting_stops_the_resolution_clock(final: S) -> None:
    reading = read(history(REGISTERED, (at(2, 11), final)))

    resolution = resolution_of(reading)
    assert resolution.stopped_at == at(2, 11)
    assert resolution.elapsed_hours == pytest.approx(2)
    assert resolution.met is True
    assert resolution.due_at == add_business_hours(at(2, 9), 16, OFFICE)


def test_closed_after_resolved_stops_at_the_resolution() -> None:
    # Found by these tests: without resolved_at the stop was the closing (Thursday), so the
    # days between resolution and closing vanished from the projection and the stop instant
    # was reported three days late.
    changes = history(REGISTERED, (at(2, 15), S.RESOLVED), (at(5, 15), S.CLOSED))

    without_resolved_at = resolution_of(read(changes))
    with_resolved_at = resolution_of(read(changes, resolved_at=at(2, 15)))

    assert without_resolved_at == with_resolved_at
    assert with_resolved_at.stopped_at == at(2, 15)
    assert with_resolved_at.due_at == at(4, 9)
    assert with_resolved_at.elapsed_hours == pytest.approx(6)


def test_a_late_resolution_misses_the_target() -> None:
    resolution = resolution_of(
        read(history(REGISTERED, (at(5, 9), S.RESOLVED)), resolved_at=at(5, 9))
    )

    assert resolution.due_at == at(4, 9)
    assert resolution.met is False
    assert resolution.elapsed_hours == pytest.approx(24)
    assert resolution.remaining_hours == 0


def test_without_a_resolution_target_there_is_no_resolution_clock() -> None:
    reading = read(history(REGISTERED), resolution=None)

    assert reading.resolution is None
    assert list(reading.clocks()) == [reading.reaction]


# --- recomputation ----------------------------------------------------------------------------


def test_a_late_recorded_entry_gives_the_same_result_as_in_order() -> None:
    in_order = history(
        REGISTERED,
        (at(2, 10), S.AWAITING_APPROVAL),
        (at(2, 11, 30), S.IN_PROGRESS),
        (at(3, 9), S.WITH_VENDOR),
        (at(3, 12), S.IN_PROGRESS),
    )
    recorded_late = [in_order[0], in_order[2], in_order[4], in_order[3], in_order[1]]

    assert read(recorded_late) == read(in_order)
    assert read(recorded_late).reaction.due_at == at(2, 14, 30)


def test_a_changed_pause_rule_recomputes_the_due_instants() -> None:
    changes = history(REGISTERED, (at(2, 10), S.WITH_VENDOR), (at(3, 10), S.IN_PROGRESS))

    vendor_pauses = read(changes, rules=ClockRules(WAITING))
    vendor_runs = read(changes, rules=ClockRules(WAITING - {S.WITH_VENDOR}))

    assert vendor_runs.reaction.due_at == at(2, 13)
    assert resolution_of(vendor_runs).due_at == at(4, 9)
    # With the vendor from Monday 10:00 to Tuesday 10:00 is 8 working hours.
    assert vendor_pauses.reaction.due_at == at(3, 13)
    assert resolution_of(vendor_pauses).due_at == at(5, 9)


def test_an_empty_history_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        read([])


@pytest.mark.parametrize(
    ("paused", "fraction"),
    [(frozenset({S.NEW}), 0.75), (WAITING, 0.0), (WAITING, 1.0), (WAITING, 1.5)],
)
def test_invalid_rules_are_refused(paused: frozenset[S], fraction: float) -> None:
    with pytest.raises(ValueError):
        ClockRules(paused, warning_fraction=fraction)


# --- calendars --------------------------------------------------------------------------------


def test_a_dst_week_counts_local_office_hours() -> None:
    friday = at(27, 15)  # the clocks go forward on Sunday 29 March 2026
    plain = resolution_of(read(history((friday, S.NEW))))
    paused = resolution_of(
        read(history((friday, S.NEW), (at(27, 15, 30), S.WITH_VENDOR), (at(30, 9), S.IN_PROGRESS)))
    )
    autumn = resolution_of(read(history((at(23, 15, month=10), S.NEW))))

    assert plain.due_at == at(31, 15)  # Friday 1 h, Monday 8 h, Tuesday 7 h
    assert plain.due_at == datetime(2026, 3, 31, 13, tzinfo=UTC)
    assert paused.due_at == at(1, 8, 30, month=4)  # 1.5 paused working hours later
    assert autumn.due_at == at(27, 15, month=10) == datetime(2026, 10, 27, 14, tzinfo=UTC)


def test_public_holidays_do_not_count() -> None:
    # Easter Monday 2030 is 22 April; 12 hours from Friday 19 April 9:00 end on Tuesday 13:00.
    reading = read(history((at(19, 9, month=4, year=2030), S.NEW)), resolution=12)

    assert resolution_of(reading).due_at == at(23, 13, month=4, year=2030)


def test_round_the_clock_counts_real_hours_and_pauses_too() -> None:
    saturday_night = at(28, 22)  # 2:00-3:00 on Sunday 29 March 2026 does not happen
    changes = history(
        (saturday_night, S.NEW),
        (at(29, 1), S.AWAITING_APPROVAL),
        (at(29, 5), S.IN_PROGRESS),  # 3 real hours paused
    )

    reading = read(changes, reaction=4, resolution=24, calendar=ROUND_THE_CLOCK)

    assert reading.reaction.due_at == datetime(2026, 3, 29, 4, tzinfo=UTC)  # 6:00 CEST
    assert resolution_of(reading).due_at == datetime(2026, 3, 30, 0, tzinfo=UTC)


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None)
LATER_STATUSES = [status for status in S if status is not S.NEW]
RUNNING_STATUSES = [S.IN_PROGRESS, S.ESCALATED, S.FIELD_VISIT]
STOPS = [S.RESOLVED, S.CLOSED, S.REJECTED]
ZONES = ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    opening = draw(st.integers(min_value=0, max_value=46))
    closing = draw(st.integers(min_value=opening + 1, max_value=47))
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        working_days=draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1)),
        day_start=time(opening // 2, opening % 2 * 30),
        day_end=time(closing // 2, closing % 2 * 30),
        holidays=draw(st.frozensets(st.dates(date(2024, 1, 1), date(2031, 12, 31)), max_size=5)),
        holiday_country=draw(st.sampled_from([None, "PL"])),
        round_the_clock=draw(st.integers(min_value=0, max_value=5)) == 0,
    )


registrations = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 1), timezones=st.just(UTC)
)
gaps = st.integers(min_value=1, max_value=4 * 24 * 60).map(lambda m: timedelta(minutes=m))
targets = st.integers(min_value=0, max_value=24 * 4).map(lambda quarters: quarters / 4)
pause_rules = st.builds(
    ClockRules, st.frozensets(st.sampled_from(LATER_STATUSES)), st.sampled_from([0.5, 0.75, 0.9])
)


@st.composite
def histories(
    draw: st.DrawFn, statuses: Sequence[S] = LATER_STATUSES, final: Sequence[S] = ()
) -> list[StatusChange]:
    """A registration, up to six later changes and then the ``final`` statuses, all at
    distinct, increasing instants."""
    when = draw(registrations)
    changes = [StatusChange(when, S.NEW)]
    for status in [*draw(st.lists(st.sampled_from(statuses), max_size=6)), *final]:
        when += draw(gaps)
        changes.append(StatusChange(when, status))
    return changes


@dataclass(frozen=True)
class Case:
    """The inputs of `read_sla` for one ticket."""

    history: list[StatusChange]
    reaction_hours: float
    resolution_hours: float
    responded_at: datetime | None
    resolved_at: datetime | None
    calendar: BusinessCalendar
    rules: ClockRules

    @property
    def registered(self) -> datetime:
        return self.history[0].at

    def read(self) -> SlaReading:
        return read_sla(
            self.history,
            reaction_hours=self.reaction_hours,
            resolution_hours=self.resolution_hours,
            responded_at=self.responded_at,
            resolved_at=self.resolved_at,
            calendar=self.calendar,
            rules=self.rules,
        )


@st.composite
def cases(draw: st.DrawFn, changes: st.SearchStrategy[list[StatusChange]] | None = None) -> Case:
    """The first response comes after the registration; ``resolved_at``, when recorded, is
    when the ticket entered its final resolved/closed/rejected run (as the tasks record it)."""
    history = draw(histories() if changes is None else changes)
    registered = history[0].at
    resolved_at = None
    if history[-1].status in STOPS and draw(st.booleans()):
        resolved_at = next(
            change.at
            for index, change in enumerate(history)
            if all(later.status in STOPS for later in history[index:])
        )
    return Case(
        history=history,
        reaction_hours=draw(targets),
        resolution_hours=draw(targets),
        responded_at=draw(st.none() | gaps.map(lambda gap: registered + gap * 2)),
        resolved_at=resolved_at,
        calendar=draw(calendars()),
        rules=draw(pause_rules),
    )


def _status_at(changes: Sequence[StatusChange], instant: datetime) -> S:
    return [change for change in changes if change.at <= instant][-1].status


def _with_pause(
    changes: Sequence[StatusChange], begins: datetime, ends: datetime | None, pause: S
) -> list[StatusChange]:
    """The same history with [begins, ends) spent in ``pause`` (without end when None)."""
    kept = [change for change in changes if change.at < begins]
    paused = [StatusChange(begins, pause)]
    if ends is None:
        return kept + paused
    resumed = [StatusChange(ends, _status_at(changes, ends))]
    return kept + paused + resumed + [change for change in changes if change.at > ends]


@PROPERTY
@given(case=cases(), offset=gaps, length=st.none() | gaps, pause=st.sampled_from(sorted(WAITING)))
def test_inserting_a_pause_never_makes_a_due_instant_earlier(
    case: Case, offset: timedelta, length: timedelta | None, pause: S
) -> None:
    case = replace(
        case, rules=replace(case.rules, paused_statuses=case.rules.paused_statuses | {pause})
    )
    begins = case.registered + offset
    ends = None if length is None else begins + length
    before = case.read()

    after = replace(case, history=_with_pause(case.history, begins, ends, pause)).read()

    for old, new in zip(before.clocks(), after.clocks(), strict=True):
        if old.due_at is None:
            assert new.due_at is None
        elif new.due_at is not None:
            assert new.due_at >= old.due_at
            if new.warn_at is not None and old.warn_at is not None:
                assert new.warn_at >= old.warn_at


no_resolution_stop_before_the_end = st.lists(st.sampled_from(STOPS), max_size=2).flatmap(
    lambda final: histories([*RUNNING_STATUSES, S.AWAITING_APPROVAL, S.WITH_VENDOR], final)
)


@PROPERTY
@given(case=cases(no_resolution_stop_before_the_end))
def test_without_paused_statuses_due_is_plain_business_hours(case: Case) -> None:
    # Resolution stops come only as the final run (resolved, then closed): no pause before it.
    case = replace(case, rules=ClockRules(frozenset(), warning_fraction=0.75))

    reading = case.read()

    for clock in reading.clocks():
        target = clock.target_hours
        assert clock.due_at == add_business_hours(case.registered, target, case.calendar)
        assert clock.warn_at == add_business_hours(case.registered, target * 0.75, case.calendar)
        assert clock.paused_since is None
        if clock.stopped_at is not None:
            assert clock.elapsed_hours is not None
            between = business_hours_between(case.registered, clock.stopped_at, case.calendar)
            assert clock.elapsed_hours == pytest.approx(between, abs=MICROSECOND_IN_HOURS)


@PROPERTY
@given(case=cases())
def test_elapsed_at_a_stop_never_exceeds_the_working_time_since_registration(
    case: Case,
) -> None:
    reading = case.read()

    for clock in reading.clocks():
        if clock.stopped_at is not None:
            assert clock.elapsed_hours is not None
            assert clock.paused_since is None
            limit = business_hours_between(case.registered, clock.stopped_at, case.calendar)
            assert 0 <= clock.elapsed_hours <= limit + MICROSECOND_IN_HOURS
            assert clock.pending() == {}
            if clock.elapsed_hours < clock.target_hours - MICROSECOND_IN_HOURS:
                assert clock.met is True
            if clock.elapsed_hours > clock.target_hours + MICROSECOND_IN_HOURS:
                assert clock.met is False
        if clock.paused_since is not None:
            assert clock.due_at is None
            assert clock.elapsed_hours is not None
            # Reaching the target before the pause would have kept the due instant; a zero
            # target is reached only at the first working instant, like add_business_hours.
            assert clock.elapsed_hours < clock.target_hours or clock.elapsed_hours == 0
            remaining = clock.remaining_hours
            assert remaining == pytest.approx(clock.target_hours - clock.elapsed_hours)
        if clock.due_at is not None and clock.warn_at is not None:
            assert clock.warn_at <= clock.due_at
        if clock.due_at is None:
            assert clock.paused_since is not None


@PROPERTY
@given(case=cases(), data=st.data())
def test_the_order_of_the_history_never_changes_the_result(case: Case, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(case.history))

    assert replace(case, history=shuffled).read() == case.read()


@PROPERTY
@given(case=cases(), offset=gaps, data=st.data())
def test_a_change_to_an_equivalent_status_changes_nothing(
    case: Case, offset: timedelta, data: st.DataObject
) -> None:
    """Awaiting approval and then with the vendor is one pause; in progress and then escalated
    is one running stretch; closed and then rejected is one stop."""
    instant = case.registered + offset
    assume(all(change.at != instant for change in case.history))
    current = _status_at(case.history, instant)

    def kind(status: S) -> tuple[bool, bool, bool]:
        # Closed / rejected also stop a reaction clock nobody answered: not like resolved.
        final = status in (S.CLOSED, S.REJECTED)
        return status in case.rules.paused_statuses, status in STOPS, final

    equivalent = [s for s in LATER_STATUSES if s is not current and kind(s) == kind(current)]
    assume(equivalent)
    relabelled = [*case.history, StatusChange(instant, data.draw(st.sampled_from(equivalent)))]

    assert replace(case, history=relabelled).read() == case.read()


def test_a_ticket_rejected_before_any_response_stops_its_reaction_clock() -> None:
    registered = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 9:00 Warsaw
    rejected = registered + timedelta(hours=30)
    reading = read_sla(
        [
            StatusChange(registered, S.NEW),
            StatusChange(registered + timedelta(minutes=1), S.AWAITING_APPROVAL),
            StatusChange(rejected, S.REJECTED),
        ],
        reaction_hours=4,
        resolution_hours=None,
        responded_at=None,
        resolved_at=None,
        calendar=default_polish_calendar(holiday_country="PL"),
        rules=ClockRules(frozenset({S.AWAITING_APPROVAL})),
    )
    assert reading.reaction.stopped_at == rejected
    assert reading.reaction.pending() == {}  # the monitor has nothing left to fire
