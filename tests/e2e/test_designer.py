"""The process designer in a real browser: change the lifecycle, see what is wrong, fix it,
deploy it, and new tickets run the new version while open ones finish on theirs.

The module deploys a new version, which would change every later test's tickets, so it runs
on its own server (conftest ``own_server``: a copy of the session's demo database).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from itsm.bootstrap import build
from itsm.clock import ManualClock
from itsm.domain.process import InstanceStatus, TaskStatus
from itsm.modeling.semantics import semantic_summary
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

    from playwright.sync_api import FrameLocator

    from itsm.bootstrap import Services
    from tests.e2e.conftest import Server, Shots, Workbench

pytestmark = pytest.mark.e2e

NEW_TASK = "Check entitlement"
NEW_TASK_FORM = "provide_information.schema.json"
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


# Attributes at their BPMN default, which bpmn-js leaves out when it writes the file (e.g.
# cancelActivity="true" on the lifecycle's boundary events): the same model either way.
# semantic_summary keeps them as written, so they are compared without them here.
BPMN_DEFAULTS = {
    "cancelActivity": "true",
    "isInterrupting": "true",
    "parallelMultiple": "false",
    "isForCompensation": "false",
    "instantiate": "false",
    "startQuantity": "1",
    "completionQuantity": "1",
    "gatewayDirection": "Unspecified",
}


def without_defaults(summary: dict[str, Any]) -> dict[str, Any]:
    elements = {}
    for element_id, record in summary["elements"].items():
        attributes = {
            name: value
            for name, value in record.get("attributes", {}).items()
            if BPMN_DEFAULTS.get(name) != value
        }
        elements[element_id] = {**record, "attributes": attributes}
    return {**summary, "elements": elements}


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
    assert draft.source.bpmn_xml != latest.bpmn_xml  # bpmn-js writes the file its own way
    before = semantic_summary(own_desk.processes.source(latest.id))
    assert without_defaults(semantic_summary(draft.source)) == without_defaults(before)
    # The designer's diff: at most those default attributes (see BPMN_DEFAULTS).
    lines = own_desk.designer.diff_draft(KEY, PROCESS_OWNER).lines()
    assert [line for line in lines if not line.endswith(": attributes")] == []
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

    open_section(page, "Deploy")
    ui.fill(page, "Comment for this version", "Entitlement check before the 1st line")
    ui.click(page, "Deploy")
    version = latest.version + 1
    deployed = f"Deployed version {version} of {KEY}: new tickets run it."
    expect(ui.success(page).filter(has_text=deployed)).to_be_visible()
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
