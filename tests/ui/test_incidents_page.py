"""The incidents page, the ticket page's warning and the dashboard's count, through AppTest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.domain.process import InstanceStatus
from itsm.services.service_tasks import TaskContext
from itsm.settings import PROJECT_ROOT, Settings
from tasks import service_functions
from tests.ui.test_pages import first_task, new_ticket

AppFor = Callable[..., AppTest]
LEAD = "ewa.kozlowska"
ADMIN = "lukasz.kwiatkowski"
L1_RESOLVED = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "Printer driver",
    "outcome": "resolved",
    "resolution": "Driver reinstalled",
    "time_spent_minutes": 10,
}
ERROR = "mail relay refused <b>the</b> connection"  # shown as text, never as markup


def refusing_relay(ctx: TaskContext, **params: Any) -> dict[str, Any]:
    raise RuntimeError(ERROR)


@pytest.fixture
def failing_desk(
    ui_desk: Services, sqlite_url: str, clock: ManualClock, tmp_path: Path
) -> Iterator[Services]:
    """The same database, with a notification service that is down and no retries: a
    completion here leaves an incident for the app (whose services work) to show."""
    desk = build(
        Settings(
            database_url=sqlite_url,
            attachments_dir=tmp_path / "failing-attachments",
            service_task_retries=0,
        ),
        clock=clock,
        functions={**service_functions(), "notify": refusing_relay},
    )
    yield desk
    desk.close()


def incident_ticket(ui_desk: Services, failing_desk: Services) -> tuple[str, int]:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    failing_desk.tasks.complete(task_id, L1_RESOLVED, engineer)
    [incident] = ui_desk.incidents.open_incidents(LEAD)
    assert incident.ticket_number == number and incident.status is InstanceStatus.INCIDENT
    return number, incident.instance_id


def test_lead_sees_the_incident_and_skips_it_with_a_note(
    app_as: AppFor, ui_desk: Services, failing_desk: Services
) -> None:
    number, instance_id = incident_ticket(ui_desk, failing_desk)
    at = app_as(LEAD, "views/incidents.py")
    assert not at.exception
    assert [t.value for t in at.title] == ["Incidents"]
    [row] = [m.value for m in at.markdown if number in m.value]
    assert "incident" in row and "`notify_resolved`" in row and "1 failed attempt" in row
    assert [c.value for c in at.code] == [f"RuntimeError: {ERROR}"]

    at.button(key=f"incident.skip.{instance_id}").click().run()
    assert any("say why" in e.value for e in at.error)
    assert ui_desk.incidents.open_incidents(LEAD) != []
    at.text_input(key=f"incident.note.{instance_id}").input("Requester told by phone")
    at.button(key=f"incident.skip.{instance_id}").click().run()
    assert not at.exception
    [done] = [s.value for s in at.success]
    assert done == (
        f"{number}: the step was skipped; the process now waits for: Confirm resolution."
    )
    assert "No incidents: every process is running." in [i.value for i in at.info]
    details = ui_desk.tickets.details(number, LEAD)
    [skipped] = [e for e in details.timeline if e["kind"] == "incident_skipped"]
    assert skipped["actor"] == LEAD and skipped["payload"]["note"] == "Requester told by phone"


def test_admin_retries_the_incident_once_the_service_works(
    app_as: AppFor, ui_desk: Services, failing_desk: Services
) -> None:
    number, instance_id = incident_ticket(ui_desk, failing_desk)
    at = app_as(ADMIN, "views/incidents.py")
    at.button(key=f"incident.retry.{instance_id}").click().run()  # the app's relay works
    assert not at.exception
    [done] = [s.value for s in at.success]
    assert done.startswith(f"{number}: the step ran again;")
    assert ui_desk.tickets.details(number, LEAD).ticket.status.value == "resolved"


def test_ticket_page_warns_staff_and_the_dashboard_counts_it(
    app_as: AppFor, ui_desk: Services, failing_desk: Services
) -> None:
    number, _ = incident_ticket(ui_desk, failing_desk)
    staff = app_as("jan.nowak", "views/ticket.py", ticket=number)
    assert not staff.exception
    [warning] = [w.value for w in staff.warning if w.value.startswith("Incident:")]
    assert "`notify_resolved`" in warning and "Incidents page" in warning
    assert f"RuntimeError: {ERROR}" in [c.value for c in staff.code]
    requester = app_as("anna.kowalska", "views/ticket.py", ticket=number)
    assert not requester.exception
    assert not [w for w in requester.warning if "Incident" in w.value]
    assert not [c for c in requester.code if ERROR in c.value]  # the desk's business only
    dashboard = app_as(LEAD, "views/dashboard.py")
    assert not dashboard.exception
    [count] = [m.value for m in dashboard.metric if m.label == "Open incidents"]
    assert count == "1"


def test_first_line_gets_no_incidents_page(
    app_as: AppFor, ui_desk: Services, failing_desk: Services
) -> None:
    number, _ = incident_ticket(ui_desk, failing_desk)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as("jan.nowak", "views/incidents.py")  # not in the menu
    with ui_desk.unit_of_work(read_only=True) as uow:
        person = uow.directory.person_by_username("jan.nowak")
    at = AppTest.from_file(str(PROJECT_ROOT / "ui" / "views" / "incidents.py"))
    at.session_state["person"] = person  # as if reached by URL
    at.run(timeout=30)
    assert not at.exception
    assert "not visible to you" in at.error[0].value
    assert not any(number in m.value for m in at.markdown) and not at.button
