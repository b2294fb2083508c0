"""Moving waiting tickets to a new process version: a dry run that writes nothing, a move that
keeps task rows and timers, tickets that cannot move finishing on their old version, a
concurrent step never overwritten, and only process owners and admins allowed.

v1 is the bundled lifecycle; the fixtures derive v2 (a 2nd-line approval after the triage,
"Confirm resolution" renamed) and v3 (v2 without the follow-up timer and check).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from itsm.bootstrap import Services
from itsm.cli import app
from itsm.clock import ManualClock
from itsm.domain.errors import PermissionDenied
from itsm.domain.process import HumanTask, ProcessDefinition, TaskStatus
from itsm.engine.runner import SpiffProcessEngine
from itsm.process_files import read_process_source
from itsm.scenarios import ScenarioPlayer, load_scenarios, ticket_command
from itsm.services.human_tasks import Completion
from itsm.services.instance_migration import CHANGED_MEANWHILE, SkippedTicket
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT
from itsm.storage.tables import metadata
from tests.conftest import build_desk

LIFECYCLE = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
V2 = FIXTURES / "ticket_lifecycle_v2_approval.bpmn"
V3 = FIXTURES / "ticket_lifecycle_v3_no_follow_up.bpmn"
SCENARIO = load_scenarios(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json")["l1_resolve"]
RESOLVE = dict(SCENARIO.steps[0]["data"])
CONFIRM = {"confirmation": "confirm"}
FOLLOW_UP = {"solution_holds": True, "notes": "Still works."}
OWNER = "joanna.mazur"
ADMIN = "lukasz.kwiatkowski"


def fixture_source(path: Path) -> ProcessSource:
    """A fixture model with the bundled DMN and forms (plus the approval form)."""
    bundled = read_process_source(LIFECYCLE)
    forms = dict(bundled.forms)
    forms["approve_resolution.schema.json"] = json.loads(
        (FIXTURES / "forms" / "approve_resolution.schema.json").read_text(encoding="utf-8")
    )
    xml = path.read_text(encoding="utf-8")
    used = re.findall(r'name="formJsonSchemaFilename" value="([^"]+)"', xml)
    return ProcessSource(xml, bundled.dmn_xml, {name: forms[name] for name in used})


@dataclass(frozen=True)
class Versions:
    v1: ProcessDefinition
    v2: ProcessDefinition
    v3: ProcessDefinition
    at: dict[str, str]
    """Ticket number by the element it waits at."""


def new_ticket(desk: Services, clock: ManualClock, steps: int) -> str:
    command = ticket_command(SCENARIO, "ACME", "anna.kowalska")
    number: str = desk.intake.register(command, "jan.nowak").number
    ScenarioPlayer(desk, clock).play(SCENARIO, number, max_steps=steps)
    return number


@pytest.fixture
def versions(desk: Services, clock: ManualClock) -> Versions:
    """Four v1 tickets waiting at different places, then v2 and v3 deployed."""
    at = {}
    # The follow-up timer has to pass for the first one: the others start after it, so none
    # of their own timers is due yet.
    at["follow_up_check"] = new_ticket(desk, clock, 3)
    at["follow_up_timer"] = new_ticket(desk, clock, 2)
    at["confirm_resolution"] = new_ticket(desk, clock, 1)
    at["l1_triage"] = new_ticket(desk, clock, 0)
    [v1] = desk.processes.versions("ticket_lifecycle")
    v2 = desk.processes.deploy(fixture_source(V2), OWNER, "approval after triage").definition
    v3 = desk.processes.deploy(fixture_source(V3), OWNER, "no follow-up").definition
    assert (v1.version, v2.version, v3.version) == (1, 2, 3)
    return Versions(v1, v2, v3, at)


def open_tasks(desk: Services, number: str) -> list[HumanTask]:
    details = desk.tickets.details(number, ADMIN)
    return [task for task in details.tasks if task.status is TaskStatus.OPEN]


def complete(
    desk: Services, clock: ManualClock, number: str, element: str, data: dict[str, Any]
) -> Completion:
    clock.advance(timedelta(minutes=10))
    [task] = [task for task in open_tasks(desk, number) if task.element_id == element]
    actor = ScenarioPlayer(desk, clock).default_actor(
        task, desk.tickets.details(number, ADMIN).ticket
    )
    if task.assignee is None:
        desk.tasks.claim(task.id, actor)
    return desk.tasks.complete(task.id, data, actor)


def snapshot(desk: Services) -> dict[str, list[tuple[Any, ...]]]:
    with desk.database.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def migrated_events(desk: Services, number: str) -> list[dict[str, Any]]:
    timeline = desk.tickets.details(number, ADMIN).timeline
    return [event for event in timeline if event["kind"] == "instance_migrated"]


def test_dry_run_says_who_can_move_and_why_not_and_writes_nothing(
    desk: Services, versions: Versions
) -> None:
    at = versions.at
    before = snapshot(desk)
    plan = desk.migrations.plan(versions.v1.id, versions.v3.id, OWNER)
    assert snapshot(desk) == before

    assert (plan.key, plan.from_version, plan.to_version) == ("ticket_lifecycle", 1, 3)
    items = {item.ticket_number: item for item in plan.items}
    assert set(items) == set(at.values())
    triage, confirm = items[at["l1_triage"]], items[at["confirm_resolution"]]
    assert set(triage.waiting_elements) == {"l1_triage", "alert_resolved_at_source"}
    assert set(confirm.waiting_elements) == {"confirm_resolution", "auto_close_timer"}
    assert triage.migratable and confirm.migratable and triage.reason == confirm.reason == ""
    for element in ("follow_up_timer", "follow_up_check"):
        item = items[at[element]]
        assert item.waiting_elements == (element,)
        assert not item.migratable
        assert f"({element}), which the new version does not have" in item.reason
    assert {item.ticket_number for item in plan.blocked} == {
        at["follow_up_timer"],
        at["follow_up_check"],
    }

    # v2 only adds a task and renames one: everyone could move there.
    to_v2 = desk.migrations.plan(versions.v1.id, versions.v2.id, ADMIN)
    assert len(to_v2.migratable) == 4 and not to_v2.blocked
    assert snapshot(desk) == before


def test_migration_moves_who_can_and_every_ticket_still_finishes(
    desk: Services, clock: ManualClock, versions: Versions
) -> None:
    at = versions.at
    movers = {at["l1_triage"], at["confirm_resolution"]}
    stayers = {at["follow_up_timer"], at["follow_up_check"]}
    # A day later: a timer restarted by the move would fall due a day later than planned.
    clock.advance(timedelta(days=1))
    before = {number: desk.tickets.details(number, ADMIN) for number in at.values()}

    report = desk.migrations.migrate(versions.v1.id, versions.v3.id, OWNER)

    assert set(report.migrated) == movers
    assert {skipped.ticket_number for skipped in report.skipped} == stayers
    assert all("does not have" in skipped.reason for skipped in report.skipped)
    for number in movers:
        details, old = desk.tickets.details(number, ADMIN), before[number]
        assert details.process_version == 3 and details.instance is not None
        assert old.instance is not None
        assert details.instance.version == old.instance.version + 1
        assert details.instance.next_timer_at == old.instance.next_timer_at
        # The engine kept the task UUIDs: the same inbox rows, still claimed as before.
        assert [(t.id, t.assignee) for t in open_tasks(desk, number)] == [
            (t.id, t.assignee) for t in old.tasks if t.status is TaskStatus.OPEN
        ]
        [event] = migrated_events(desk, number)
        assert event["actor"] == OWNER and event["instance_id"] == details.instance.id
        assert event["payload"]["from_version"] == 1 and event["payload"]["to_version"] == 3
    [confirm] = open_tasks(desk, at["confirm_resolution"])
    assert confirm.name == "Confirm the fix works"  # refreshed from v3
    assert confirm.form_key == "confirm_resolution.schema.json"
    assert confirm.candidate_group == "requester"
    for number in stayers:
        details, old = desk.tickets.details(number, ADMIN), before[number]
        assert details.process_version == 1 and details.instance == old.instance
        assert not migrated_events(desk, number)

    # The moved ones go on along v3: the new approval after triage, and no follow-up.
    triage = at["l1_triage"]
    complete(desk, clock, triage, "l1_triage", RESOLVE)
    [approval] = open_tasks(desk, triage)
    assert (approval.element_id, approval.candidate_group) == ("approve_resolution", "L2")
    complete(desk, clock, triage, "approve_resolution", {"approved": True})
    complete(desk, clock, triage, "confirm_resolution", CONFIRM)
    complete(desk, clock, at["confirm_resolution"], "confirm_resolution", CONFIRM)
    for number in movers:
        details = desk.tickets.details(number, ADMIN)
        assert details.instance is not None and details.instance.status.value == "completed"
        assert details.ticket.status.value == "closed"
        path = desk.cockpit.ticket_path(number, ADMIN)
        assert path.version == 3 and "follow_up_timer" not in path.visited
    assert "approve_resolution" in desk.cockpit.ticket_path(triage, ADMIN).visited

    # The others finish on v1, follow-up included.
    due = desk.tickets.details(at["follow_up_timer"], ADMIN).instance
    assert due is not None and due.next_timer_at is not None
    clock.set(due.next_timer_at + timedelta(minutes=1))
    assert desk.timers.run_due().advanced == 1
    for number in stayers:
        complete(desk, clock, number, "follow_up_check", FOLLOW_UP)
        details = desk.tickets.details(number, ADMIN)
        assert details.process_version == 1 and details.instance is not None
        assert details.instance.status.value == "completed"


def test_only_the_chosen_tickets_move(
    desk: Services, clock: ManualClock, versions: Versions
) -> None:
    at = versions.at
    report = desk.migrations.migrate(
        versions.v1.id, versions.v2.id, ADMIN, ticket_numbers=[at["l1_triage"], "HD-1999-000001"]
    )
    assert report.migrated == (at["l1_triage"],)
    assert report.skipped == (SkippedTicket("HD-1999-000001", "not waiting on v1"),)
    assert desk.tickets.details(at["confirm_resolution"], ADMIN).process_version == 1
    # Moved once, it is no longer on v1: asking again skips it.
    again = desk.migrations.migrate(versions.v1.id, versions.v2.id, ADMIN, [at["l1_triage"]])
    assert again.migrated == () and again.skipped[0].reason == "not waiting on v1"


def test_a_ticket_that_moves_on_meanwhile_is_skipped_not_overwritten(
    desk: Services, clock: ManualClock, versions: Versions, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = versions.at["l1_triage"]
    moving = SpiffProcessEngine.migrate

    def engineer_is_faster(self: SpiffProcessEngine, *args: Any) -> Any:
        run = moving(self, *args)
        # Between the plan and the write, the engineer completes the triage.
        complete(desk, clock, number, "l1_triage", RESOLVE)
        return run

    monkeypatch.setattr(SpiffProcessEngine, "migrate", engineer_is_faster)
    report = desk.migrations.migrate(versions.v1.id, versions.v2.id, OWNER, [number])

    assert report.migrated == ()
    assert report.skipped == (SkippedTicket(number, CHANGED_MEANWHILE),)
    details = desk.tickets.details(number, ADMIN)
    assert details.process_version == 1 and not migrated_events(desk, number)
    # The engineer's step stands: on v1 there is no approval, the requester confirms next.
    assert [t.element_id for t in open_tasks(desk, number)] == ["confirm_resolution"]
    assert [t.name for t in open_tasks(desk, number)] == ["Confirm resolution"]


@pytest.mark.parametrize(
    "actor",
    ["jan.nowak", "ewa.kozlowska", "marek.jankowski", "robert.pawlak"],
    ids=["engineer", "lead", "manager", "client-coordinator"],
)
def test_only_process_owners_and_admins_move_tickets(
    desk: Services, versions: Versions, actor: str
) -> None:
    before = snapshot(desk)
    with pytest.raises(PermissionDenied):
        desk.migrations.plan(versions.v1.id, versions.v3.id, actor)
    with pytest.raises(PermissionDenied):
        desk.migrations.migrate(versions.v1.id, versions.v3.id, actor)
    assert snapshot(desk) == before


def test_the_command_line_dry_run_and_move(
    sqlite_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    desk, _ = build_desk(sqlite_url, clock)
    try:
        number = new_ticket(desk, clock, 0)
        desk.processes.deploy(fixture_source(V2), OWNER, "approval after triage")
    finally:
        desk.close()
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    runner = CliRunner()
    args = ["process", "migrate", "ticket_lifecycle", "1", "2", "--as", OWNER]

    dry = runner.invoke(app, [*args, "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert f"{number} (waiting at " in dry.output and "can move" in dry.output
    assert "1 of 1 unfinished ticket(s) can move (dry run" in dry.output

    moved = runner.invoke(app, [*args, "--ticket", number], catch_exceptions=False)
    assert moved.exit_code == 0, moved.output
    assert f"{number}: moved to v2" in moved.output and "1 moved, 0 skipped" in moved.output

    refused = runner.invoke(app, [*args[:-1], "jan.nowak"], catch_exceptions=False)
    assert refused.exit_code == 1 and "PermissionDenied" in refused.output
