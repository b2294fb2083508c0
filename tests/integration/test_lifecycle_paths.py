"""Every path of the lifecycle, end to end through services, engine and a real database."""

from __future__ import annotations

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.scenarios import ScenarioPlayer, load_scenarios, ticket_command
from itsm.services.ticket_views import TicketDetails
from itsm.settings import PROJECT_ROOT

SCENARIOS = load_scenarios(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json")
ADMIN = "lukasz.kwiatkowski"
COORDINATOR = "robert.pawlak"  # ACME's IT coordinator in config/demo.toml
AUTHORISED = "barbara.michalska"
UNAUTHORISED = "anna.kowalska"


def run_path(desk: Services, clock: ManualClock, name: str) -> TicketDetails:
    scenario = SCENARIOS[name]
    requester = AUTHORISED if scenario.requester_must_be_authorised else UNAUTHORISED
    command = ticket_command(scenario, "ACME", requester)
    ticket = desk.intake.register(command, "jan.nowak")
    playback = ScenarioPlayer(desk, clock).play(scenario, ticket.number)
    assert playback.finished
    return desk.tickets.details(ticket.number, ADMIN)


def completed_elements(details: TicketDetails) -> list[str]:
    return [
        e["element_id"]
        for e in details.timeline
        if e["kind"] in ("step", "task_completed") and e["element_id"]
    ]


def templates(details: TicketDetails) -> list[str]:
    return [message["template"] for message in details.notifications]


def assert_closed_normally(details: TicketDetails, closure: str = "confirmed") -> None:
    ticket = details.ticket
    assert ticket.status.value == "closed"
    assert ticket.closure is not None and ticket.closure.value == closure
    assert ticket.priority in {"P1", "P2", "P3", "P4"}
    assert ticket.reaction_due_at is not None and ticket.resolved_at is not None
    assert details.instance is not None and details.instance.status.value == "completed"
    assert {t.status.value for t in details.tasks} <= {"completed", "cancelled"}
    assert details.knowledge_article is not None
    assert details.knowledge_article["solution"].startswith(ticket.resolution or "?")
    assert "follow_up_check" in completed_elements(details)
    assert {"ticket_registered", "engineer_assigned", "resolved", "closed"} <= set(
        templates(details)
    )
    assert details.minutes_spent > 0 and sum(d["minutes"] for d in details.deductions) == (
        details.minutes_spent
    )
    assert ticket.responded_at is not None


def test_resolved_at_first_line(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "l1_resolve")
    assert_closed_normally(details)
    elements = completed_elements(details)
    assert "l2_resolve" not in elements and "approve_change" not in elements
    assert details.ticket.support_line == "L1"
    assert details.assignee is not None and details.assignee.role.value == "l1"


def test_escalated_to_second_line(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "l2_resolve")
    assert_closed_normally(details)
    assert "l2_resolve" in completed_elements(details)
    assert "l3_resolve" not in completed_elements(details)
    assert details.ticket.support_line == "L2"
    assert details.assignee is not None and details.assignee.role.value == "l2"


def test_escalated_to_third_line(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "l3_resolve")
    assert_closed_normally(details)
    assert "l3_resolve" in completed_elements(details)
    assert details.ticket.root_cause
    assert "Root cause" in details.knowledge_article["solution"]  # type: ignore[index]


def test_handed_off_to_vendor(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "vendor")
    assert_closed_normally(details)
    assert details.ticket.vendor_name and details.ticket.vendor_reference
    assert "handed_off_to_vendor" in templates(details)
    assert "await_vendor" in completed_elements(details)
    assert any(
        e["kind"] == "status_changed" and e["payload"].get("to") == "with_vendor"
        for e in details.timeline
    )


def test_field_visit_ordered_by_first_line(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "field_visit")
    assert_closed_normally(details)
    [visit] = details.field_visits
    assert visit["status"] == "done" and visit["minutes"] > 0 and visit["technician"]
    l1_engineer = next(
        e
        for e in details.timeline
        if e["kind"] == "task_completed" and e["element_id"] == "l1_triage"
    )["actor"]
    with desk.unit_of_work() as uow:
        assert uow.directory.person(visit["ordered_by_id"]).username == l1_engineer
    assert "field_visit_scheduled" in templates(details)


def test_change_approved_by_coordinator(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "authorisation_approved")
    assert_closed_normally(details)
    assert details.ticket.approval_decision == "approve"
    with desk.unit_of_work() as uow:
        assert uow.directory.person(details.ticket.approved_by_id).username == COORDINATOR
    assert completed_elements(details).index("approve_change") < completed_elements(details).index(
        "l1_triage"
    )
    assert {"approval_requested", "awaiting_authorisation"} <= set(templates(details))


def test_change_rejected_by_coordinator(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "authorisation_rejected")
    ticket = details.ticket
    assert ticket.status.value == "rejected" and ticket.closure is not None
    assert ticket.approval_decision == "reject"
    assert "l1_triage" not in completed_elements(details)
    assert "rejected" in templates(details)
    assert details.instance is not None and details.instance.status.value == "completed"


def test_change_by_authorised_person_needs_no_approval(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "authorised_requester")
    assert_closed_normally(details)
    assert "approve_change" not in completed_elements(details)
    check = next(e for e in details.timeline if e["kind"] == "authorisation_checked")
    assert check["payload"]["authorised"] is True


def test_reopened_once_then_confirmed(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "reopen")
    assert_closed_normally(details)
    assert details.ticket.reopen_count == 1
    assert completed_elements(details).count("l1_triage") == 2
    assert completed_elements(details).count("confirm_resolution") == 2


def test_auto_closed_when_requester_stays_silent(desk: Services, clock: ManualClock) -> None:
    details = run_path(desk, clock, "auto_close")
    assert_closed_normally(details, closure="auto_closed")
    confirm = [t for t in details.tasks if t.element_id == "confirm_resolution"]
    assert [t.status.value for t in confirm] == ["cancelled"]
    closed_by_timer = next(
        e
        for e in details.timeline
        if e["kind"] == "status_changed" and e["payload"].get("to") == "closed"
    )
    assert closed_by_timer["actor"] == "system:timers"


def test_asking_the_requester_pauses_the_clock_until_they_answer(
    desk: Services, clock: ManualClock
) -> None:
    details = run_path(desk, clock, "ask_requester")
    assert_closed_normally(details)
    assert "information_requested" in templates(details)
    asked = next(m for m in details.notifications if m["template"] == "information_requested")
    assert asked["context"]["message"] == "Which error code does the printer display show?"
    with desk.unit_of_work(read_only=True) as uow:
        statuses = [change.status.value for change in uow.sla.history(details.ticket.id)]
    assert "awaiting_requester" in statuses
    answer = next(t for t in details.tasks if t.element_id == "provide_information")
    assert answer.completed_by == UNAUTHORISED and answer.due_at is None


def test_every_scenario_in_the_model_file_is_covered() -> None:
    tested = {
        "l1_resolve",
        "l2_resolve",
        "l3_resolve",
        "vendor",
        "field_visit",
        "authorisation_approved",
        "authorisation_rejected",
        "authorised_requester",
        "reopen",
        "auto_close",
        "ask_requester",
    }
    assert set(SCENARIOS) == tested
