"""Service KPIs of a period, computed by pure functions from plain facts about tickets.

One implementation serves the monthly client report and the manager dashboard: storage
gathers the facts with set-based queries (``itsm.storage.reporting``), these functions turn
them into figures. Nothing here reads a clock or a database.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from itsm.domain.sla import ServiceType

FCR_GOAL = 0.90
"""First-contact resolution the provider promises: about 90 % of tickets solved at the 1st line."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; a month is from its first midnight (client time) to the next."""

    start: datetime
    end: datetime
    label: str  # "2026-10"


@dataclass(frozen=True)
class TicketFacts:
    """What the KPIs need to know about one ticket (one row of the report's ticket list)."""

    id: int
    number: str
    client_code: str
    sla_tier: str
    subject: str
    category: str
    channel: str
    priority: str | None
    service_type: ServiceType
    status: str
    requester: str  # full name
    requester_username: str
    assignee: str | None  # full name of the current engineer
    site: str | None
    created_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    closure: str | None
    reaction_due_at: datetime | None
    resolution_due_at: datetime | None
    reopen_count: int
    lines_reached: frozenset[str]
    """Support lines the ticket was ever at ("L1", "L2", "L3", "field", "vendor")."""
    vendor_name: str | None
    field_visits: int
    minutes_spent: int
    alert_name: str | None = None
    """Monitoring tickets: the alert's name (e.g. "DiskSpaceLow"), for recurring-alert advice."""


@dataclass(frozen=True)
class PackageFacts:
    """One prepaid hour package of the client, as of the end of the period."""

    package_id: int
    service_type: ServiceType
    hours: int
    price_pln: Decimal
    purchased_at: datetime
    expires_at: datetime
    minutes_used: int
    minutes_used_in_period: int


@dataclass(frozen=True)
class UsageFacts:
    """Work minutes of the period per service type and what they were drawn from."""

    minutes_by_service: dict[ServiceType, int]
    covered_minutes_by_package: dict[int, int]
    """Minutes deducted in the period from each package (by package id)."""
    uncovered_minutes_by_service: dict[ServiceType, int]
    """Minutes deducted in the period with no package to cover them (pay as you go)."""


