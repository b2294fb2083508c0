"""Prepaid hour packages: their price, their expiry, and drawing work minutes from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from itsm.domain.sla import ServiceType

_GROSZ = Decimal("0.01")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PackageOffer:
    """The price list: net hourly rate in PLN per service type, discount in percent per package
    size in hours, and how many calendar months a bought package stays valid."""

    hourly_rates: Mapping[ServiceType, Decimal]
    size_discounts: Mapping[int, Decimal]
    validity_months: int

    def __post_init__(self) -> None:
        missing = [service.value for service in ServiceType if service not in self.hourly_rates]
        if missing:
            raise ValueError(f"no hourly rate for service types: {', '.join(missing)}")
        if any(rate <= 0 for rate in self.hourly_rates.values()):
            raise ValueError("hourly rates must be positive")
        if not self.size_discounts:
            raise ValueError("at least one package size must be offered")
        if any(hours <= 0 for hours in self.size_discounts):
            raise ValueError("package sizes must be positive hours")
        if any(not 0 <= discount < _HUNDRED for discount in self.size_discounts.values()):
            raise ValueError("discounts must be percentages in [0, 100)")
        if self.validity_months <= 0:
            raise ValueError("validity_months must be positive")
        # Read-only views, so a shared offer cannot be changed behind its users' backs.
        object.__setattr__(self, "hourly_rates", MappingProxyType(dict(self.hourly_rates)))
        object.__setattr__(
            self, "size_discounts", MappingProxyType(dict(sorted(self.size_discounts.items())))
        )

    @property
    def sizes(self) -> tuple[int, ...]:
        """Offered package sizes in hours, smallest first."""
        return tuple(self.size_discounts)


def package_price(offer: PackageOffer, service_type: ServiceType, hours: int) -> Decimal:
    """Net PLN price of one package, rounded to the grosz; only offered sizes can be priced."""
    if hours not in offer.size_discounts:
        offered = ", ".join(str(size) for size in offer.sizes)
        raise ValueError(f"no {hours} h package is offered (sizes: {offered})")
    full_price = offer.hourly_rates[service_type] * hours
    discounted = full_price * (_HUNDRED - offer.size_discounts[hours]) / _HUNDRED
    return discounted.quantize(_GROSZ, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PackageBalance:
    """What is left of one bought package; valid on [purchased_at, expires_at)."""

    package_id: int
    service_type: ServiceType
    purchased_at: datetime
    expires_at: datetime
    minutes_total: int
    minutes_used: int

    def __post_init__(self) -> None:
        if self.expires_at <= self.purchased_at:
            raise ValueError("a package must expire after it was purchased")
        if not 0 <= self.minutes_used <= self.minutes_total:
            raise ValueError(
                f"minutes_used ({self.minutes_used}) must be within 0..{self.minutes_total}"
            )

    @property
    def minutes_remaining(self) -> int:
        return self.minutes_total - self.minutes_used

    def is_valid_at(self, at: datetime) -> bool:
        return self.purchased_at <= at < self.expires_at


@dataclass(frozen=True)
class Allocation:
    """How work minutes are paid: (package_id, minutes) drawn from packages, and the rest that
    is billed pay-as-you-go."""

    deductions: list[tuple[int, int]] = field(default_factory=list)
    uncovered_minutes: int = 0

    @property
    def covered_minutes(self) -> int:
        return sum(minutes for _, minutes in self.deductions)


def allocate_minutes(
    balances: Iterable[PackageBalance], service_type: ServiceType, minutes: int, at: datetime
) -> Allocation:
    """Draw `minutes` of work done at `at` from the packages of that service type valid then,
    earliest-expiring first (so as little as possible is lost to expiry), splitting as needed."""
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    usable = sorted(
        (
            balance
            for balance in balances
            if balance.service_type == service_type
            and balance.is_valid_at(at)
            and balance.minutes_remaining > 0
        ),
        # Ties broken by purchase and id so the same input always gives the same deductions.
        key=lambda balance: (balance.expires_at, balance.purchased_at, balance.package_id),
    )
    deductions: list[tuple[int, int]] = []
    remaining = minutes
    for balance in usable:
        if remaining == 0:
            break
        drawn = min(remaining, balance.minutes_remaining)
        deductions.append((balance.package_id, drawn))
        remaining -= drawn
    return Allocation(deductions=deductions, uncovered_minutes=remaining)


def expiry_for(purchased_at: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months later; a day missing in the target month
    clamps to its last day (31 August + 6 months = 28 or 29 February)."""
    if months <= 0:
        raise ValueError(f"months must be positive, got {months}")
    month_index = purchased_at.month - 1 + months
    year = purchased_at.year + month_index // 12
    month = month_index % 12 + 1
    return purchased_at.replace(
        year=year, month=month, day=min(purchased_at.day, _days_in(year, month))
    )


def _days_in(year: int, month: int) -> int:
    next_month_start = date(year + month // 12, month % 12 + 1, 1)
    return (next_month_start - date(year, month, 1)).days
