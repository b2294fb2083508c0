"""Hour packages: the price list from config, expiry, and drawing minutes from balances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from itsm.catalog import load_catalog
from itsm.domain.packages import (
    Allocation,
    PackageBalance,
    PackageOffer,
    allocate_minutes,
    expiry_for,
    package_price,
)
from itsm.domain.sla import ServiceType

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def offer() -> PackageOffer:
    return load_catalog(CONFIG_DIR).package_offer


def balance(
    package_id: int,
    *,
    expires_in_days: int,
    minutes_left: int,
    service_type: ServiceType = ServiceType.IT_SERVICE,
) -> PackageBalance:
    return PackageBalance(
        package_id=package_id,
        service_type=service_type,
        purchased_at=NOW - timedelta(days=30),
        expires_at=NOW + timedelta(days=expires_in_days),
        minutes_total=600,
        minutes_used=600 - minutes_left,
    )


@pytest.mark.parametrize(
    ("service_type", "hours", "price"),
    [
        (ServiceType.HELPDESK, 1, "90"),
        (ServiceType.HELPDESK, 10, "810"),
        (ServiceType.HELPDESK, 20, "1440"),
        (ServiceType.IT_ADMINISTRATION, 1, "200"),
        (ServiceType.IT_ADMINISTRATION, 10, "1800"),
        (ServiceType.IT_ADMINISTRATION, 20, "3200"),
        (ServiceType.IT_SERVICE, 1, "150"),
        (ServiceType.IT_SERVICE, 10, "1350"),
        (ServiceType.IT_SERVICE, 20, "2400"),
    ],
)
def test_prices_match_the_price_list(
    offer: PackageOffer, service_type: ServiceType, hours: int, price: str
) -> None:
    assert package_price(offer, service_type, hours) == Decimal(price)


def test_offer_from_config(offer: PackageOffer) -> None:
    assert offer.sizes == (1, 10, 20)
    assert offer.validity_months == 6


def test_only_offered_sizes_have_a_price(offer: PackageOffer) -> None:
    with pytest.raises(ValueError, match="1, 10, 20"):
        package_price(offer, ServiceType.HELPDESK, 5)


def test_price_is_rounded_to_the_grosz() -> None:
    offer = PackageOffer(
        hourly_rates={service: Decimal("99.99") for service in ServiceType},
        size_discounts={3: Decimal("33")},
        validity_months=6,
    )

    assert package_price(offer, ServiceType.HELPDESK, 3) == Decimal("200.98")


def test_work_is_split_across_packages_earliest_expiring_first() -> None:
    later = balance(1, expires_in_days=90, minutes_left=600)
    sooner = balance(2, expires_in_days=10, minutes_left=45)

    allocation = allocate_minutes([later, sooner], ServiceType.IT_SERVICE, 100, NOW)

    assert allocation == Allocation(deductions=[(2, 45), (1, 55)], uncovered_minutes=0)
    assert allocation.covered_minutes == 100


def test_expired_and_not_yet_bought_packages_are_ignored() -> None:
    expired = PackageBalance(1, ServiceType.IT_SERVICE, NOW - timedelta(days=200), NOW, 600, 0)
    future = PackageBalance(
        2, ServiceType.IT_SERVICE, NOW + timedelta(minutes=1), NOW + timedelta(days=180), 600, 0
    )
    valid = balance(3, expires_in_days=30, minutes_left=600)

    allocation = allocate_minutes([expired, future, valid], ServiceType.IT_SERVICE, 30, NOW)

    assert allocation.deductions == [(3, 30)]


def test_packages_of_another_service_type_are_ignored() -> None:
    helpdesk = balance(1, expires_in_days=5, minutes_left=600, service_type=ServiceType.HELPDESK)
    service = balance(2, expires_in_days=50, minutes_left=600)

    allocation = allocate_minutes([helpdesk, service], ServiceType.IT_SERVICE, 60, NOW)

    assert allocation.deductions == [(2, 60)]


def test_minutes_beyond_the_packages_are_reported_as_uncovered() -> None:
    almost_used = balance(1, expires_in_days=30, minutes_left=20)
    used_up = balance(2, expires_in_days=10, minutes_left=0)

    allocation = allocate_minutes([almost_used, used_up], ServiceType.IT_SERVICE, 90, NOW)

    assert allocation == Allocation(deductions=[(1, 20)], uncovered_minutes=70)


def test_no_packages_means_everything_is_pay_as_you_go() -> None:
    assert allocate_minutes([], ServiceType.HELPDESK, 15, NOW) == Allocation([], 15)


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError):
        allocate_minutes([], ServiceType.HELPDESK, -1, NOW)


@pytest.mark.parametrize(
    ("purchased", "months", "expires"),
    [
        (datetime(2025, 1, 15, 10, tzinfo=UTC), 6, datetime(2025, 7, 15, 10, tzinfo=UTC)),
        (datetime(2025, 8, 31, 9, tzinfo=UTC), 6, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2023, 8, 31, 9, tzinfo=UTC), 6, datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2025, 12, 31, 0, tzinfo=UTC), 1, datetime(2026, 1, 31, 0, tzinfo=UTC)),
        (datetime(2025, 7, 1, 0, tzinfo=UTC), 18, datetime(2027, 1, 1, 0, tzinfo=UTC)),
    ],
)
def test_expiry_adds_calendar_months_clamped_at_month_end(
    purchased: datetime, months: int, expires: datetime
) -> None:
    assert expiry_for(purchased, months) == expires


def test_inconsistent_balances_are_refused() -> None:
    with pytest.raises(ValueError):
        PackageBalance(1, ServiceType.HELPDESK, NOW, NOW + timedelta(days=1), 600, 601)
    with pytest.raises(ValueError):
        PackageBalance(1, ServiceType.HELPDESK, NOW, NOW, 600, 0)
