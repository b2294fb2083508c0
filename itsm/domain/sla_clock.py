"""The SLA clock: due instants computed from a ticket's append-only status history.

Nothing here is stored state. Given the history (every status the ticket entered, when), the
instant the clock stops (first engineer response; resolution) and the client's calendar, the
functions recompute the same answer every time — so a changed pause rule, a changed target or
a late-recorded event only needs a recomputation, and paused time is never lost.

The clock runs in the client's working time while the ticket is in a status that is not
paused. The reaction clock stops at the first engineer response; the resolution clock stops
while the ticket is resolved (waiting for the requester's confirmation) or final, and resumes
when it is reopened. After its stop a clock is projected as running, so a stopped clock still
has a due instant to compare the stop with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from itsm.domain.calendar import BusinessCalendar, working_intervals
from itsm.domain.tickets import TicketStatus

_ONE_HOUR = timedelta(hours=1)
_FINAL = frozenset({TicketStatus.CLOSED, TicketStatus.REJECTED})
_RESOLUTION_STOPS = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REJECTED})


class SlaClockKind(StrEnum):
    REACTION = "reaction"
    RESOLUTION = "resolution"


class Threshold(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class StatusChange:
    """The ticket entered ``status`` at ``at`` (one row of the status history)."""

    at: datetime
    status: TicketStatus


@dataclass(frozen=True)
class ClockRules:
    """How the clock treats statuses: which pause it, and where the warning comes."""

    paused_statuses: frozenset[TicketStatus]
    warning_fraction: float = 0.75

    def __post_init__(self) -> None:
        if not 0 < self.warning_fraction < 1:
            raise ValueError(f"warning_fraction must be in (0, 1), got {self.warning_fraction}")
        if self.paused_statuses & {TicketStatus.NEW}:
            raise ValueError("a new ticket cannot pause its SLA clock")


@dataclass(frozen=True)
class ClockReading:
    """One SLA clock as of its history: when it warns and is due, or that it is paused."""

    kind: SlaClockKind
    target_hours: float
    warn_at: datetime | None
    due_at: datetime | None
    paused_since: datetime | None
    elapsed_hours: float | None
    """Working hours counted until the stop or the pause; None while the clock runs (then
    ``due_at`` minus now, in working time, is what is left)."""
    stopped_at: datetime | None

    @property
    def remaining_hours(self) -> float | None:
        """Working hours left when stopped or paused; None while running."""
        if self.elapsed_hours is None:
            return None
        return max(0.0, self.target_hours - self.elapsed_hours)

    @property
    def met(self) -> bool | None:
        """True/False once stopped; None while it still runs or is paused."""
        if self.stopped_at is None or self.due_at is None:
            return None
        return self.stopped_at <= self.due_at

    def pending(self, fired: Iterable[Threshold] = ()) -> dict[Threshold, datetime]:
        """The thresholds still to fire and when: none once stopped or while paused."""
        if self.stopped_at is not None or self.paused_since is not None:
            return {}
        done = set(fired)
        instants = {Threshold.WARNING: self.warn_at, Threshold.BREACH: self.due_at}
        return {
            threshold: at
            for threshold, at in instants.items()
            if at is not None and threshold not in done
        }


@dataclass(frozen=True)
class SlaReading:
    reaction: ClockReading
    resolution: ClockReading | None

    def clocks(self) -> Iterator[ClockReading]:
        yield self.reaction
        if self.resolution is not None:
            yield self.resolution


def read_sla(
    history: Sequence[StatusChange],
    *,
    reaction_hours: float,
    resolution_hours: float | None,
    responded_at: datetime | None,
    resolved_at: datetime | None,
    calendar: BusinessCalendar,
    rules: ClockRules,
) -> SlaReading:
    """Both clocks of one ticket. ``history`` must start with the registration."""
    changes = sorted(history, key=lambda change: change.at)
    if not changes:
        raise ValueError("the status history is empty: a ticket starts with its registration")
    reaction_stop = responded_at
    if reaction_stop is None and changes[-1].status in _FINAL:
        # Closed or rejected before any engineer answered (e.g. the coordinator said no):
        # nothing is left to react to, so the clock stops instead of breaching forever.
        reaction_stop = _start_of_trailing_run(changes, _FINAL)
    reaction = _read_clock(
        SlaClockKind.REACTION,
        _running_spans(changes, rules.paused_statuses, stop=reaction_stop),
        reaction_hours,
        calendar,
        rules,
        stopped_at=reaction_stop,
    )
    if resolution_hours is None:
        return SlaReading(reaction, None)
    stopped_at = None
    if changes[-1].status in _RESOLUTION_STOPS:
        # Resolved and then closed stopped the clock at the resolution, not at the closing.
        stopped_at = resolved_at or _start_of_trailing_run(changes, _RESOLUTION_STOPS)
    resolution = _read_clock(
        SlaClockKind.RESOLUTION,
        _running_spans(changes, rules.paused_statuses | _RESOLUTION_STOPS, stop=stopped_at),
        resolution_hours,
        calendar,
        rules,
        stopped_at=stopped_at,
    )
    return SlaReading(reaction, resolution)


def _running_spans(
    changes: Sequence[StatusChange], paused: frozenset[TicketStatus], *, stop: datetime | None
) -> tuple[list[tuple[datetime, datetime | None]], datetime | None]:
    """The spans [from, to) in which the clock runs (``to`` None: without end) and, when the
    last span is a pause without end, the instant it began. After ``stop`` the clock is
    projected as running whatever the status, so a stopped clock has a due instant."""
    spans: list[tuple[datetime, datetime | None]] = []
    if stop is not None:
        stop = max(stop, changes[0].at)  # a clock cannot stop before it started (clock skew)
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        begins = change.at
        ends = None if following is None else following.at
        if stop is not None and begins >= stop:
            break
        if stop is not None and (ends is None or ends > stop):
            if change.status not in paused:
                spans.append((begins, stop))
            spans.append((stop, None))
            return spans, None
        if change.status not in paused:
            spans.append((begins, ends))
        elif ends is None:
            # Awaiting approval and then with the vendor: paused since the first of them.
            return spans, _start_of_trailing_run(changes, paused)
    if stop is not None:
        spans.append((stop, None))
    return spans, None


def _start_of_trailing_run(
    changes: Sequence[StatusChange], statuses: frozenset[TicketStatus]
) -> datetime:
    """When the ticket entered the unbroken run of ``statuses`` it is still in."""
    began = changes[-1].at
    for change in reversed(changes):
        if change.status not in statuses:
            break
        began = change.at
    return began


def _read_clock(
    kind: SlaClockKind,
    running: tuple[list[tuple[datetime, datetime | None]], datetime | None],
    target_hours: float,
    calendar: BusinessCalendar,
    rules: ClockRules,
    *,
    stopped_at: datetime | None,
) -> ClockReading:
    spans, paused_since = running
    warn_at = _instant_after(spans, target_hours * rules.warning_fraction * _ONE_HOUR, calendar)
    due_at = _instant_after(spans, target_hours * _ONE_HOUR, calendar)
    if due_at is not None:
        paused_since = None  # it was due before the pause began: the breach stands
    counted_until = stopped_at or paused_since
    elapsed = None if counted_until is None else _counted_before(spans, counted_until, calendar)
    return ClockReading(
        kind=kind,
        target_hours=target_hours,
        warn_at=warn_at,
        due_at=due_at,
        paused_since=paused_since,
        elapsed_hours=None if elapsed is None else elapsed / _ONE_HOUR,
        stopped_at=stopped_at,
    )


def _instant_after(
    spans: Sequence[tuple[datetime, datetime | None]],
    budget: timedelta,
    calendar: BusinessCalendar,
) -> datetime | None:
    """When the running spans have used ``budget`` of working time; None if they end first."""
    remaining = budget
    for opens, closes in _working_time_in(spans, calendar):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    return None


def _counted_before(
    spans: Sequence[tuple[datetime, datetime | None]],
    instant: datetime,
    calendar: BusinessCalendar,
) -> timedelta:
    counted = timedelta()
    for opens, closes in _working_time_in(spans, calendar):
        if opens >= instant:
            break
        counted += min(closes, instant) - opens
    return counted


def _working_time_in(
    spans: Sequence[tuple[datetime, datetime | None]], calendar: BusinessCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """The working intervals of the calendar cut to the running spans, in order."""
    for begins, ends in spans:
        for opens, closes in working_intervals(begins, calendar):
            if ends is not None and opens >= ends:
                break
            yield opens, closes if ends is None else min(closes, ends)
