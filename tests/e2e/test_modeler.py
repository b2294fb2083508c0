"""The process editors (ui/components/modeler) in a real browser, on the designer page.

The tests save drafts and register tickets, so they run on the module's own server
(conftest ``own_server``: a copy of the session's demo database). They need the built
JavaScript (``make ui-assets``): without it they skip, and in CI they fail.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from lxml import etree
from playwright.sync_api import expect

from itsm.domain.commands import NewTicket
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT
from tests.e2e import ui
from tests.e2e.conftest import _unavailable
from tests.e2e.modeler import (
    DMN_FRAME,
    KEY,
    PROCESS_OWNER,
    SPIFF,
    add_user_task_with_the_palette,
    assert_all_local,
    bpmn_frame,
    extensions,
    open_designer,
    open_section,
    reset_draft,
    rules,
    save_diagram,
    select,
)
from ui.components.modeler import DIST, assets_built

if TYPE_CHECKING:
    from pathlib import Path

    from itsm.bootstrap import Services
    from tests.e2e.conftest import Shots, Workbench

pytestmark = pytest.mark.e2e

BPMN_FILE = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"
DMN_FILE = PROJECT_ROOT / "bpmn" / "priority_matrix.dmn"
NEW_TASK = "Approve budget"
NEW_CONDITION = "change_type not in ('none', '')"
NO_FORM = 'name="formJsonSchemaFilename" value="l2_resolve.schema.json"'


@pytest.fixture
def bench(own_workbench: Workbench) -> Workbench:
    """The module server's workbench, once the editors' JavaScript is known to be built."""
    if not (assets_built("bpmn") and assets_built("dmn")):
        _unavailable(
            f"the diagram editors are not built ({DIST} is missing): run `make ui-assets` "
            "(npm ci && npm run build in ui/components/modeler/frontend)"
        )
    return own_workbench


def replace_bpmn(source: ProcessSource, bpmn_xml: str) -> ProcessSource:
    return ProcessSource(bpmn_xml, source.dmn_xml, source.forms)


def saved_bpmn(desk: Services) -> etree._Element:
    """The draft's diagram as the designer stored it."""
    return etree.fromstring(desk.designer.open(KEY, PROCESS_OWNER).source.bpmn_xml.encode())


# --- the tests --------------------------------------------------------------------------------


def test_bpmn_modeler_adds_a_user_task_and_keeps_the_engine_extensions(
    bench: Workbench, own_desk: Services, shot: Shots
) -> None:
    reset_draft(own_desk)
    page, requested = open_designer(bench)
    frame = bpmn_frame(page)

    # The lifecycle renders, with the bpmn.io watermark its licence requires.
    watermark = frame.locator("a.bjs-powered-by")
    expect(watermark).to_be_visible()
    assert "bpmn.io" in (watermark.get_attribute("href") or "")
    shot(page, "modeler-opened")

    new_id = add_user_task_with_the_palette(page, frame, NEW_TASK)
    frame.get_by_label("Candidate group").fill("L2")
    frame.get_by_label("Form (JSON schema file)").fill("approve_change.schema.json")
    expect(frame.get_by_test_id("modeler-status")).to_have_text("Unsaved changes")
    shot(page, "user-task-added")

    # A gateway's condition and a timer's duration, in the same panel.
    select(frame, "flow_change_request_yes")
    frame.get_by_label("Condition (Python expression)").fill(NEW_CONDITION)
    select(frame, "auto_close_timer")
    frame.locator(".bio-properties-panel-group-header").filter(has_text="Timer").click()
    frame.locator("#bio-properties-panel-timerEventDefinitionValue").fill("'P10D'")
    shot(page, "condition-and-timer-edited")

    # Nothing goes to Python before Save.
    assert new_id not in own_desk.designer.open(KEY, PROCESS_OWNER).source.bpmn_xml
    save_diagram(page, frame, own_desk)
    saved = saved_bpmn(own_desk)
    shot(page, "saved")

    added = [task for task in saved.iter("{*}userTask") if task.get("name") == NEW_TASK]
    assert [task.get("id") for task in added] == [new_id]
    properties = {
        prop.get("name"): prop.get("value") for prop in added[0].iter(f"{{{SPIFF}}}property")
    }
    assert properties == {
        "candidate_group": "L2",
        "formJsonSchemaFilename": "approve_change.schema.json",
    }

    flow = saved.find(".//{*}sequenceFlow[@id='flow_change_request_yes']")
    assert flow is not None
    assert flow.findtext("{*}conditionExpression") == NEW_CONDITION
    timer = saved.find(".//{*}boundaryEvent[@id='auto_close_timer']")
    assert timer is not None
    assert timer.findtext("{*}timerEventDefinition/{*}timeDuration") == "'P10D'"

    # Round trip: every extension element of the original is still there, unchanged.
    original = etree.fromstring(BPMN_FILE.read_bytes())
    before, after = extensions(original), extensions(saved)
    assert before["l1_triage"] == after["l1_triage"]
    assert len(before["l1_triage"][0][3]) == 5  # the five spiffworkflow:property of l1_triage
    assert {key: value for key, value in after.items() if key != new_id} == before
    assert_all_local(requested, bench.server)


