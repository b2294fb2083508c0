"""A step commits whole or not at all. When an automatic step fails after the step's trigger
(the report, the completed task), the step still commits everything before it and none of
the failed step's own writes, and the instance records the failure (docs/architecture.md,
"Incidents"); anything else that fails, including recording that failure, leaves nothing
behind: no ticket, no task, no notification, no audit event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ConflictError
from itsm.domain.process import HumanTask, InstanceStatus, ProcessInstance
from itsm.process_files import read_process_source
from itsm.services.service_tasks import TaskContext
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage import tables
from itsm.storage.notices import NoticeBoard
from tasks import service_functions
from tasks.assignment import assign_engineer
from tasks.notifications import notify

COUNTED = (
    tables.tickets,
    tables.process_instances,
    tables.human_tasks,
    tables.outbox,
    tables.audit_events,
    tables.time_entries,
    tables.kb_articles,
)


L1_RESOLVED = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "ISP",
    "outcome": "resolved",
    "resolution": "Router restarted",
    "time_spent_minutes": 5,
}


def broken(message: str) -> Any:
    def fail(ctx: TaskContext, **params: Any) -> dict[str, Any]:
        raise RuntimeError(message)

    return fail


def half_done(function: Any, message: str) -> Any:
    """Does all the real function's writes, then fails: none of them may stay."""

    def fail(ctx: TaskContext, **params: Any) -> dict[str, Any]:
        function(ctx, **params)
        raise RuntimeError(message)

    return fail


