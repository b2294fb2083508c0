"""Classification through the deployed DMN tables: every SLA cell and the priority matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from itsm.bootstrap import Services
from itsm.domain.commands import NewTicket
from itsm.domain.sla import ServiceType, SlaTier

# The contract as sold (DOMAIN.md), written out independently of config/ and the DMN file.
SOLD = {
    ("standard", "it_administration"): (8, 24),
    ("gold", "it_administration"): (4, 12),
    ("platinum", "it_administration"): (2, 8),
    ("standard", "it_service"): (8, 48),
    ("gold", "it_service"): (4, 24),
    ("platinum", "it_service"): (2, 12),
    ("standard", "helpdesk"): (6, None),
    ("gold", "helpdesk"): (4, None),
    ("platinum", "helpdesk"): (2, None),
}
CLIENT_OF_TIER = {"standard": "ACME", "gold": "BALT", "platinum": "MEDIS"}


def requester_of(desk: Services, code: str) -> str:
    with desk.unit_of_work() as uow:
        client = uow.directory.client_by_code(code)
        return next(p.username for p in uow.directory.people(role="requester", client_id=client.id))


@pytest.mark.parametrize(("tier", "service"), sorted(SOLD))
def test_every_sla_cell_sets_the_sold_targets(desk: Services, tier: str, service: str) -> None:
    code = CLIENT_OF_TIER[tier]
    command = NewTicket(
        client_code=code,
        requester=requester_of(desk, code),
        channel="api",
        category="software",
        subject="SLA cell check",
        description="-",
        service_type=service,
    )
    ticket = desk.intake.register(command, "jan.nowak")
    details = desk.tickets.details(ticket.number, "lukasz.kwiatkowski")
    classified = next(e for e in details.timeline if e["kind"] == "classified")["payload"]
    assert (classified["reaction_hours"], classified["resolution_hours"]) == SOLD[(tier, service)]
    assert (
        desk.catalog.sla_policy.target(SlaTier(tier), ServiceType(service)).reaction_hours
        == (SOLD[(tier, service)][0])
    )
    assert ticket.reaction_due_at is not None and ticket.reaction_due_at > ticket.created_at
    if SOLD[(tier, service)][1] is None:
        assert ticket.resolution_due_at is None
    if code == "MEDIS":  # 24/7 contract: business hours are wall-clock hours
        assert ticket.reaction_due_at - ticket.created_at == timedelta(
            hours=SOLD[(tier, service)][0]
        )


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "P1"),
        ("high", "medium", "P2"),
        ("high", "low", "P3"),
        ("medium", "high", "P2"),
        ("medium", "medium", "P3"),
        ("medium", "low", "P4"),
        ("low", "high", "P3"),
        ("low", "medium", "P4"),
        ("low", "low", "P4"),
    ],
)
def test_priority_matrix(sqlite_desk: Services, impact: str, urgency: str, priority: str) -> None:
    command = NewTicket(
        client_code="ACME",
        requester="anna.kowalska",
        channel="portal",
        category="hardware",
        subject="Priority check",
        description="-",
        impact=impact,
        urgency=urgency,
    )
    assert sqlite_desk.intake.register(command, "anna.kowalska").priority == priority


def test_config_policy_matches_the_contract(sqlite_desk: Services) -> None:
    for tier, service, target in sqlite_desk.catalog.sla_policy.cells():
        assert (target.reaction_hours, target.resolution_hours) == SOLD[(tier.value, service.value)]