def test_problems_are_marked_on_the_diagram_and_the_cockpit_reports_clicks(
    bench: Workbench, own_desk: Services, shot: Shots
) -> None:
    latest = reset_draft(own_desk)
    draft = own_desk.designer.open(KEY, PROCESS_OWNER)
    broken = latest.bpmn_xml.replace(NO_FORM, 'name="unused" value=""')
    own_desk.designer.save(
        KEY, replace_bpmn(draft.source, broken), draft.scenarios, PROCESS_OWNER, draft.version
    )
    command = NewTicket.model_validate(
        {
            "client_code": "ACME",
            "requester": "anna.kowalska",
            "channel": "portal",
            "category": "software",
            "subject": "Cockpit test",
            "description": "Waits at the 1st line",
        }
    )
    number = own_desk.intake.register(command, "anna.kowalska").number
    figures = own_desk.cockpit.figures(KEY, PROCESS_OWNER, definition_id=latest.id)
    page, requested = open_designer(bench)

    # The problem: a red outline and a badge with the message, and the same in the list.
    frame = bpmn_frame(page)
    badge = frame.locator('.itsm-lint-badge[data-element-id="l2_resolve"]')
    expect(badge).to_have_attribute("title", re.compile("has no form"))
    expect(
        frame.locator('.djs-element.itsm-lint-error[data-element-id="l2_resolve"]')
    ).to_have_count(1)
    expect(ui.main(page).get_by_text("Resolve (2nd line)", exact=True)).to_be_visible()
    shot(page, "problem-marked")

    # Read-only: no palette, no Save; the waiting tickets and their average time per step.
    open_section(page, "Cockpit")
    frame = bpmn_frame(page)
    stats = frame.locator('.itsm-stats[data-element-id="l1_triage"]')
    expect(stats.locator(".itsm-stats-count")).to_have_text(str(figures["l1_triage"].open_count))
    expect(frame.locator(".djs-palette")).to_have_count(0)
    expect(frame.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(frame.locator("a.bjs-powered-by")).to_be_visible()
    shot(page, "cockpit")

    frame.locator('.djs-element[data-element-id="l1_triage"] .djs-hit').first.click()
    ui.wait_idle(page)
    waiting = ui.main(page).get_by_text("Tickets waiting at Triage and resolve (1st line)")
    expect(waiting).to_be_visible()
    ui.main(page).get_by_role("link", name=f"Open {number}").click()
    ui.ticket_page(page, number)

    # The ticket's own way: the steps it went through and the one it waits at, in blue.
    frame = bpmn_frame(page)
    for element in ("ticket_registered", "assign_l1_engineer", "l1_triage"):
        expect(
            frame.locator(f'.djs-element.itsm-highlight[data-element-id="{element}"]')
        ).to_have_count(1)
    expect(
        frame.locator('.djs-element.itsm-highlight[data-element-id="l2_resolve"]')
    ).to_have_count(0)
    shot(page, "ticket-path")
    assert_all_local(requested, bench.server)


def test_dmn_editor_saves_the_priority_matrix_with_the_same_rules(
    bench: Workbench, own_desk: Services, shot: Shots
) -> None:
    reset_draft(own_desk)
    page, requested = open_designer(bench)
    open_section(page, "DMN")
    ui.pick_radio(page, "Decision table file", DMN_FILE.name)
    ui.wait_idle(page)
    frame = page.frame_locator(DMN_FRAME)

    table = frame.locator(".tjs-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(
        len(rules(etree.fromstring(DMN_FILE.read_bytes())))
    )
    expect(frame.locator('a[href*="bpmn.io"]').first).to_be_visible()
    shot(page, "dmn-opened")

    before = own_desk.designer.open(KEY, PROCESS_OWNER).version
    frame.get_by_role("button", name="Save", exact=True).click()
    expect(ui.main(page).get_by_text(f"{DMN_FILE.name} saved into the draft")).to_be_visible()
    shot(page, "dmn-saved")

    draft = own_desk.designer.open(KEY, PROCESS_OWNER)
    assert draft.version == before + 1
    saved = etree.fromstring(draft.source.dmn_xml[DMN_FILE.name].encode())
    assert rules(saved) == rules(etree.fromstring(DMN_FILE.read_bytes()))
    assert_all_local(requested, bench.server)


def _editor_page() -> None:
    import streamlit as st

    from ui.components.modeler import bpmn_modeler, dmn_editor

    st.write(f"bpmn: {bpmn_modeler('<definitions/>', key='b')!r}")
    st.write(f"dmn: {dmn_editor('<definitions/>', key='d')!r}")


def test_without_the_built_editors_a_page_says_how_to_build_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No browser needed: the wrappers report the missing build instead of failing the page."""
    from streamlit.testing.v1 import AppTest

    import ui.components.modeler as modeler

    monkeypatch.setattr(modeler, "DIST", tmp_path / "dist")
    page = AppTest.from_function(_editor_page).run()
    assert not page.exception
    assert [error.value for error in page.error] == [modeler.BUILD_HINT] * 2
    assert [text.value for text in page.markdown] == ["bpmn: None", "dmn: None"]