@pytest.fixture
def desk_with(database_url: str, clock: ManualClock) -> Iterator[Any]:
    built: list[Services] = []

    def make(retries: int = 3, **overrides: Any) -> Services:
        services = build(
            Settings(database_url=database_url, service_task_retries=retries),
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


def instance_of(services: Services, number: str) -> ProcessInstance:
    with services.unit_of_work(read_only=True) as uow:
        found = uow.processes.instance_for_ticket(uow.tickets.get_by_number(number).id)
        assert found is not None
        return found


def kinds(services: Services, number: str) -> list[str]:
    return [event["kind"] for event in services.tickets.details(number, "ewa.kozlowska").timeline]


def l1_task(services: Services, number: str) -> HumanTask:
    with services.unit_of_work(read_only=True) as uow:
        ticket = uow.tickets.get_by_number(number)
        [task] = uow.tasks.open_for_instance(uow.processes.instance_for_ticket(ticket.id).id)
        return task


def test_failing_service_task_during_intake_keeps_the_ticket_not_the_tasks_writes(
    desk_with: Any, clock: ManualClock
) -> None:
    desk = desk_with(assign_engineer=half_done(assign_engineer, "directory service down"))
    before = counts(desk)
    ticket = desk.intake.register(command(), "anna.kowalska")
    after = counts(desk)
    # The report is accepted, with what ran before the failure: the registration notice.
    assert after["tickets"] == before["tickets"] + 1
    assert after["process_instances"] == before["process_instances"] + 1
    assert after["outbox"] == before["outbox"] + 1
    assert after["human_tasks"] == before["human_tasks"]  # it never reached the 1st line
    # The assignment's own writes (engineer, line, audit event) were taken back.
    stored = desk.tickets.details(ticket.number, "anna.kowalska").ticket
    assert stored.assignee_id is None and stored.support_line is None
    assert "engineer_assigned" not in kinds(desk, ticket.number)
    assert "element_failed" in kinds(desk, ticket.number)
    instance = instance_of(desk, ticket.number)
    assert instance.status is InstanceStatus.FAILING
    assert instance.failure is not None
    assert instance.failure.element_id == "assign_l1_engineer"
    assert instance.failure.error == "RuntimeError: directory service down"
    assert instance.failure.attempts == 1
    assert instance.failure.next_retry_at == clock.now() + timedelta(seconds=30)


def test_failing_service_task_after_a_completion_keeps_the_completion(
    desk_with: Any, clock: ManualClock
) -> None:
    desk = desk_with(notify=half_done(notify, "mail relay refused"))
    number = desk_with().intake.register(command(), "anna.kowalska").number
    task = l1_task(desk, number)
    before = counts(desk)
    done = desk.tasks.complete(task.id, L1_RESOLVED, task.assignee or "")
    assert done.held_up == "Notify requester: resolved" and done.next_tasks == []
    after = counts(desk)
    # The completion and "mark resolved" before the failed notification are kept ...
    assert desk.tasks.task(task.id, task.assignee or "").status.value == "completed"
    assert after["time_entries"] == before["time_entries"] + 1
    details = desk.tickets.details(number, "ewa.kozlowska")
    assert details.ticket.resolved_at == clock.now() and details.ticket.resolution
    assert {"task_completed", "resolved", "element_failed"} <= set(kinds(desk, number))
    # ... the notification's own outbox row and audit event are not.
    assert after["outbox"] == before["outbox"]
    assert [m["template"] for m in details.notifications].count("resolved") == 0
    instance = instance_of(desk, number)
    assert instance.status is InstanceStatus.FAILING and instance.failure is not None
    assert instance.failure.element_id == "notify_resolved"
    assert "mail relay refused" in instance.failure.error


def test_no_engineer_in_the_line_is_a_clear_failure(desk_with: Any) -> None:
    desk = desk_with(retries=0)
    with desk.unit_of_work() as uow:
        uow.tickets._db.execute(
            tables.people.update().where(tables.people.c.role == "l1").values(active=False)
        )
        uow.commit()
    number = desk.intake.register(command(), "anna.kowalska").number
    instance = instance_of(desk, number)
    assert instance.status is InstanceStatus.INCIDENT and instance.failure is not None
    assert "no active engineer in group L1" in instance.failure.error


def test_a_failure_while_recording_the_failure_stores_nothing(
    desk_with: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = desk_with(retries=0, mark_resolved=broken("mail relay refused"))
    number = desk.intake.register(command(), "anna.kowalska").number
    task = l1_task(desk, number)
    before = counts(desk)

    def notices_down(self: NoticeBoard, notices: Any) -> None:
        raise RuntimeError("notice board unavailable")

    monkeypatch.setattr(NoticeBoard, "add_many", notices_down)
    with pytest.raises(RuntimeError, match="notice board unavailable"):
        desk.tasks.complete(task.id, L1_RESOLVED, task.assignee or "")
    assert counts(desk) == before
    assert instance_of(desk, number).status is InstanceStatus.RUNNING
    assert l1_task(desk, number).id == task.id  # still open, to be completed again


def test_a_conflict_inside_a_service_task_stores_nothing(desk_with: Any) -> None:
    def collides(ctx: TaskContext, **params: Any) -> dict[str, Any]:
        raise ConflictError("someone else assigned it first")

    desk = desk_with(mark_resolved=collides)
    number = desk.intake.register(command(), "anna.kowalska").number
    task = l1_task(desk, number)
    before = counts(desk)
    with pytest.raises(ConflictError, match="someone else assigned it first"):
        desk.tasks.complete(task.id, L1_RESOLVED, task.assignee or "")
    assert counts(desk) == before


def test_a_database_error_inside_a_service_task_is_taken_back_by_its_savepoint(
    desk_with: Any,
) -> None:
    def bad_statement(ctx: TaskContext, **params: Any) -> dict[str, Any]:
        ctx.uow.tickets.update(params["ticket_id"], ctx.now, resolution="half written")
        # On PostgreSQL this aborts the transaction: only the savepoint's rollback saves it.
        ctx.uow.tickets._db.exec_driver_sql("SELECT * FROM no_such_table")
        return {}

    desk = desk_with(mark_resolved=bad_statement)
    number = desk.intake.register(command(), "anna.kowalska").number
    task = l1_task(desk, number)
    desk.tasks.complete(
        task.id, {**L1_RESOLVED, "resolution": "Cable replaced"}, task.assignee or ""
    )
    assert desk.tickets.details(number, "anna.kowalska").ticket.resolution == "Cable replaced"
    instance = instance_of(desk, number)
    assert instance.status is InstanceStatus.FAILING and instance.failure is not None
    assert instance.failure.element_id == "mark_ticket_resolved"
    assert "no_such_table" in instance.failure.error
