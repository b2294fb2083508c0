"""Task completion rules: validation, permissions, and conflicts between concurrent users."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from itsm.bootstrap import Services
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from itsm.domain.process import HumanTask

VALID_L1 = {
    "remote_desktop_consent": True,
    "remote_session_used": True,
    "diagnosis": "Profile corrupted",
    "outcome": "resolved",
    "resolution": "Rebuilt the Outlook profile",
    "time_spent_minutes": 20,
}


def new_ticket(desk: Services, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "client_code": "ACME",
        "requester": "anna.kowalska",
        "channel": "phone",
        "category": "software",
        "subject": "Outlook keeps asking for password",
        "description": "Since this morning",
        "impact": "medium",
        "urgency": "high",
    }
    values.update(overrides)
    return desk.intake.register(NewTicket(**values), "jan.nowak").number


def open_task(desk: Services, number: str, element_id: str) -> HumanTask:
    with desk.unit_of_work() as uow:
        ticket = uow.tickets.get_by_number(number)
        return next(
            t
            for t in uow.tasks.for_ticket(ticket.id)
            if t.element_id == element_id and t.status.value == "open"
        )


def snapshot(desk: Services, number: str) -> tuple[Any, ...]:
    with desk.unit_of_work() as uow:
        ticket = uow.tickets.get_by_number(number)
        instance = uow.processes.instance_for_ticket(ticket.id)
        return (
            instance.version,
            instance.state,
            ticket.version,
            len(uow.audit.for_ticket(ticket.id)),
            len(uow.outbox.for_ticket(ticket.id)),
            [(t.id, t.status, t.assignee) for t in uow.tasks.for_ticket(ticket.id)],
        )


def test_registration_notifies_requester_of_number_and_engineer(desk: Services) -> None:
    number = new_ticket(desk)
    details = desk.tickets.details(number, "lukasz.kwiatkowski")
    messages = {m["template"]: m for m in details.notifications}
    assert messages["ticket_registered"]["context"]["ticket_number"] == number
    assert messages["ticket_registered"]["recipient"] == "anna.kowalska@acme.example"
    engineer = details.assignee
    assert engineer is not None
    assert messages["engineer_assigned"]["context"]["engineer_name"] == engineer.full_name
    task = open_task(desk, number, "l1_triage")
    assert task.assignee == engineer.username and task.due_at == details.ticket.resolution_due_at
    assert details.ticket.status.value == "in_progress" and details.ticket.priority == "P2"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**VALID_L1, "resolution": None}, "resolution"),
        ({k: v for k, v in VALID_L1.items() if k != "resolution"}, "resolution"),
        ({**VALID_L1, "remote_desktop_consent": False}, "remote_desktop_consent"),
        ({**VALID_L1, "outcome": "pray"}, "outcome"),
        ({**VALID_L1, "time_spent_minutes": -5}, "time_spent_minutes"),
        ({**VALID_L1, "outcome": "vendor"}, "vendor_name"),
        ({**VALID_L1, "unexpected": 1}, "(form)"),
    ],
)
def test_invalid_form_data_is_refused_and_changes_nothing(
    desk: Services, data: dict[str, Any], field: str
) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    before = snapshot(desk, number)
    with pytest.raises(ValidationFailed) as refused:
        desk.tasks.complete(task.id, data, task.assignee or "")
    assert any(error.path == field or field in error.message for error in refused.value.errors), (
        refused.value.errors
    )
    assert snapshot(desk, number) == before


def test_form_data_must_be_an_object(desk: Services) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    with pytest.raises(ValidationFailed, match="JSON object"):
        desk.tasks.complete(task.id, ["not", "an", "object"], task.assignee or "")


def test_only_the_assigned_engineer_or_lead_works_an_assigned_task(desk: Services) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    other_l1 = next(u for u in ("jan.nowak", "katarzyna.wisniewska") if u != task.assignee)
    with pytest.raises(PermissionDenied, match="assigned to"):
        desk.tasks.complete(task.id, VALID_L1, other_l1)
    with pytest.raises(PermissionDenied, match="cannot work tasks of group 'L1'"):
        desk.tasks.complete(task.id, VALID_L1, someone(desk, "field_technician"))
    with pytest.raises(PermissionDenied, match="only the service desk lead"):
        desk.tasks.reassign(task.id, other_l1, other_l1)
    desk.tasks.reassign(task.id, other_l1, someone(desk, "service_desk_lead"))
    desk.tasks.complete(task.id, VALID_L1, other_l1)
    assert desk.tickets.details(number, other_l1).ticket.status.value == "resolved"


def someone(desk: Services, role: str) -> str:
    with desk.unit_of_work() as uow:
        return str(uow.directory.people(role=role)[0].username)


def test_client_people_never_see_another_clients_tickets(desk: Services) -> None:
    number = new_ticket(desk)
    for outsider in ("dorota.nowakowska", "andrzej.majewski"):  # BALT coordinator, requester
        with pytest.raises(NotFound):
            desk.tickets.details(number, outsider)
    with pytest.raises(NotFound):
        desk.tickets.details(number, "marcin.wieczorek")  # same client, not the requester
    assert desk.tickets.details(number, "robert.pawlak").ticket.number == number  # coordinator
    assert desk.tickets.details(number, "anna.kowalska").ticket.number == number


def race(actions: list[Callable[[], Any]]) -> list[BaseException | None]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            actions[index]()
        except BaseException as err:  # collected and asserted by the caller
            outcomes[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("attempt", range(5))
def test_two_concurrent_completions_exactly_one_wins(desk: Services, attempt: int) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    engineer = task.assignee or ""
    outcomes = race([lambda: desk.tasks.complete(task.id, VALID_L1, engineer)] * 2)
    assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "NoneType"]
    details = desk.tickets.details(number, "lukasz.kwiatkowski")
    completions = [e for e in details.timeline if e["kind"] == "task_completed"]
    assert len(completions) == 1
    assert [t.element_id for t in details.tasks if t.status.value == "open"] == [
        "confirm_resolution"
    ]


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_claims_exactly_one_wins(desk: Services, attempt: int) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    escalation = {k: v for k, v in VALID_L1.items() if k != "resolution"}
    desk.tasks.complete(task.id, {**escalation, "outcome": "escalate_l2"}, task.assignee or "")
    l2_task = open_task(desk, number, "l2_resolve")
    assert l2_task.assignee is None
    with desk.unit_of_work() as uow:
        l2_people = [p.username for p in uow.directory.people(role="l2")][:2]
    outcomes = race([lambda u=u: desk.tasks.claim(l2_task.id, u) for u in l2_people])
    errors = [o for o in outcomes if o is not None]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError)
    winner = l2_people[outcomes.index(None)]
    assert open_task(desk, number, "l2_resolve").assignee == winner


def test_completed_task_cannot_be_completed_again(desk: Services) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    desk.tasks.complete(task.id, VALID_L1, task.assignee or "")
    with pytest.raises(ConflictError, match="already completed"):
        desk.tasks.complete(task.id, VALID_L1, task.assignee or "")


def test_visit_time_must_be_a_real_timestamp(desk: Services) -> None:
    number = new_ticket(desk, category="hardware")
    task = open_task(desk, number, "l1_triage")
    order = {k: v for k, v in VALID_L1.items() if k != "resolution"}
    desk.tasks.complete(
        task.id,
        {**order, "outcome": "field_visit", "visit_reason": "PSU dead"},
        task.assignee or "",
    )
    visit = open_task(desk, number, "field_visit")
    technician = someone(desk, "field_technician")
    desk.tasks.claim(visit.id, technician)
    report = {
        "arrived_at": "yesterday-ish",
        "time_spent_minutes": 40,
        "visit_outcome": "fixed",
        "report": "Replaced the power supply",
        "resolution": "New PSU fitted",
    }
    with pytest.raises(ValidationFailed) as refused:
        desk.tasks.complete(visit.id, report, technician)
    assert [e.path for e in refused.value.errors] == ["arrived_at"]
    desk.tasks.complete(visit.id, {**report, "arrived_at": "2026-10-05T09:30:00+02:00"}, technician)
    [done] = desk.tickets.details(number, technician).field_visits
    assert done["technician"] == technician and done["minutes"] == 40


def test_every_missing_field_is_named(desk: Services) -> None:
    number = new_ticket(desk)
    task = open_task(desk, number, "l1_triage")
    with pytest.raises(ValidationFailed) as refused:
        desk.tasks.complete(task.id, {"remote_desktop_consent": False}, task.assignee or "")
    assert {"diagnosis", "outcome", "time_spent_minutes"} <= {e.path for e in refused.value.errors}
