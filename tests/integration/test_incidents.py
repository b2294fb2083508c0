"""Failed service tasks: retried with backoff by the timers' run, then an incident that the
admins and the lead retry or skip (docs/architecture.md, "Incidents")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ConflictError, PermissionDenied, ValidationFailed
from itsm.domain.process import InstanceStatus, ProcessInstance
from itsm.engine.runner import SpiffProcessEngine
from itsm.process_files import read_process_source
from itsm.services.service_tasks import TaskContext
from itsm.settings import PROJECT_ROOT
from tasks import service_functions
from tasks.notifications import notify
from tests.conftest import build_desk

ADMIN = "lukasz.kwiatkowski"
LEAD = "ewa.kozlowska"
REQUESTER = "anna.kowalska"
L1_RESOLVED = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "ISP",
    "outcome": "resolved",
    "resolution": "Router restarted",
    "time_spent_minutes": 5,
}


class FlakyRelay:
    """The "resolved" notification fails ``failures`` times (None: every time), then works."""

    def __init__(self, failures: int | None, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.calls = 0

    def __call__(self, ctx: TaskContext, **params: Any) -> dict[str, Any]:
        if params.get("template") != "resolved":
            return notify(ctx, **params)
        self.calls += 1
        result = notify(ctx, **params)  # writes first: a failure must take them back
        time.sleep(self.delay)
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise RuntimeError("mail relay refused the connection")
        return result


@pytest.fixture
def desk_for(database_url: str, clock: ManualClock) -> Iterator[Any]:
    built: list[Services] = []

    def make(relay: FlakyRelay, retries: int = 3) -> Services:
        services, _ = build_desk(
            database_url,
            clock,
            functions={**service_functions(), "notify": relay},
            service_task_retries=retries,
        )
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


def resolved_at_first_line(desk: Services, client: str = "ACME", requester: str = REQUESTER) -> str:
    """A ticket whose 1st-line engineer resolved it: the "resolved" notice runs next."""
    command = NewTicket(
        client_code=client,
        requester=requester,
        channel="email",
        category="network",
        subject="VPN drops",
        description="Every hour",
    )
    number = desk.intake.register(command, requester).number
    details = desk.tickets.details(number, LEAD)
    [task] = [task for task in details.tasks if task.status.value == "open"]
    desk.tasks.complete(task.id, L1_RESOLVED, task.assignee or "")
    return number


def instance_of(desk: Services, number: str) -> ProcessInstance:
    details = desk.tickets.details(number, LEAD)
    assert details.instance is not None
    return details.instance


def events(desk: Services, number: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in desk.tickets.details(number, LEAD).timeline if e["kind"] == kind]


def open_task_names(desk: Services, number: str) -> list[str]:
    return [t.name for t in desk.tickets.details(number, LEAD).tasks if t.status.value == "open"]


def resolved_notices(desk: Services, number: str) -> int:
    notifications = desk.tickets.details(number, LEAD).notifications
    return [message["template"] for message in notifications].count("resolved")


def test_a_service_task_that_recovers_lets_the_process_continue(
    desk_for: Any, clock: ManualClock
) -> None:
    relay = FlakyRelay(failures=2)
    desk = desk_for(relay)
    number = resolved_at_first_line(desk)
    failing = instance_of(desk, number)
    assert failing.status is InstanceStatus.FAILING and failing.failure is not None
    assert failing.failure.attempts == 1
    assert failing.failure.next_retry_at == clock.now() + timedelta(seconds=30)
    assert open_task_names(desk, number) == []

    clock.advance(timedelta(seconds=29))
    assert desk.timers.run_due().retried == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    report = desk.timers.run_due()
    assert (report.retried, report.recovered, report.failed) == (1, 0, [])
    again = instance_of(desk, number)
    assert again.status is InstanceStatus.FAILING and again.failure is not None
    assert again.failure.attempts == 2
    assert again.failure.next_retry_at == clock.now() + timedelta(seconds=60)  # backs off
    assert again.failure.failed_since == failing.failure.failed_since

    clock.advance(timedelta(seconds=60))
    report = desk.timers.run_due()
    assert (report.retried, report.recovered) == (1, 1)
    recovered = instance_of(desk, number)
    assert recovered.status is InstanceStatus.RUNNING and recovered.failure is None
    assert open_task_names(desk, number) == ["Confirm resolution"]
    assert desk.tickets.details(number, LEAD).ticket.status.value == "resolved"
    # Three calls, one notification: the failed attempts left none behind.
    assert relay.calls == 3 and resolved_notices(desk, number) == 1
    assert len(events(desk, number, "element_failed")) == 2
    assert events(desk, number, "incident") == []


def test_a_service_task_that_keeps_failing_becomes_an_incident(
    desk_for: Any, clock: ManualClock
) -> None:
    relay = FlakyRelay(failures=None)
    desk = desk_for(relay, retries=3)
    number = resolved_at_first_line(desk)
    for backoff in (30, 60, 120):
        clock.advance(timedelta(seconds=backoff))
        assert desk.timers.run_due().retried == 1
    incident = instance_of(desk, number)
    assert incident.status is InstanceStatus.INCIDENT and incident.failure is not None
    assert incident.failure.attempts == 4 and incident.failure.next_retry_at is None
    assert incident.failure.error == "RuntimeError: mail relay refused the connection"
    [event] = events(desk, number, "incident")
    assert "after 4 attempts" in event["summary"] and "mail relay refused" in event["summary"]
    assert len(events(desk, number, "element_failed")) == 3
    for person in (ADMIN, LEAD):
        [notice] = [n for n in desk.notices.mine(person) if n["kind"] == "incident"]
        assert notice["ticket_number"] == number and "mail relay refused" in notice["summary"]
    assert not [n for n in desk.notices.mine("jan.nowak") if n["kind"] == "incident"]

    clock.advance(timedelta(hours=1))
    assert desk.timers.run_due().retried == 0  # an incident waits for a person
    assert relay.calls == 4 and resolved_notices(desk, number) == 0
    [listed] = desk.incidents.open_incidents(LEAD)
    assert (listed.ticket_number, listed.element_id, listed.attempts) == (
        number,
        "notify_resolved",
        4,
    )
    month = f"{clock.now():%Y-%m}"
    assert desk.dashboard.load(LEAD, first_month=month, last_month=month).incidents == 1
    balt = desk.dashboard.load(LEAD, first_month=month, last_month=month, client_codes=["BALT"])
    assert balt.incidents == 0


def test_admin_retries_an_incident_and_the_process_continues(desk_for: Any) -> None:
    relay = FlakyRelay(failures=1)
    desk = desk_for(relay, retries=0)
    number = resolved_at_first_line(desk)
    [incident] = desk.incidents.open_incidents(ADMIN)
    assert incident.status is InstanceStatus.INCIDENT
    outcome = desk.incidents.retry(incident.instance_id, ADMIN, version=incident.version)
    assert outcome.status is InstanceStatus.RUNNING and outcome.error is None
    assert [task.name for task in outcome.next_tasks] == ["Confirm resolution"]
    assert open_task_names(desk, number) == ["Confirm resolution"]
    assert resolved_notices(desk, number) == 1
    [retried] = events(desk, number, "incident_retried")
    assert retried["actor"] == ADMIN
    assert desk.incidents.open_incidents(ADMIN) == []
    with pytest.raises(ConflictError, match="not failing any more"):
        desk.incidents.retry(incident.instance_id, ADMIN)


def test_a_retry_that_fails_again_starts_the_automatic_retries_afresh(
    desk_for: Any, clock: ManualClock
) -> None:
    desk = desk_for(FlakyRelay(failures=None), retries=1)
    number = resolved_at_first_line(desk)
    first = instance_of(desk, number).failure
    clock.advance(timedelta(seconds=30))
    assert desk.timers.run_due().incidents == 1
    [incident] = desk.incidents.open_incidents(LEAD)
    clock.advance(timedelta(minutes=10))
    outcome = desk.incidents.retry(incident.instance_id, LEAD)
    assert outcome.status is InstanceStatus.FAILING and "mail relay" in (outcome.error or "")
    again = instance_of(desk, number).failure
    assert again is not None and first is not None
    assert again.attempts == 1 and again.next_retry_at == clock.now() + timedelta(seconds=30)
    assert again.failed_since == first.failed_since  # the same problem, since then


def test_lead_skips_an_incident_with_a_note(desk_for: Any) -> None:
    relay = FlakyRelay(failures=None)
    desk = desk_for(relay, retries=0)
    number = resolved_at_first_line(desk)
    [incident] = desk.incidents.open_incidents(LEAD)
    with pytest.raises(ValidationFailed, match="note"):
        desk.incidents.skip(incident.instance_id, LEAD, "   ")
    outcome = desk.incidents.skip(
        incident.instance_id, LEAD, "Told the requester by phone", version=incident.version
    )
    assert outcome.status is InstanceStatus.RUNNING
    assert open_task_names(desk, number) == ["Confirm resolution"]
    assert relay.calls == 1 and resolved_notices(desk, number) == 0  # not run again
    [skipped] = events(desk, number, "incident_skipped")
    assert skipped["actor"] == LEAD and "Told the requester by phone" in skipped["summary"]
    assert skipped["payload"]["note"] == "Told the requester by phone"


@pytest.mark.parametrize("actor", [REQUESTER, "jan.nowak", "marek.jankowski"])
def test_only_admins_and_the_lead_handle_incidents(desk_for: Any, actor: str) -> None:
    desk = desk_for(FlakyRelay(failures=None), retries=0)
    number = resolved_at_first_line(desk)
    instance_id = instance_of(desk, number).id
    with pytest.raises(PermissionDenied):
        desk.incidents.open_incidents(actor)
    with pytest.raises(PermissionDenied):
        desk.incidents.retry(instance_id, actor)
    with pytest.raises(PermissionDenied):
        desk.incidents.skip(instance_id, actor, "not mine to skip")
    assert instance_of(desk, number).status is InstanceStatus.INCIDENT


def test_an_incident_changed_since_it_was_shown_is_not_touched(desk_for: Any) -> None:
    desk = desk_for(FlakyRelay(failures=None), retries=0)
    resolved_at_first_line(desk)
    [shown] = desk.incidents.open_incidents(ADMIN)
    desk.incidents.retry(shown.instance_id, LEAD)  # fails again: a new version
    with pytest.raises(ConflictError, match="changed since it was shown"):
        desk.incidents.skip(shown.instance_id, ADMIN, "stale view", version=shown.version)


def test_two_concurrent_retries_of_one_incident_one_wins(desk_for: Any) -> None:
    relay = FlakyRelay(failures=1, delay=0.3)  # both retries are inside the call at once
    desk = desk_for(relay, retries=0)
    number = resolved_at_first_line(desk)
    [incident] = desk.incidents.open_incidents(ADMIN)
    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def retry(actor: str) -> None:
        start.wait()
        try:
            outcomes[actor] = desk.incidents.retry(
                incident.instance_id, actor, version=incident.version
            )
        except ConflictError as err:
            outcomes[actor] = err

    threads = [threading.Thread(target=retry, args=(actor,)) for actor in (ADMIN, LEAD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    conflicts = [o for o in outcomes.values() if isinstance(o, ConflictError)]
    won = [o for o in outcomes.values() if not isinstance(o, ConflictError)]
    assert len(conflicts) == 1 and len(won) == 1, outcomes
    assert won[0].status is InstanceStatus.RUNNING
    assert open_task_names(desk, number) == ["Confirm resolution"]
    assert resolved_notices(desk, number) == 1
    assert len(events(desk, number, "incident_retried")) == 1


def test_variables_set_on_a_failing_instance_reach_the_retried_step(clock: ManualClock) -> None:
    """A verified requester (``set_variables``) while a step is failing is what the step
    and everything after it see once it runs again."""
    engine = SpiffProcessEngine(clock)
    source = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")
    content_hash = engine.inspect(source).content_hash
    seen: list[dict[str, Any]] = []

    def directory(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if operation == "assign_engineer" and not seen:
            seen.append(parameters)
            raise RuntimeError("directory service down")
        return {"priority": "P3", "authorised": True, "username": "jan.nowak"}

    start = {
        "ticket_id": 1,
        "ticket_number": "HD-2026-000001",
        "client_id": 1,
        "sla_tier": "gold",
        "service_type": "helpdesk",
        "category": "network",
        "impact": "low",
        "urgency": "low",
        "change_type": "none",
        "requester_username": "unverified.acme",
        "auto_close_after": "P5D",
        "follow_up_after": "P7D",
    }
    failed = engine.start(source, content_hash, start, directory)
    assert failed.failure is not None and failed.failure.element_id == "assign_l1_engineer"
    assert "assign_l1_engineer" not in [element.element_id for element in failed.passed]
    state = engine.set_variables(
        source, content_hash, failed.state, {"requester_username": "anna.kowalska"}
    )
    again = engine.retry_failed(source, content_hash, state, directory)
    assert again.failure is None
    assert [task.spec.element_id for task in again.waiting_tasks] == ["l1_triage"]
    assert again.data["requester_username"] == "anna.kowalska"
