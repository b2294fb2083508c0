"""The SLA table from config matches DOMAIN.md cell by cell; due instants use business hours."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from itsm.catalog import load_catalog
from itsm.domain.calendar import default_polish_calendar
from itsm.domain.sla import ServiceType, SlaPolicy, SlaTarget, SlaTier, due_times

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
WARSAW = ZoneInfo("Europe/Warsaw")

# The table in DOMAIN.md: (tier, service type, reaction hours, resolution hours).
DOMAIN_TABLE = [
    (SlaTier.STANDARD, ServiceType.IT_ADMINISTRATION, 8, 24),
    (SlaTier.STANDARD, ServiceType.IT_SERVICE, 8, 48),
    (SlaTier.STANDARD, ServiceType.HELPDESK, 6, None),
    (SlaTier.GOLD, ServiceType.IT_ADMINISTRATION, 4, 12),
    (SlaTier.GOLD, ServiceType.IT_SERVICE, 4, 24),
    (SlaTier.GOLD, ServiceType.HELPDESK, 4, None),
    (SlaTier.PLATINUM, ServiceType.IT_ADMINISTRATION, 2, 8),
    (SlaTier.PLATINUM, ServiceType.IT_SERVICE, 2, 12),
    (SlaTier.PLATINUM, ServiceType.HELPDESK, 2, None),
]


@pytest.fixture(scope="module")
def policy() -> SlaPolicy:
    return load_catalog(CONFIG_DIR).sla_policy


def full_table() -> dict[tuple[SlaTier, ServiceType], SlaTarget]:
    return {(tier, service): SlaTarget(4, 12) for tier, service in product(SlaTier, ServiceType)}


@pytest.mark.parametrize(("tier", "service_type", "reaction", "resolution"), DOMAIN_TABLE)
def test_config_matches_the_domain_table(
    policy: SlaPolicy,
    tier: SlaTier,
    service_type: ServiceType,
    reaction: int,
    resolution: int | None,
) -> None:
    assert policy.target(tier, service_type) == SlaTarget(reaction, resolution)


def test_cells_list_every_tier_and_service_type_once(policy: SlaPolicy) -> None:
    cells = [(tier, service_type) for tier, service_type, _ in policy.cells()]

    assert sorted(cells) == sorted(product(SlaTier, ServiceType))


def test_incomplete_policy_is_refused_naming_the_missing_cells() -> None:
    targets = full_table()
    del targets[(SlaTier.GOLD, ServiceType.HELPDESK)]
    del targets[(SlaTier.PLATINUM, ServiceType.IT_SERVICE)]

    with pytest.raises(ValueError, match="gold/helpdesk, platinum/it_service"):
        SlaPolicy(targets)


def test_policy_does_not_follow_later_changes_to_its_source() -> None:
    targets = full_table()
    policy = SlaPolicy(targets)

    targets[(SlaTier.GOLD, ServiceType.HELPDESK)] = SlaTarget(1, None)

    assert policy.target(SlaTier.GOLD, ServiceType.HELPDESK) == SlaTarget(4, 12)
    assert policy == SlaPolicy(full_table())


@pytest.mark.parametrize(("reaction", "resolution"), [(0, None), (-2, 8), (8, 4)])
def test_impossible_targets_are_refused(reaction: int, resolution: int | None) -> None:
    with pytest.raises(ValueError):
        SlaTarget(reaction, resolution)


def test_due_times_count_business_hours_from_registration(policy: SlaPolicy) -> None:
    registered_friday_afternoon = datetime(2025, 3, 7, 15, tzinfo=WARSAW)
    target = policy.target(SlaTier.STANDARD, ServiceType.IT_SERVICE)  # 8 / 48

    reaction, resolution = due_times(
        registered_friday_afternoon, target, default_polish_calendar([])
    )

    assert reaction == datetime(2025, 3, 10, 15, tzinfo=WARSAW)
    assert resolution == datetime(2025, 3, 17, 15, tzinfo=WARSAW)
    assert reaction.tzinfo is UTC


def test_helpdesk_has_no_resolution_due(policy: SlaPolicy) -> None:
    target = policy.target(SlaTier.PLATINUM, ServiceType.HELPDESK)

    reaction, resolution = due_times(
        datetime(2025, 3, 10, 9, tzinfo=WARSAW), target, default_polish_calendar([])
    )

    assert reaction == datetime(2025, 3, 10, 11, tzinfo=WARSAW)
    assert resolution is None
