"""A new process version applies to new tickets; running tickets finish on their own version."""

from __future__ import annotations

from itsm.bootstrap import Services
from itsm.process_files import read_process_source
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT
from tests.integration.conftest import register

RESOLVE = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "Cable",
    "outcome": "resolved",
    "resolution": "Replugged the cable",
    "time_spent_minutes": 5,
}


def open_tasks(desk: Services, number: str) -> list[tuple[str, str]]:
    details = desk.tickets.details(number, "lukasz.kwiatkowski")
    return [(t.element_id, t.name) for t in details.tasks if t.status.value == "open"]


def test_running_ticket_keeps_its_version(desk: Services) -> None:
    old = register(desk)
    source = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")
    v2 = ProcessSource(
        source.bpmn_xml.replace('name="Confirm resolution"', 'name="Confirm the fix works"'),
        source.dmn_xml,
        source.forms,
    )
    assert desk.processes.deploy(v2, "joanna.mazur", "clearer wording").definition.version == 2
    new = register(desk)
    assert desk.tickets.details(old, "anna.kowalska").process_version == 1
    assert desk.tickets.details(new, "anna.kowalska").process_version == 2

    for number in (old, new):
        [(element, _)] = open_tasks(desk, number)
        task = next(
            t
            for t in desk.tickets.details(number, "lukasz.kwiatkowski").tasks
            if t.element_id == element
        )
        desk.tasks.complete(task.id, RESOLVE, task.assignee or "")
    assert open_tasks(desk, old) == [("confirm_resolution", "Confirm resolution")]
    assert open_tasks(desk, new) == [("confirm_resolution", "Confirm the fix works")]
