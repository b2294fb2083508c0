"""Service KPIs of a period, computed by pure functions from plain facts about tickets.

One implementation serves the monthly client report and the manager dashboard: storage
gathers the facts with set-based queries (``itsm.storage.reporting``), these functions turn
them into figures. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

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
