"""The SLA table (reaction/resolution targets per tier and service type) and the due instants."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import product

from itsm.domain.calendar import BusinessCalendar, add_business_hours


class SlaTier(StrEnum):
    """The level of service a client's contract buys."""

    STANDARD = "standard"
    GOLD = "gold"
    PLATINUM = "platinum"


class ServiceType(StrEnum):
    """The kind of work a ticket asks for; SLA targets and hour packages differ per type."""

    HELPDESK = "helpdesk"
    IT_ADMINISTRATION = "it_administration"
    IT_SERVICE = "it_service"


@dataclass(frozen=True)
class SlaTarget:
    """Business hours allowed until reaction and until resolution (None: no resolution target)."""

    reaction_hours: int
    resolution_hours: int | None

    def __post_init__(self) -> None:
        if self.reaction_hours <= 0:
            raise ValueError(f"reaction_hours must be positive, got {self.reaction_hours}")
        if self.resolution_hours is not None and self.resolution_hours < self.reaction_hours:
            raise ValueError(
                f"resolution_hours ({self.resolution_hours}) must not be shorter than "
                f"reaction_hours ({self.reaction_hours})"
            )


SlaCell = tuple[SlaTier, ServiceType]


class SlaPolicy:
    """The complete SLA table: one target for every tier x service type, fixed once built."""

    __slots__ = ("_targets",)

    def __init__(self, targets: Mapping[SlaCell, SlaTarget]) -> None:
        expected = set(product(SlaTier, ServiceType))
        missing = sorted(expected - targets.keys())
        unknown = sorted(map(str, targets.keys() - expected))
        if missing or unknown:
            problems = []
            if missing:
                problems.append("missing cells " + ", ".join(_cell_name(cell) for cell in missing))
            if unknown:
                problems.append("unknown cells " + ", ".join(unknown))
            raise ValueError("incomplete SLA policy: " + "; ".join(problems))
        # Copied in table order so that cells() is stable whatever order the caller used.
        self._targets: dict[SlaCell, SlaTarget] = {
            cell: targets[cell] for cell in product(SlaTier, ServiceType)
        }

    def target(self, tier: SlaTier, service_type: ServiceType) -> SlaTarget:
        return self._targets[(tier, service_type)]

    def cells(self) -> Iterator[tuple[SlaTier, ServiceType, SlaTarget]]:
        """Every cell of the table, tier by tier."""
        for (tier, service_type), target in self._targets.items():
            yield tier, service_type, target

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SlaPolicy):
            return NotImplemented
        return self._targets == other._targets

    def __hash__(self) -> int:
        return hash(tuple(self._targets.items()))

    def __repr__(self) -> str:
        return f"SlaPolicy({self._targets!r})"


@dataclass(frozen=True)
class EscalationPolicy:
    """What happens when an SLA target is breached, beyond telling the service desk lead."""

    raise_priority_on_breach: bool = True
    warn_lead: bool = False


def due_times(
    registered_at: datetime, target: SlaTarget, calendar: BusinessCalendar
) -> tuple[datetime, datetime | None]:
    """Reaction and resolution due instants (UTC), both counted from registration in the
    client's business hours; resolution is None when the target sets none."""
    reaction_due = add_business_hours(registered_at, target.reaction_hours, calendar)
    if target.resolution_hours is None:
        return reaction_due, None
    return reaction_due, add_business_hours(registered_at, target.resolution_hours, calendar)


def _cell_name(cell: SlaCell) -> str:
    tier, service_type = cell
    return f"{tier.value}/{service_type.value}"
