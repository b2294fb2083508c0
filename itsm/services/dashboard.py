"""The manager dashboard: the monthly report's KPI functions over any clients and months.

One read of the facts for the whole range, then the same pure functions the client report
uses, per month and per tier — so a figure on the dashboard and in a report never differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsm.domain.directory import Client, Person
from itsm.domain.errors import FieldError, PermissionDenied, ValidationFailed
from itsm.domain.kpis import (
    PackageFacts,
    Period,
    PeriodFigures,
    TicketFacts,
    month_period,
    period_figures,
)
from itsm.domain.people import Role
from itsm.domain.report import parse_month
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

DASHBOARD_ROLES = frozenset({Role.MANAGER, Role.SERVICE_DESK_LEAD, Role.ADMIN})
PROVIDER_TIMEZONE = "Europe/Warsaw"  # months on the dashboard are the provider's months
MAX_MONTHS = 36


@dataclass(frozen=True)
class TierMonth:
    month: str
    tier: str
    figures: PeriodFigures


@dataclass(frozen=True)
class DashboardData:
    range: Period
    total: PeriodFigures
    monthly: tuple[PeriodFigures, ...]
    by_tier: tuple[TierMonth, ...]
    workload: tuple[dict[str, Any], ...]
    """Open staff tasks per assignee ("unassigned" for queue tasks) and group, right now."""
    alarms: tuple[dict[str, Any], ...]
    """Warnings and breaches fired in the range, newest first."""
    clients: tuple[Client, ...]
    packages: tuple[PackageFacts, ...] = ()
    """The hour packages of the one chosen client as of the range's end (empty when several
    clients are chosen: packages are bought per client and make no sense summed)."""
    incidents: int = 0
    """The chosen clients' tickets whose process is in an incident right now."""


class ManagerDashboard:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._clock = clock
        self._uow = uow

    def load(
        self,
        actor: str,
        *,
        first_month: str,
        last_month: str,
        client_codes: Iterable[str] | None = None,
        sla_tiers: Iterable[str] | None = None,
    ) -> DashboardData:
        # A month still running is judged as of now: a ticket not due yet is not breached.
        # Periods are [start, end): one microsecond past now keeps what happened at "now".
        now = self._clock.now() + timedelta(microseconds=1)
        months = [
            Period(month.start, min(month.end, now), month.label)
            for month in _months(first_month, last_month)
            if month.start < now
        ]
        if not months:
            raise ValidationFailed([FieldError("first_month", "choose a month that has begun")])
        with self._uow(read_only=True) as uow:
            _ensure_dashboard_reader(uow, actor)
            clients = _chosen(uow.directory.clients(), client_codes, sla_tiers)
            whole = Period(months[0].start, months[-1].end, f"{months[0].label}…{months[-1].label}")
            facts: list[TicketFacts] = uow.reporting.ticket_facts(
                start=whole.start, end=whole.end, client_ids=[client.id for client in clients]
            )
            workload = tuple(uow.reporting.open_task_load())
            packages = (
                tuple(uow.reporting.package_facts(clients[0].id, whole.start, whole.end))
                if len(clients) == 1
                else ()
            )
            incidents = uow.processes.incident_count(client_ids=[client.id for client in clients])
            alarms = tuple(
                alarm
                for alarm in uow.sla.fired_alarms(since=whole.start, limit=2000)
                if alarm["client_id"] in {client.id for client in clients}
                and alarm["fired_at"] < whole.end
            )
        monthly = tuple(period_figures(month, _relevant(facts, month)) for month in months)
        tiers = sorted({client.sla_tier.value for client in clients})
        by_tier = tuple(
            TierMonth(
                month.label,
                tier,
                period_figures(month, [t for t in _relevant(facts, month) if t.sla_tier == tier]),
            )
            for month in months
            for tier in tiers
        )
        return DashboardData(
            range=whole,
            total=period_figures(whole, facts),
            monthly=monthly,
            by_tier=by_tier,
            workload=workload,
            alarms=alarms,
            clients=tuple(clients),
            packages=packages,
            incidents=incidents,
        )

    def clients(self, actor: str) -> list[Client]:
        """Every client, for the dashboard's filter (same readers as ``load``)."""
        with self._uow(read_only=True) as uow:
            _ensure_dashboard_reader(uow, actor)
            clients: list[Client] = uow.directory.clients()
            return clients


def _ensure_dashboard_reader(uow: UnitOfWork, actor: str) -> None:
    person: Person = uow.directory.person_by_username(actor)
    if person.role not in DASHBOARD_ROLES:
        raise PermissionDenied("the dashboard is for managers and the service desk lead")


def month_labels(now: datetime, count: int) -> list[str]:
    """The last ``count`` months up to and including the one ``now`` is in."""
    year, month = now.year, now.month
    labels = []
    for _ in range(count):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


def _months(first: str, last: str) -> list[Period]:
    try:
        start, end = parse_month(first), parse_month(last)
    except ValueError as err:
        raise ValidationFailed([FieldError("month", str(err))]) from err
    if end < start:
        raise ValidationFailed([FieldError("last_month", "must not be before the first month")])
    periods = []
    year, month = start
    while (year, month) <= end:
        periods.append(month_period(year, month, PROVIDER_TIMEZONE))
        if len(periods) > MAX_MONTHS:
            raise ValidationFailed(
                [FieldError("month", f"choose at most {MAX_MONTHS} months at a time")]
            )
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return periods


def _relevant(facts: Sequence[TicketFacts], period: Period) -> list[TicketFacts]:
    return [
        ticket
        for ticket in facts
        if ticket.created_at < period.end
        and (ticket.closed_at is None or ticket.closed_at >= period.start)
    ]


def _chosen(
    clients: list[Client], codes: Iterable[str] | None, tiers: Iterable[str] | None
) -> list[Client]:
    wanted_codes = set(codes or ())
    wanted_tiers = set(tiers or ())
    return [
        client
        for client in clients
        if (not wanted_codes or client.code in wanted_codes)
        and (not wanted_tiers or client.sla_tier.value in wanted_tiers)
    ]