@dataclass(frozen=True)
class Compliance:
    met: int
    breached: int
    pending: int  # not stopped and not yet due at the period's end

    @property
    def measured(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return None if self.measured == 0 else self.met / self.measured


@dataclass(frozen=True)
class Recommendation:
    # recurring_problem | recurring_alert | training | sla_risk | fcr_below_goal | package
    kind: str
    title: str
    detail: str
    ticket_numbers: tuple[str, ...] = ()
    # Which advice it is and its figures, so a report in another language can say it in its
    # own words (title and detail are the English text).
    code: str = ""
    facts: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class HoursSummary:
    minutes_by_service: dict[ServiceType, int]
    cost_pln: Decimal
    """Covered minutes at each package's own hourly price plus uncovered minutes at the list
    rate of the service type (1-hour package price)."""
    packages: tuple[PackageFacts, ...]
    uncovered_minutes: int


@dataclass(frozen=True)
class PeriodFigures:
    """Everything the monthly report and the dashboard show for one period."""

    period: Period
    opened: int
    resolved: int
    closed: int
    backlog: int  # open at the period's end
    backlog_ageing: dict[str, int]  # "< 1 day", "1-3 days", "3-7 days", "> 7 days"
    reaction: Compliance
    resolution: Compliance
    first_contact_resolution: float | None
    fcr_goal: float
    mtta_hours: float | None
    mttr_hours: float | None
    escalations_by_line: dict[str, int]  # "L2", "L3"
    vendor_hand_offs: int
    field_visits: int
    by_category: dict[str, int]
    by_channel: dict[str, int]
    hours: HoursSummary | None
    recommendations: tuple[Recommendation, ...] = field(default=())
    tickets: tuple[TicketFacts, ...] = field(default=())


# --- constants ---------------------------------------------------------------------------

BACKLOG_AGE_BUCKETS = ("< 1 day", "1-3 days", "3-7 days", "> 7 days")
ESCALATION_LINES = ("L2", "L3")
SLA_RISK_RATE = 0.95
"""Compliance below this share, with at least one breach, is reported as an SLA risk."""
RECURRING_PROBLEM_MIN = 3
RECURRING_ALERT_MIN = 2
TRAINING_MIN = 3
TRAINING_CATEGORIES = frozenset({"question", "account_access"})
PACKAGE_EXPIRY_WINDOW = timedelta(days=31)
PACKAGE_LOW_SHARE = Fraction(1, 10)
"""Remaining hours of a service type below this share of the bought hours: time to top up."""

_FIRST_LINE_ONLY = frozenset({"L1"})
_FINAL_STATUSES = frozenset({"closed", "rejected"})

_K = TypeVar("_K", bound=Hashable)
ClockKind = Literal["reaction", "resolution"]
_Outcome = Literal["met", "breached", "pending"]


# --- periods -----------------------------------------------------------------------------


def month_period(year: int, month: int, tz: str) -> Period:
    """The calendar month in the client's time zone: [first local midnight, next month's first
    local midnight), both converted to UTC, labelled "YYYY-MM"."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    zone = ZoneInfo(tz)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    # A wall time in a DST gap resolves (fold=0) to the instant the gap starts, which is the
    # day's first instant; so even a zone that skips midnight gets a correct boundary.
    start = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)
    return Period(start=start, end=end, label=f"{year:04d}-{month:02d}")


def _in(instant: datetime | None, period: Period) -> bool:
    return instant is not None and period.start <= instant < period.end


def _created_in(tickets: Iterable[TicketFacts], period: Period) -> list[TicketFacts]:
    created = [ticket for ticket in tickets if _in(ticket.created_at, period)]
    return sorted(created, key=lambda ticket: (ticket.created_at, ticket.id))


# --- SLA compliance ----------------------------------------------------------------------


def clock_outcome(ticket: TicketFacts, kind: ClockKind, period_end: datetime) -> _Outcome | None:
    """One ticket's "met" / "breached" / "pending" for one clock, as ``compliance_of``
    counts it (None: no target for that clock); the report's ticket list shows the same."""
    if kind == "reaction":
        due, stop = ticket.reaction_due_at, ticket.responded_at
    else:
        if ticket.status == "rejected":
            return None  # nothing was to be resolved
        # A ticket closed without a resolution step (e.g. an alert that cleared by itself)
        # stopped its clock when it was closed: the same reading as itsm.reporting.outcomes.
        due, stop = ticket.resolution_due_at, ticket.resolved_at or ticket.closed_at
    if due is None:
        return None
    if stop is not None:
        return "met" if stop <= due else "breached"
    return "breached" if due <= period_end else "pending"


def compliance_of(
    tickets: Iterable[TicketFacts], kind: ClockKind, period_end: datetime
) -> Compliance:
    """Reaction or resolution compliance of the tickets, as of ``period_end``.

    Only tickets with a due time for that clock count (a helpdesk ticket has no resolution
    target; an unclassified ticket has none yet); rejected tickets never count for resolution.
    Met: the clock stopped (responded_at; resolved_at, else closed_at) at or before the due
    time. Breached: it stopped later, or it has not stopped and the due time is at or before
    ``period_end``. Pending: not stopped, due after ``period_end``.
    """
    if kind not in ("reaction", "resolution"):
        raise ValueError(f"kind must be 'reaction' or 'resolution', got {kind!r}")
    counts = Counter(clock_outcome(ticket, kind, period_end) for ticket in tickets)
    return Compliance(met=counts["met"], breached=counts["breached"], pending=counts["pending"])


def compliance_series(
    tickets: Iterable[TicketFacts], periods: Iterable[Period]
) -> list[tuple[Period, Compliance, Compliance]]:
    """(period, reaction, resolution) for each period, over the tickets created in it."""
    facts = list(tickets)
    series = []
    for period in periods:
        created = _created_in(facts, period)
        series.append(
            (
                period,
                compliance_of(created, "reaction", period.end),
                compliance_of(created, "resolution", period.end),
            )
        )
    return series


# --- ticket figures ----------------------------------------------------------------------


def _open_at(ticket: TicketFacts, instant: datetime) -> bool:
    """Still work to do at ``instant``: a resolution waiting for the requester's confirmation
    is not (reopening clears resolved_at, so a reopened ticket is backlog again)."""
    if ticket.created_at >= instant:
        return False
    if ticket.resolved_at is not None and ticket.resolved_at < instant:
        return False
    if ticket.closed_at is not None:
        return ticket.closed_at >= instant
    # Final without a close time would be inconsistent data; it is not work still to do.
    return ticket.status not in _FINAL_STATUSES


def _age_bucket(age: timedelta) -> str:
    if age < timedelta(days=1):
        return BACKLOG_AGE_BUCKETS[0]
    if age < timedelta(days=3):
        return BACKLOG_AGE_BUCKETS[1]
    if age < timedelta(days=7):
        return BACKLOG_AGE_BUCKETS[2]
    return BACKLOG_AGE_BUCKETS[3]


def _is_first_contact(ticket: TicketFacts) -> bool:
    return (
        ticket.lines_reached <= _FIRST_LINE_ONLY
        and ticket.vendor_name is None
        and ticket.field_visits == 0
        and ticket.reopen_count == 0
    )


def _share(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def _mean_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return sum(span.total_seconds() for span in spans) / len(spans) / 3600


def _ranked(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _reached(ticket: TicketFacts, line: str) -> bool:
    # A technician's visit is 2nd-line work (DOMAIN.md), ordered by the 1st line.
    if line == "L2" and "field" in ticket.lines_reached:
        return True
    return line in ticket.lines_reached


def _is_vendor_hand_off(ticket: TicketFacts) -> bool:
    return ticket.vendor_name is not None or "vendor" in ticket.lines_reached


# --- hours and cost ----------------------------------------------------------------------


def _round_pln(amount: Fraction) -> Decimal:
    # The sum is kept as an exact fraction and rounded once, half up (away from zero), so no
    # intermediate Decimal division (e.g. 1350 / 10 h / 60) can shift a half cent.
    cents = (
        math.floor(amount * 100 + Fraction(1, 2))
        if amount >= 0
        else -math.floor(-amount * 100 + Fraction(1, 2))
    )
    return Decimal(cents).scaleb(-2)


def hours_summary(
    usage: UsageFacts,
    packages: Sequence[PackageFacts],
    hourly_rates: Mapping[ServiceType, Decimal] | None,
) -> HoursSummary:
    """Minutes of the period and their cost: minutes drawn from a package at that package's own
    hourly price (price_pln / hours), uncovered minutes at the service type's list rate;
    the total rounded to 0.01 PLN, half up."""
    by_id = {package.package_id: package for package in packages}
    cost = Fraction(0)
    for package_id, minutes in sorted(usage.covered_minutes_by_package.items()):
        package = by_id.get(package_id)
        if package is None:
            raise ValueError(f"minutes drawn from package {package_id}, which is not listed")
        cost += Fraction(minutes) * Fraction(package.price_pln) / (package.hours * 60)
    rates = hourly_rates or {}
    for service, minutes in sorted(usage.uncovered_minutes_by_service.items()):
        if minutes == 0:
            continue
        if service not in rates:
            raise ValueError(f"no hourly rate for {service.value}, which has uncovered minutes")
        cost += Fraction(minutes) * Fraction(rates[service]) / 60
    return HoursSummary(
        minutes_by_service=dict(usage.minutes_by_service),
        cost_pln=_round_pln(cost),
        packages=tuple(packages),
        uncovered_minutes=sum(usage.uncovered_minutes_by_service.values()),
    )


# --- the period --------------------------------------------------------------------------


def period_figures(
    period: Period,
    tickets: Iterable[TicketFacts],
    *,
    packages: Sequence[PackageFacts] = (),
    usage: UsageFacts | None = None,
    hourly_rates: Mapping[ServiceType, Decimal] | None = None,
) -> PeriodFigures:
    """The figures of one period from every ticket relevant to it (created in it, open at its
    start, or resolved or closed in it). "In the period" means in [start, end).

    - opened: created in the period; resolved: resolved_at in it; closed: closed_at in it.
    - backlog: created before the end, neither resolved nor closed before the end (a
      resolution awaiting the requester's confirmation is not backlog); a ticket with no
      closed_at is open unless its status is final (closed, rejected). backlog_ageing: the
      backlog by age at the period's end, "< 1 day" (< 24 h), "1-3 days" (1 d ≤ age < 3 d),
      "3-7 days" (3 d ≤ age < 7 d), "> 7 days" (≥ 7 d); all four keys always present.
    - reaction / resolution: ``compliance_of`` over the tickets created in the period, as of
      the period's end.
    - first_contact_resolution: among the tickets resolved in the period, the share that
      stayed at the 1st line (lines_reached ⊆ {"L1"}), had no vendor, no field visit and was
      never reopened; None when none was resolved. fcr_goal: ``FCR_GOAL``.
    - mtta_hours: mean responded_at - created_at, in wall-clock hours, over the tickets
      responded to in the period; mttr_hours: mean resolved_at - created_at over the tickets
      resolved in the period; None when there are none.
    - escalations_by_line: tickets created in the period that ever reached "L2" / "L3" (both
      keys always present; a field visit counts as 2nd line); vendor_hand_offs: created in
      the period with a vendor name or "vendor" among the lines reached; field_visits: sum
      of field visits of the tickets created in the period.
    - by_category / by_channel: tickets created in the period, by count descending, then name.
    - hours (only when ``usage`` is given): see ``hours_summary``; a package id in the usage
      that is not among ``packages`` raises ValueError.
    - recommendations: see ``recommendations``; tickets: those created in the period, by
      created_at.
    """
    facts = list(tickets)
    created = _created_in(facts, period)
    resolved = [ticket for ticket in facts if _in(ticket.resolved_at, period)]
    responded = [ticket for ticket in facts if _in(ticket.responded_at, period)]
    backlog = [ticket for ticket in facts if _open_at(ticket, period.end)]
    ageing = dict.fromkeys(BACKLOG_AGE_BUCKETS, 0)
    ageing.update(Counter(_age_bucket(period.end - ticket.created_at) for ticket in backlog))
    return PeriodFigures(
        period=period,
        opened=len(created),
        resolved=len(resolved),
        closed=sum(1 for ticket in facts if _in(ticket.closed_at, period)),
        backlog=len(backlog),
        backlog_ageing=ageing,
        reaction=compliance_of(created, "reaction", period.end),
        resolution=compliance_of(created, "resolution", period.end),
        first_contact_resolution=_share(sum(map(_is_first_contact, resolved)), len(resolved)),
        fcr_goal=FCR_GOAL,
        mtta_hours=_mean_hours(
            [t.responded_at - t.created_at for t in responded if t.responded_at]
        ),
        mttr_hours=_mean_hours([t.resolved_at - t.created_at for t in resolved if t.resolved_at]),
        escalations_by_line={
            line: sum(1 for ticket in created if _reached(ticket, line))
            for line in ESCALATION_LINES
        },
        vendor_hand_offs=sum(map(_is_vendor_hand_off, created)),
        field_visits=sum(ticket.field_visits for ticket in created),
        by_category=_ranked(ticket.category for ticket in created),
        by_channel=_ranked(ticket.channel for ticket in created),
        hours=None if usage is None else hours_summary(usage, packages, hourly_rates),
        recommendations=recommendations(period, facts, packages=packages),
        tickets=tuple(created),
    )


# --- recommendations ---------------------------------------------------------------------


def recommendations(
    period: Period,
    tickets: Iterable[TicketFacts],
    *,
    packages: Sequence[PackageFacts] = (),
) -> tuple[Recommendation, ...]:
    """Advice for the client and the service desk derived from the period's data, in a fixed
    order (the rules below, then the largest group first, then by name); each names the
    tickets it is based on.

    - recurring_problem: ≥ 3 tickets created in the period with the same category and the same
      subject (casefolded, whitespace collapsed) → a root-cause investigation (problem
      management). Monitoring tickets with an alert name are left to recurring_alert.
    - recurring_alert: ≥ 2 monitoring tickets created in the period with the same alert name at
      the same site (or both without a site); a disk-space alert ("disk" or "filesystem" in its
      name) gets the advice to extend the volume or clean it up.
    - training: a requester with ≥ 3 tickets of category question or account_access.
    - sla_risk: reaction or resolution compliance (tickets created in the period) below 95 %
      with at least one breach, one per clock.
    - fcr_below_goal: first-contact resolution below ``FCR_GOAL``.
    - package: a package expiring within 31 days after the period's end with unused hours;
      remaining hours of a service type under 10 % of the hours bought (packages not expired).
    """
    facts = list(tickets)
    created = _created_in(facts, period)
    resolved = [ticket for ticket in facts if _in(ticket.resolved_at, period)]
    resolved.sort(key=lambda ticket: (ticket.created_at, ticket.id))
    return (
        *_recurring_problems(created),
        *_recurring_alerts(created),
        *_training(created),
        *_sla_risks(created, period.end),
        *_fcr_below_goal(resolved),
        *_package_advice(packages, period.end),
    )


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _groups(
    tickets: Iterable[TicketFacts], key: Callable[[TicketFacts], _K | None], minimum: int
) -> list[list[TicketFacts]]:
    """Tickets sharing a key (None: not grouped), groups of at least ``minimum``, largest first;
    ties by the first ticket's creation, so the order never depends on dict order."""
    groups: dict[_K, list[TicketFacts]] = defaultdict(list)
    for ticket in tickets:
        value = key(ticket)
        if value is not None:
            groups[value].append(ticket)
    chosen = [group for group in groups.values() if len(group) >= minimum]
    return sorted(chosen, key=lambda group: (-len(group), group[0].created_at, group[0].id))


def _numbers(tickets: Iterable[TicketFacts]) -> tuple[str, ...]:
    return tuple(ticket.number for ticket in tickets)


def _recurring_problems(created: list[TicketFacts]) -> list[Recommendation]:
    def key(ticket: TicketFacts) -> tuple[str, str] | None:
        if ticket.alert_name is not None:
            return None
        return ticket.category, _normalised(ticket.subject)

    advice = []
    for group in _groups(created, key, RECURRING_PROBLEM_MIN):
        subject = " ".join(group[0].subject.split())
        advice.append(
            Recommendation(
                kind="recurring_problem",
                title=f"Recurring problem: {subject}",
                detail=(
                    f"{len(group)} tickets in category {group[0].category} reported the same "
                    "problem. Open a problem record to find and remove the root cause (problem "
                    "management) and document the solution in the knowledge base."
                ),
                ticket_numbers=_numbers(group),
                code="recurring_problem",
                facts={"subject": subject, "count": len(group), "category": group[0].category},
            )
        )
    return advice


def _is_disk_alert(alert_name: str) -> bool:
    name = alert_name.casefold()
    return "disk" in name or "filesystem" in name


def _recurring_alerts(created: list[TicketFacts]) -> list[Recommendation]:
    def key(ticket: TicketFacts) -> tuple[str, str] | None:
        if ticket.channel != "monitoring" or ticket.alert_name is None:
            return None
        return ticket.alert_name, ticket.site or ""

    advice = []
    for group in _groups(created, key, RECURRING_ALERT_MIN):
        alert, site = group[0].alert_name or "", group[0].site
        where = f" at {site}" if site else ""
        if _is_disk_alert(alert):
            action = (
                "Extend the volume or clean it up, e.g. ask users to remove private files "
                "from the network drive, before it fills up again."
            )
        else:
            action = "Investigate the cause so that the alert stops recurring."
        advice.append(
            Recommendation(
                kind="recurring_alert",
                title=f"Recurring alert: {alert}{where}",
                detail=f"Monitoring raised {alert}{where} {len(group)} times. {action}",
                ticket_numbers=_numbers(group),
                code="recurring_disk_alert" if _is_disk_alert(alert) else "recurring_alert",
                facts={"alert": alert, "site": site or "", "count": len(group)},
            )
        )
    return advice


def _training(created: list[TicketFacts]) -> list[Recommendation]:
    def key(ticket: TicketFacts) -> str | None:
        return ticket.requester_username if ticket.category in TRAINING_CATEGORIES else None

    advice = []
    for group in _groups(created, key, TRAINING_MIN):
        person = group[0].requester
        advice.append(
            Recommendation(
                kind="training",
                title=f"Training for {person}",
                detail=(
                    f"{person} asked for help {len(group)} times with questions or account "
                    "access. A short training (or a self-service guide) would save them time."
                ),
                ticket_numbers=_numbers(group),
                code="training",
                facts={"person": person, "count": len(group)},
            )
        )
    return advice


def _sla_risks(created: list[TicketFacts], period_end: datetime) -> list[Recommendation]:
    kinds: tuple[ClockKind, ...] = ("reaction", "resolution")
    advice = []
    for kind in kinds:
        compliance = compliance_of(created, kind, period_end)
        rate = compliance.rate
        if compliance.breached == 0 or rate is None or rate >= SLA_RISK_RATE:
            continue
        breached = [t for t in created if clock_outcome(t, kind, period_end) == "breached"]
        advice.append(
            Recommendation(
                kind="sla_risk",
                title=f"{kind.capitalize()} SLA at risk",
                detail=(
                    f"{compliance.breached} of {compliance.measured} tickets breached the {kind} "
                    f"target ({rate:.0%} met, goal {SLA_RISK_RATE:.0%}). Review the staffing "
                    "of the queue and how these tickets were escalated."
                ),
                ticket_numbers=_numbers(breached),
                code=f"{kind}_sla_risk",
                facts={
                    "breached": compliance.breached,
                    "measured": compliance.measured,
                    "rate": rate,
                    "goal": SLA_RISK_RATE,
                },
            )
        )
    return advice


def _fcr_below_goal(resolved: list[TicketFacts]) -> list[Recommendation]:
    rate = _share(sum(map(_is_first_contact, resolved)), len(resolved))
    if rate is None or rate >= FCR_GOAL:
        return []
    beyond = [ticket for ticket in resolved if not _is_first_contact(ticket)]
    return [
        Recommendation(
            kind="fcr_below_goal",
            title="First-contact resolution below goal",
            detail=(
                f"{rate:.0%} of the resolved tickets were solved at the first contact "
                f"(goal {FCR_GOAL:.0%}); {len(beyond)} needed another line, a vendor, a field "
                "visit or were reopened. Document their solutions in the knowledge base so "
                "that the 1st line can solve them next time."
            ),
            ticket_numbers=_numbers(beyond),
            code="fcr_below_goal",
            facts={"rate": rate, "goal": FCR_GOAL, "beyond": len(beyond)},
        )
    ]


def _unused_minutes(package: PackageFacts) -> int:
    return max(package.hours * 60 - package.minutes_used, 0)


def _service_name(service: ServiceType) -> str:
    return service.value.replace("_", " ")


def _hours_text(minutes: int) -> str:
    return f"{minutes / 60:.1f} h"


def _package_advice(packages: Sequence[PackageFacts], period_end: datetime) -> list[Recommendation]:
    active = [package for package in packages if package.expires_at > period_end]
    advice = []
    expiring = [
        package
        for package in active
        if package.expires_at <= period_end + PACKAGE_EXPIRY_WINDOW and _unused_minutes(package)
    ]
    for package in sorted(expiring, key=lambda p: (p.expires_at, p.package_id)):
        days = math.ceil((package.expires_at - period_end) / timedelta(days=1))
        advice.append(
            Recommendation(
                kind="package",
                title=f"Unused {_service_name(package.service_type)} hours expire soon",
                detail=(
                    f"{_hours_text(_unused_minutes(package))} of the {package.hours} h package "
                    f"#{package.package_id} expire within {days} days after the period. Plan "
                    "work for them (e.g. maintenance or updates) before they are lost."
                ),
                code="package_expiring",
                facts={
                    "service": package.service_type.value,
                    "hours_left": _unused_minutes(package) / 60,
                    "package_hours": package.hours,
                    "package_id": package.package_id,
                    "days": days,
                },
            )
        )
    for service in ServiceType:
        of_service = [package for package in active if package.service_type == service]
        bought = sum(package.hours * 60 for package in of_service)
        left = sum(map(_unused_minutes, of_service))
        if bought == 0 or left >= bought * PACKAGE_LOW_SHARE:
            continue
        advice.append(
            Recommendation(
                kind="package",
                title=f"Top up {_service_name(service)} hours",
                detail=(
                    f"{_hours_text(left)} of {_hours_text(bought)} bought remain (under "
                    f"{float(PACKAGE_LOW_SHARE):.0%}). Buy a new package before they run out; work "
                    "beyond the packages is billed at the hourly list rate."
                ),
                code="package_low",
                facts={
                    "service": service.value,
                    "hours_left": left / 60,
                    "hours_bought": bought / 60,
                    "share": float(PACKAGE_LOW_SHARE),
                },
            )
        )
    return advice
