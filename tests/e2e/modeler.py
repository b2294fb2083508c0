"""How the browser tests work the process designer's editors (bpmn-js and dmn-js in iframes).

The palette, the context pad and the properties panel are driven as a person would; where a
pointer gesture would be fragile (dragging a flow onto a shape), the tests use the modeler's
own API (``window.itsmModeler``, the bpmn-js instance of the frame), which runs the same
commands with undo and the same rules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lxml import etree
from playwright.sync_api import expect

from itsm.domain.process import ProcessDefinition
from itsm.services.ports import ProcessSource
from tests.e2e import ui

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page

    from itsm.bootstrap import Services
    from tests.e2e.conftest import Server, Workbench

PROCESS_OWNER = "joanna.mazur"
KEY = "ticket_lifecycle"
# Visible ones only: after a tab switch, the last tab's editor may linger, hidden, a moment.
BPMN_FRAME = 'iframe[title="ui.components.modeler.itsm_bpmn_editor"]:visible'
DMN_FRAME = 'iframe[title="ui.components.modeler.itsm_dmn_editor"]:visible'
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

SELECT_JS = """
(body, id) => {
  const modeler = window.itsmModeler;
  const element = modeler.get('elementRegistry').get(id);
  modeler.get('canvas').scrollToElement(element);
  modeler.get('selection').select(element);
}
"""

ELEMENT_NAMED_JS = """
(body, name) => {
  const found = window.itsmModeler.get('elementRegistry')
    .filter((e) => e.businessObject && e.businessObject.name === name && !e.labelTarget);
  return found.length === 1 ? found[0].id : null;
}
"""

# Where on the canvas a new task fits: in l1_triage's lane, clear of shapes, flows, the
# palette and the edges, inside what the modeler shows. Returns page-independent frame
# coordinates (the iframe's own viewport).
FREE_SPOT_JS = """
() => {
  const modeler = window.itsmModeler;
  const registry = modeler.get('elementRegistry');
  const canvas = modeler.get('canvas');
  canvas.scrollToElement(registry.get('l1_triage'));
  const view = canvas.viewbox();
  const frame = canvas.getContainer().getBoundingClientRect();
  const palette = canvas.getContainer().querySelector('.djs-palette').getBoundingClientRect();
  const lane = registry.filter((e) => e.type === 'bpmn:Lane'
    && (e.businessObject.flowNodeRef || []).some((node) => node.id === 'l1_triage'))[0];
  const ignored = ['bpmn:Lane', 'bpmn:Participant', 'bpmn:Process', 'bpmn:Collaboration', 'label'];
  const shapes = registry.filter((e) => !e.waypoints && e.parent && !ignored.includes(e.type));
  const flows = registry.filter((e) => e.waypoints);
  const overlaps = (a, b) => a.x < b.x + b.width && a.x + a.width > b.x
    && a.y < b.y + b.height && a.y + a.height > b.y;
  const free = (x, y) => {
    const box = { x: x - 75, y: y - 60, width: 150, height: 120 };
    return !shapes.some((s) => overlaps(s, box)) && !flows.some((f) => f.waypoints.some(
      (p) => overlaps({ x: p.x, y: p.y, width: 1, height: 1 }, box)));
  };
  for (let y = lane.y + 60; y < lane.y + lane.height - 55; y += 10) {
    for (let x = lane.x + 60; x < lane.x + lane.width - 80; x += 20) {
      const cx = frame.left + (x - view.x) * view.scale;
      const cy = frame.top + (y - view.y) * view.scale;
      const inside = cx > palette.right + 90 && cx < frame.right - 90
        && cy > frame.top + 70 && cy < frame.bottom - 70;
      if (inside && free(x, y)) {
        return { x: cx, y: cy };
      }
    }
  }
  return null;
}
"""


def reset_draft(desk: Services) -> ProcessDefinition:
    """Make the draft the latest deployed version again (other tests saved theirs); the
    latest version."""
    latest = desk.designer.versions(KEY, PROCESS_OWNER)[-1]
    draft = desk.designer.open(KEY, PROCESS_OWNER)
    if draft.origin == "draft":
        source = ProcessSource(latest.bpmn_xml, latest.dmn_xml, latest.forms)
        desk.designer.save(KEY, source, latest.scenarios_json, PROCESS_OWNER, draft.version)
    return latest


def open_designer(bench: Workbench) -> tuple[Page, list[str]]:
    """The process owner on the designer page; the list collects every URL the page requests."""
    page = bench.login(PROCESS_OWNER)
    requested: list[str] = []
    page.context.on("request", lambda request: requested.append(request.url))
    ui.go_to(page, "Process designer")
    return page, requested


def open_section(page: Page, name: str) -> None:
    ui.main(page).get_by_role("tab", name=name, exact=True).click()
    expect(ui.main(page).get_by_role("tab", name=name, exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    ui.wait_idle(page)


def bpmn_frame(page: Page) -> FrameLocator:
    frame = page.frame_locator(BPMN_FRAME)
    expect(frame.locator('svg [data-element-id="l1_triage"]').first).to_be_visible()
    return frame


def save_diagram(page: Page, frame: FrameLocator, desk: Services) -> int:
    """The editor's Save; waits for the page to report the stored draft; its version."""
    version = desk.designer.open(KEY, PROCESS_OWNER).version + 1
    frame.get_by_role("button", name="Save", exact=True).click()
    saved = re.compile(rf"^Draft saved \(draft version {version}\)")
    expect(ui.main(page).get_by_text(saved)).to_be_visible()
    ui.wait_idle(page)
    return version


