"""The process designer in a real browser: change the lifecycle, see what is wrong, fix it,
see the deploy refused because the saved scenarios no longer hold, update them, deploy it,
and new tickets run the new version while open ones finish on theirs.

The module deploys a new version, which would change every later test's tickets, so it runs
on its own server (conftest ``own_server``: a copy of the session's demo database).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from itsm.bootstrap import build
from itsm.clock import ManualClock
from itsm.domain.process import InstanceStatus, TaskStatus
from itsm.modeling import diff_sources, semantic_summary
from itsm.scenarios import ScenarioPlayer, load_scenarios, ticket_command
from itsm.settings import PROJECT_ROOT
from tests.e2e import ui
from tests.e2e.conftest import _unavailable
from tests.e2e.modeler import (
    KEY,
    PROCESS_OWNER,
    add_user_task_with_the_palette,
    assert_all_local,
    bpmn_frame,
    open_designer,
    open_section,
    reset_draft,
    save_diagram,
    select,
)
from ui.components.modeler import DIST, assets_built

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import FrameLocator, Locator, Page

    from itsm.bootstrap import Services
    from tests.e2e.conftest import Server, Shots, Workbench

pytestmark = pytest.mark.e2e

NEW_TASK = "Check entitlement"
NEW_TASK_FORM = "provide_information.schema.json"
NEW_TASK_DATA = {"information": "Entitled: the client's hour package covers this device."}
"""Valid data for the new task's form (``NEW_TASK_FORM``)."""
SCENARIOS = load_scenarios(PROJECT_ROOT / "bpmn" / f"{KEY}.scenarios.json")

# The new task between "To 1st line" and the triage: the flow into the triage now ends at the
# new task, and a new flow leads on from it (what dragging the two connections would do).
CONNECT_JS = """
(body, id) => {
  const modeler = window.itsmModeler;
  const registry = modeler.get('elementRegistry');
  const modeling = modeler.get('modeling');
  const task = registry.get(id);
  modeling.reconnectEnd(
    registry.get('flow_gw_l1_merge_to_l1_triage'), task,
    { x: task.x, y: task.y + task.height / 2 });
  modeling.connect(task, registry.get('l1_triage'));
}
"""


@pytest.fixture
def bench(own_workbench: Workbench) -> Workbench:
    if not assets_built("bpmn"):
        _unavailable(f"the diagram editor is not built ({DIST} is missing): run `make ui-assets`")
    return own_workbench


@pytest.fixture
def clocked_desk(own_server: Server) -> Iterator[Services]:
    """The module server's services with a clock a scenario can move on."""
    from itsm.settings import Settings

    desk = build(
        Settings(
            database_url=f"sqlite:///{own_server.data_dir / 'e2e.db'}",
            attachments_dir=own_server.data_dir / "att",
        ),
        clock=ManualClock(datetime.now(UTC)),
    )
    yield desk
    desk.close()


def with_the_new_task_first(scenarios_json: str, task_id: str) -> str:
    """The scenario file with the new task completed (as the 1st line, with valid data for
    its form) before every visit of the triage: every way into the triage now leads through
    it."""
    raw = json.loads(scenarios_json)
    for scenario in raw["scenarios"]:
        steps = []
        for step in scenario["steps"]:
            if step.get("task") == "l1_triage":
                steps.append({"task": task_id, "actor": step["actor"], "data": NEW_TASK_DATA})
            steps.append(step)
        if len(steps) > len(scenario["steps"]):
            scenario["expect"]["visited"].append(task_id)
        scenario["steps"] = steps
    return json.dumps(raw, indent=2, ensure_ascii=False)


def through_the_triage(scenarios_json: str) -> list[str]:
    return [
        scenario["name"]
        for scenario in json.loads(scenarios_json)["scenarios"]
        if any(step.get("task") == "l1_triage" for step in scenario["steps"])
    ]


def scenario_listed(page: Page, name: str, result: str) -> Locator:
    """A scenario's line in the results: its badge (passed / failed), then its name."""
    pattern = re.compile(rf"^\s*{result}\s*{re.escape(name)}(:|\s|$)")
    return ui.main(page).locator("p").filter(has_text=pattern)


def problems_listed(frame: FrameLocator, element_id: str) -> None:
    expect(frame.locator(f'.itsm-lint-badge[data-element-id="{element_id}"]')).to_be_visible()


def test_saving_the_lifecycle_unchanged_changes_nothing(
    bench: Workbench, own_desk: Services, shot: Shots
) -> None:
    latest = reset_draft(own_desk)
    page, requested = open_designer(bench)
    frame = bpmn_frame(page)
    version = save_diagram(page, frame, own_desk)
    expect(ui.main(page).get_by_text("no problems found")).to_be_visible()
    shot(page, "saved-unchanged")

    draft = own_desk.designer.open(KEY, PROCESS_OWNER)
    assert (draft.version, draft.origin) == (version, "draft")
    # bpmn-js writes the file its own way (e.g. without the boundary events'
    # cancelActivity="true", the BPMN default): the same model all the same.
    assert draft.source.bpmn_xml != latest.bpmn_xml
    deployed = own_desk.processes.source(latest.id)
    assert semantic_summary(draft.source) == semantic_summary(deployed)
    assert diff_sources(deployed, draft.source).is_empty
    assert own_desk.designer.diff_draft(KEY, PROCESS_OWNER).is_empty
    assert_all_local(requested, bench.server)


