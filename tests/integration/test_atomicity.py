"""A step that fails leaves nothing behind: no ticket, no task, no notification, no audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ProcessFailed
from itsm.process_files import read_process_source
from itsm.services.service_tasks import TaskContext
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage import tables
from tasks import service_functions

COUNTED = (
    tables.tickets,
    tables.process_instances,
    tables.human_tasks,
    tables.outbox,
    tables.audit_events,
    tables.time_entries,
    tables.kb_articles,
)


def broken(message: str) -> Any:
    def fail(ctx: TaskContext, **params: Any) -> dict[str, Any]:
        raise RuntimeError(message)

    return fail


@pytest.fixture
def desk_with(database_url: str, clock: ManualClock) -> Iterator[Any]:
    built: list[Services] = []

    def make(**overrides: Any) -> Services:
        services = build(
            Settings(database_url=database_url),
            clock=clock,
            functions={**service_functions(), **overrides},
        )
        with services.unit_of_work() as uow:
            if not uow.directory.any_client():
                seed_directory(uow, services.catalog, clock.now())
                uow.commit()
        services.processes.deploy(
            read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"), "t"
        )
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


def counts(services: Services) -> dict[str, int]:
    with services.unit_of_work() as uow:
        connection = uow.tickets._db
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in COUNTED
        }


def command() -> NewTicket:
    return NewTicket(
        client_code="ACME",
        requester="anna.kowalska",
        channel="email",
        category="network",
        subject="VPN drops",
        description="Every hour",
    )


def test_failing_service_task_during_intake_stores_nothing(desk_with: Any) -> None:
    desk = desk_with(assign_engineer=broken("directory service down"))
    before = counts(desk)
    with pytest.raises(ProcessFailed, match="directory service down") as failed:
        desk.intake.register(command(), "anna.kowalska")
    assert failed.value.element_id == "assign_l1_engineer"
    assert counts(desk) == before


def test_failing_service_task_after_a_completion_keeps_the_task_open(desk_with: Any) -> None:
    desk = desk_with(mark_resolved=broken("mail relay refused"))
    number = desk.intake.register(command(), "anna.kowalska").number
    with desk.unit_of_work() as uow:
        ticket = uow.tickets.get_by_number(number)
        [task] = uow.tasks.open_for_instance(uow.processes.instance_for_ticket(ticket.id).id)
    before = counts(desk)
    data = {
        "remote_desktop_consent": False,
        "remote_session_used": False,
        "diagnosis": "ISP",
        "outcome": "resolved",
        "resolution": "Router restarted",
        "time_spent_minutes": 5,
    }
    with pytest.raises(ProcessFailed) as failed:
        desk.tasks.complete(task.id, data, task.assignee or "")
    assert "mail relay refused" in str(failed.value)
    assert failed.value.element_id == "mark_ticket_resolved"
    assert counts(desk) == before
    healthy = desk_with()
    healthy.tasks.complete(task.id, data, task.assignee or "")
    assert healthy.tickets.details(number, "anna.kowalska").ticket.status.value == "resolved"


def test_no_engineer_in_the_line_is_a_clear_failure(desk_with: Any, clock: ManualClock) -> None:
    desk = desk_with()
    with desk.unit_of_work() as uow:
        uow.tickets._db.execute(
            tables.people.update().where(tables.people.c.role == "l1").values(active=False)
        )
        uow.commit()
    with pytest.raises(ProcessFailed, match="no active engineer in group L1"):
        desk.intake.register(command(), "anna.kowalska")
