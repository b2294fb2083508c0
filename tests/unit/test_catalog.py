"""The real config folder loads; a broken copy fails with a ConfigError naming file and field."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from itsm.catalog import Catalog, load_catalog
from itsm.domain.errors import ConfigError, ItsmError
from itsm.domain.people import Role
from itsm.domain.sla import SlaTier

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CONFIG_DIR)


def test_demo_provider_has_the_whole_team(catalog: Catalog) -> None:
    provider = catalog.demo.provider
    roles = Counter(member.role for member in provider.staff)

    assert provider.name == "NordServ IT"
    assert roles == {
        Role.L1: 4,
        Role.L2: 2,
        Role.L3: 1,
        Role.FIELD_TECHNICIAN: 2,
        Role.SERVICE_DESK_LEAD: 1,
        Role.MANAGER: 1,
        Role.PROCESS_OWNER: 1,
        Role.ADMIN: 1,
    }
    assert all(member.email.endswith("@nordserv.example") for member in provider.staff)


def test_demo_clients_cover_every_tier_and_a_round_the_clock_contract(catalog: Catalog) -> None:
    clients = catalog.demo.clients

    assert {client.tier for client in clients} == set(SlaTier)
    assert any(
        client.tier is SlaTier.PLATINUM and client.business_hours.round_the_clock
        for client in clients
    )


def test_each_demo_client_is_complete(catalog: Catalog) -> None:
    for client in catalog.demo.clients:
        requesters = [p for p in client.people if p.role is Role.REQUESTER]
        authorised = [p for p in requesters if p.authorised]
        assert client.coordinator.email.endswith(f"@{client.email_domain}")
        assert 1 <= len(client.sites) <= 2
        assert 2 <= len(authorised) <= 3
        assert 3 <= len(requesters) - len(authorised) <= 5
        assert 1 <= len(client.packages) <= 2
        assert all(package.hours in (10, 20) for package in client.packages)
        client.business_hours.calendar()  # builds a valid BusinessCalendar


def test_anna_kowalska_is_a_requester(catalog: Catalog) -> None:
    people = {p.username: p for client in catalog.demo.clients for p in client.people}

    assert people["anna.kowalska"].role is Role.REQUESTER


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, copy)
    return copy


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file_name", "old", "new", "expected"),
    [
        pytest.param(
            "sla_tiers.toml",
            "[gold.helpdesk]\nreaction_hours = 4",
            "[gold.helpdesk]\nreaction_hours = 0",
            "gold.helpdesk.reaction_hours",
            id="non-positive-hours",
        ),
        pytest.param(
            "sla_tiers.toml",
            "[gold.helpdesk]\nreaction_hours = 4",
            "",
            "missing cells gold/helpdesk",
            id="missing-cell",
        ),
        pytest.param(
            "sla_tiers.toml",
            "[platinum.it_service]",
            "[platinum.it_servce]",
            "platinum.it_servce (key)",
            id="misspelt-service-type",
        ),
        pytest.param(
            "sla_tiers.toml",
            "reaction_hours = 8\nresolution_hours = 24",
            "reaction_hour = 8\nresolution_hours = 24",
            "standard.it_administration.reaction_hour: Extra inputs are not permitted",
            id="misspelt-key",
        ),
        pytest.param(
            "hour_packages.toml",
            "discount_percent = 20",
            'discount_percent = "a lot"',
            "sizes[2].discount_percent",
            id="bad-discount",
        ),
        pytest.param(
            "hour_packages.toml",
            "it_service = 150\n",
            "",
            "hourly_rates_pln: Value error, missing rates for it_service",
            id="missing-rate",
        ),
        pytest.param(
            "demo.toml",
            'email = "anna.kowalska@acme.example"',
            'email = "anna.kowalska@acme.com"',
            "clients[0].people[3].email",
            id="non-example-email",
        ),
        pytest.param(
            "demo.toml",
            'role = "coordinator"',
            'role = "requester"',
            "clients[0]: Value error, needs exactly one coordinator",
            id="no-coordinator",
        ),
        pytest.param(
            "demo.toml",
            'timezone = "Europe/Warsaw"',
            'timezone = "Europe/Warsw"',
            "clients[0].business_hours.timezone",
            id="unknown-time-zone",
        ),
        pytest.param(
            "demo.toml",
            "hours = 10\n",
            "hours = 15\n",
            "clients[0].packages[1].hours: 15 h is not an offered size",
            id="package-size-not-offered",
        ),
        pytest.param(
            "demo.toml",
            'role = "manager"',
            'role = "coordinator"',
            "provider.staff[10].role",
            id="client-role-on-provider-staff",
        ),
        pytest.param(
            "demo.toml",
            'username = "adam.wrobel"',
            'username = "anna.kowalska"',
            "usernames used more than once: ['anna.kowalska']",
            id="duplicate-username",
        ),
        pytest.param("demo.toml", "[provider]", "[provider", "invalid TOML", id="not-toml"),
    ],
)
def test_broken_config_names_file_and_field(
    config_copy: Path, file_name: str, old: str, new: str, expected: str
) -> None:
    replace_once(config_copy / file_name, old, new)

    with pytest.raises(ConfigError) as raised:
        load_catalog(config_copy)

    assert file_name in str(raised.value)
    assert expected in str(raised.value)


def test_missing_file_is_a_config_error(config_copy: Path) -> None:
    (config_copy / "hour_packages.toml").unlink()

    with pytest.raises(ConfigError, match=r"hour_packages\.toml"):
        load_catalog(config_copy)


def test_config_error_is_an_itsm_error() -> None:
    assert issubclass(ConfigError, ItsmError)