def test_a_new_user_task_is_checked_fixed_deployed_and_run_by_new_tickets_only(
    bench: Workbench, own_desk: Services, clocked_desk: Services, shot: Shots
) -> None:
    latest = reset_draft(own_desk)
    rejected = SCENARIOS["authorisation_rejected"]
    old_ticket = own_desk.intake.register(
        ticket_command(rejected, "ACME", "anna.kowalska"), "anna.kowalska"
    ).number
    page, requested = open_designer(bench)
    frame = bpmn_frame(page)

    # A user task dropped into the 1st-line lane: no form, no flows in or out.
    task_id = add_user_task_with_the_palette(page, frame, NEW_TASK)
    save_diagram(page, frame, own_desk)
    listed = ui.main(page).locator("li").filter(has_text=NEW_TASK)
    expect(listed.filter(has_text="has no form")).to_have_count(1)
    expect(listed.filter(has_text="is not connected")).to_have_count(1)
    problems_listed(frame, task_id)
    shot(page, "problems-shown")

    # Fixed in the properties panel and connected; saved again, nothing left to fix.
    select(frame, task_id)
    frame.get_by_label("Candidate group").fill("L1")
    frame.get_by_label("Form (JSON schema file)").fill(NEW_TASK_FORM)
    frame.locator("body").evaluate(CONNECT_JS, task_id)
    save_diagram(page, frame, own_desk)
    expect(ui.main(page).get_by_text("The model check found no problems.")).to_be_visible()
    expect(frame.locator(f'.itsm-lint-badge[data-element-id="{task_id}"]')).to_have_count(0)
    shot(page, "fixed")

    # The first deploy plays the saved scenarios: every path through the triage now stops
    # at the new task, so they fail, and nothing is deployed.
    stored = own_desk.designer.open(KEY, PROCESS_OWNER).scenarios
    assert stored is not None, "the demo deploys the lifecycle with its scenario file"
    failing = through_the_triage(stored)
    assert failing and len(failing) < len(SCENARIOS)
    open_section(page, "Deploy")
    ui.fill(page, "Comment for this version", "Entitlement check before the 1st line")
    ui.click(page, "Deploy")
    refused = "Not deployed: the draft did not pass the checks. Nothing was changed."
    expect(ui.main(page).get_by_text(refused)).to_be_visible()
    expect(ui.main(page).get_by_text(f"{len(failing)} scenarios failed:")).to_be_visible()
    for name in failing:
        expect(scenario_listed(page, name, "failed")).to_have_count(1)
    expect(scenario_listed(page, "authorisation_rejected", "failed")).to_have_count(0)
    assert own_desk.designer.versions(KEY, PROCESS_OWNER)[-1].version == latest.version
    shot(page, "deploy-refused-scenarios-fail")

    # The process owner updates the scenarios: each path first completes the new task.
    open_section(page, "Scenarios")
    box = ui.main(page).get_by_role("textbox", name="Scenarios (JSON)")
    expect(box).to_have_value(stored)
    box.fill(with_the_new_task_first(stored, task_id))
    ui.click(page, "Save scenarios")
    saved = re.compile(r"^Scenarios saved \(draft version \d+\)")
    expect(ui.success(page).filter(has_text=saved)).to_be_visible()
    ui.wait_idle(page)
    assert own_desk.designer.open(KEY, PROCESS_OWNER).scenarios == with_the_new_task_first(
        stored, task_id
    )
    ui.click(page, "Run scenarios")
    passed = f"{len(SCENARIOS)} of {len(SCENARIOS)} scenarios passed."
    expect(ui.success(page).filter(has_text=passed)).to_be_visible()
    for name in failing:
        expect(scenario_listed(page, name, "passed")).to_have_count(1)
    shot(page, "scenarios-updated-and-passing")

    open_section(page, "Deploy")
    ui.fill(page, "Comment for this version", "Entitlement check before the 1st line")
    ui.click(page, "Deploy")
    version = latest.version + 1
    deployed = f"Deployed version {version} of {KEY}: new tickets run it."
    expect(ui.success(page).filter(has_text=deployed)).to_be_visible()
    assert own_desk.designer.versions(KEY, PROCESS_OWNER)[-1].scenarios_json == (
        with_the_new_task_first(stored, task_id)
    )
    shot(page, "deployed")

    # A ticket registered now waits at the new task of the new version ...
    new_ticket = own_desk.intake.register(
        ticket_command(SCENARIOS["l1_resolve"], "ACME", "anna.kowalska"), "anna.kowalska"
    ).number
    details = own_desk.tickets.details(new_ticket, PROCESS_OWNER)
    assert details.process_version == version
    assert [t.element_id for t in details.tasks if t.status is TaskStatus.OPEN] == [task_id]
    # ... while the one opened before finishes on the version it started with.
    playback = ScenarioPlayer(clocked_desk, clocked_desk.clock).play(rejected, old_ticket)
    assert playback.finished
    old = own_desk.tickets.details(old_ticket, PROCESS_OWNER)
    assert old.process_version == latest.version
    assert old.instance is not None and old.instance.status is InstanceStatus.COMPLETED

    # The new ticket's page shows its path on the new version, waiting at the new task.
    page.goto(f"/ticket?ticket={new_ticket}")
    ui.ticket_page(page, new_ticket)
    path = bpmn_frame(page)
    expect(path.locator(f'.djs-element.itsm-highlight[data-element-id="{task_id}"]')).to_have_count(
        1
    )
    shot(page, "new-ticket-path")
    assert_all_local(requested, bench.server)