def assert_all_local(requested: list[str], server: Server) -> None:
    outside = [
        url
        for url in requested
        if not url.startswith((server.base_url, "data:", "blob:", "about:"))
    ]
    assert not outside, f"the editors fetched from outside this server: {outside}"


def select(frame: FrameLocator, element_id: str) -> None:
    """Select an element by script (scrolling to it first), as a click on it would."""
    frame.locator("body").evaluate(SELECT_JS, element_id)
    expect(frame.locator(f'.djs-element.selected[data-element-id="{element_id}"]')).to_have_count(1)


def element_named(frame: FrameLocator, name: str) -> str:
    found: str | None = frame.locator("body").evaluate(ELEMENT_NAMED_JS, name)
    assert found, f"no single element named {name!r} in the diagram"
    return found


def add_user_task_with_the_palette(page: Page, frame: FrameLocator, name: str) -> str:
    """Palette "Create task", a click on free canvas, type the name, change it to a user
    task; the new task's id."""
    spot = frame.locator("body").evaluate(FREE_SPOT_JS)
    assert spot, "no free place for a new task in the 1st-line lane"
    iframe_box = page.locator(BPMN_FRAME).bounding_box()
    assert iframe_box is not None
    frame.locator('.djs-palette [data-action="create.task"]').click()
    x, y = iframe_box["x"] + spot["x"], iframe_box["y"] + spot["y"]
    page.mouse.move(x - 10, y - 10)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    # A new task opens its label for typing; Enter finishes it.
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    task = frame.locator(".djs-element.djs-shape.selected")
    expect(task).to_contain_text(name)
    frame.locator('.djs-context-pad [data-action="replace"]').click()
    frame.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    expect(frame.locator(".bio-properties-panel-header-type")).to_have_text(
        re.compile("user task", re.IGNORECASE)
    )
    return element_named(frame, name)


def extensions(root: etree._Element) -> dict[str, Any]:
    """Every element's spiffworkflow extension elements, as comparable nested tuples."""

    def tree(node: etree._Element) -> tuple[Any, ...]:
        return (
            etree.QName(node).localname,
            tuple(sorted(node.attrib.items())),
            (node.text or "").strip(),
            tuple(tree(child) for child in node),
        )

    found: dict[str, Any] = {}
    for holder in root.iter("{*}extensionElements"):
        owner = holder.getparent()
        assert owner is not None
        found[owner.get("id", "")] = tuple(
            tree(child) for child in holder if etree.QName(child).namespace == SPIFF
        )
    return found


def rules(root: etree._Element) -> list[tuple[str, list[str]]]:
    return [
        (
            rule.get("id", ""),
            [(entry.findtext("{*}text") or "").strip() for entry in rule if len(entry)],
        )
        for rule in root.iter("{*}rule")
    ]
