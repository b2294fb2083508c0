"""Every page through Streamlit's AppTest: menus by role, isolation, forms, conflicts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from itsm.bootstrap import Services
from itsm.domain.commands import NewTicket
from itsm.domain.errors import PermissionDenied
from itsm.domain.people import Role
from ui import session
from ui.navigation import MENUS

AppFor = Callable[..., AppTest]

EXPECTED_MENUS = {
    Role.REQUESTER: ["Report a problem", "My tickets"],
    Role.COORDINATOR: ["Report a problem", "My tickets", "Approvals", "Reports"],
    Role.L1: ["Inbox", "Phone intake", "Notifications"],
    Role.L2: ["Inbox", "Phone intake", "Notifications"],
    Role.L3: ["Inbox", "Phone intake", "Notifications"],
    Role.SERVICE_DESK_LEAD: [
        "Inbox",
        "Phone intake",
        "Quarantine",
        "Dashboard",
        "Incidents",
        "Notifications",
    ],
    Role.ADMIN: [
        "Inbox",
        "Phone intake",
        "Quarantine",
        "Dashboard",
        "Incidents",
        "Process designer",
        "Notifications",
    ],
    Role.FIELD_TECHNICIAN: ["Field visits", "Notifications"],
    Role.MANAGER: ["Dashboard", "Tickets", "Notifications"],
    Role.PROCESS_OWNER: ["Tickets", "Process designer", "Notifications"],
}
LANDING = {
    "anna.kowalska": "Report a problem",
    "robert.pawlak": "Report a problem",
    "jan.nowak": "Inbox",
    "tomasz.lewandowski": "Inbox",
    "michal.szymanski": "Inbox",
    "ewa.kozlowska": "Inbox",
    "lukasz.kwiatkowski": "Inbox",
    "krzysztof.wozniak": "Field visits",
    "marek.jankowski": "Dashboard",
    "joanna.mazur": "Tickets",
}


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def new_ticket(
    desk: Services, requester: str = "anna.kowalska", client: str = "ACME", **extra: str
) -> str:
    command = NewTicket.model_validate(
        {
            "client_code": client,
            "requester": requester,
            "channel": "portal",
            "category": "software",
            "subject": "Excel crashes",
            "description": "On save",
            **extra,
        }
    )
    return desk.intake.register(command, requester).number


def first_task(desk: Services, number: str) -> tuple[str, str]:
    details = desk.tickets.details(number, "lukasz.kwiatkowski")
    task = next(t for t in details.tasks if t.status.value == "open")
    return task.id, task.assignee or ""


@pytest.mark.parametrize("role", list(Role))
def test_menu_follows_the_role(role: Role) -> None:
    assert [entry.title for entry in MENUS[role]] == EXPECTED_MENUS[role]


@pytest.mark.parametrize(("username", "title"), sorted(LANDING.items()))
def test_each_role_lands_on_its_page(app_as: AppFor, username: str, title: str) -> None:
    at = app_as(username)
    assert not at.exception
    assert titles(at) == [title]


def test_login_page_refuses_a_wrong_password_and_accepts_the_right_one(app_as: AppFor) -> None:
    at = app_as(None)
    assert titles(at) == ["itsm-orchestrator"]
    at.text_input[0].input("jan.nowak")
    at.text_input[1].input("wrong password!")
    at.button[0].click().run()
    assert "Wrong username or password." in [e.value for e in at.error]
    at.session_state["itsm_redeem_in_session"] = True
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert titles(at) == ["Inbox"]


def test_requester_reports_a_ticket_and_learns_the_engineer(
    app_as: AppFor, ui_desk: Services
) -> None:
    at = app_as("anna.kowalska")
    at.text_input[0].input("Printer prints blank pages")
    at.text_area[0].input("Since the toner change")
    at.button[0].click().run()
    [message] = [s.value for s in at.success]
    assert "registered and assigned to" in message
    number = message.split()[1]
    assert ui_desk.tickets.details(number, "anna.kowalska").ticket.subject == (
        "Printer prints blank pages"
    )


def test_requester_cannot_open_another_clients_ticket(app_as: AppFor, ui_desk: Services) -> None:
    other = new_ticket(ui_desk, requester="andrzej.majewski", client="BALT")
    at = app_as("anna.kowalska", "views/ticket.py", ticket=other)
    assert "not visible to you" in at.error[0].value
    assert not any(other in m.value for m in at.markdown)


def test_inbox_lists_the_engineers_task(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk)
    _, engineer = first_task(ui_desk, number)
    at = app_as(engineer)
    assert any(number in m.value for m in at.markdown)
    assert any(b.label == "Open" for b in at.button)


def test_task_form_shows_errors_beside_fields_and_saves_nothing(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    at = app_as(engineer, "views/task.py", task=task_id)
    assert titles(at) == ["Triage and resolve (1st line)"]
    at.radio(key=f"task.{task_id}.outcome").set_value("resolved")
    at.button(key=f"FormSubmitter:task.{task_id}-Submit").click().run()
    errors = [e.value for e in at.error]
    assert "this field is required" in errors  # diagnosis, time spent, resolution
    assert ui_desk.tickets.details(number, engineer).ticket.status.value == "in_progress"


def test_task_form_completes_and_moves_the_ticket_on(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    at = app_as(engineer, "views/task.py", task=task_id)
    at.radio(key=f"task.{task_id}.outcome").set_value("resolved")
    at.text_area(key=f"task.{task_id}.diagnosis").input("Corrupted template")
    at.text_area(key=f"task.{task_id}.resolution").input("Reset Normal.dotm")
    at.number_input(key=f"task.{task_id}.time_spent_minutes").set_value(15)
    at.button(key=f"FormSubmitter:task.{task_id}-Submit").click().run()
    assert any("Task completed" in s.value for s in at.success), [e.value for e in at.error]
    assert ui_desk.tickets.details(number, engineer).ticket.status.value == "resolved"
    # The way back is a link: a button would vanish on the rerun its own click causes.
    [link] = at.get("page_link")
    assert "ticket" in link.proto.page and link.proto.label == "Back to the ticket"


def test_conflict_is_explained_not_a_traceback(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    at = app_as(engineer, "views/task.py", task=task_id)
    data = {
        "remote_desktop_consent": False,
        "remote_session_used": False,
        "diagnosis": "Corrupted template",
        "outcome": "resolved",
        "resolution": "Reset Normal.dotm",
        "time_spent_minutes": 5,
    }
    ui_desk.tasks.complete(task_id, data, engineer)  # someone else, a moment earlier
    at.radio(key=f"task.{task_id}.outcome").set_value("resolved")
    at.text_area(key=f"task.{task_id}.diagnosis").input("Other idea")
    at.text_area(key=f"task.{task_id}.resolution").input("Other fix")
    at.number_input(key=f"task.{task_id}.time_spent_minutes").set_value(5)
    at.button(key=f"FormSubmitter:task.{task_id}-Submit").click().run()
    assert not at.exception
    assert any("Someone else changed this first" in e.value for e in at.error)


def test_coordinator_sees_change_requests_waiting_for_approval(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk, change_type="permission_change")
    at = app_as("robert.pawlak", "views/approvals.py")
    assert any(number in m.value for m in at.markdown)
    outsider = app_as("dorota.nowakowska", "views/approvals.py")  # BALT's coordinator
    assert not any(number in m.value for m in outsider.markdown)


def test_phone_intake_registers_for_the_caller(app_as: AppFor, ui_desk: Services) -> None:
    at = app_as("jan.nowak", "views/phone_intake.py")
    at.text_input[0].input("Cannot print to plotter")
    at.button[0].click().run()
    [message] = [s.value for s in at.success]
    number = message.split()[1]
    assert ui_desk.tickets.details(number, "jan.nowak").ticket.channel.value == "phone"


def test_field_technician_sees_visits_with_address(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk, category="hardware")
    task_id, engineer = first_task(ui_desk, number)
    ui_desk.tasks.complete(
        task_id,
        {
            "remote_desktop_consent": False,
            "remote_session_used": False,
            "diagnosis": "Switch dead",
            "outcome": "field_visit",
            "visit_reason": "Replace PSU",
            "time_spent_minutes": 10,
        },
        engineer,
    )
    at = app_as("krzysztof.wozniak")
    text = " ".join(m.value for m in at.markdown)
    assert number in text and "ul." in text  # the site address from the demo seed


def test_ticket_page_comments_hide_internal_notes_from_the_client(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk)
    ui_desk.collaboration.comment(number, "Called the user back", "jan.nowak")
    ui_desk.collaboration.comment(number, "Suspect user error", "jan.nowak", internal=True)
    staff = app_as("jan.nowak", "views/ticket.py", ticket=number)
    client = app_as("anna.kowalska", "views/ticket.py", ticket=number)
    staff_text = " ".join(t.value for t in staff.text)
    client_text = " ".join(t.value for t in client.text)
    assert "Suspect user error" in staff_text and "Called the user back" in staff_text
    assert "Suspect user error" not in client_text and "Called the user back" in client_text


def test_my_tickets_shows_status_engineer_and_what_waits_for_me(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    ui_desk.tasks.complete(
        task_id,
        {
            "remote_desktop_consent": False,
            "remote_session_used": False,
            "diagnosis": "Macro",
            "outcome": "resolved",
            "resolution": "Disabled the macro",
            "time_spent_minutes": 5,
        },
        engineer,
    )
    at = app_as("anna.kowalska", "views/my_tickets.py")
    text = " ".join(m.value for m in at.markdown)
    engineer_name = ui_desk.tickets.details(number, engineer).assignee.full_name  # type: ignore[union-attr]
    assert "Confirm resolution" in text and engineer_name in text and "resolved" in text
    colleague = app_as("marcin.wieczorek", "views/my_tickets.py")  # same client, not his
    assert number not in " ".join(m.value for m in colleague.markdown)


def test_ticket_list_for_managers(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk)
    at = app_as("marek.jankowski", "views/ticket_list.py")
    assert titles(at) == ["Tickets"]
    assert any(number in m.value for m in at.markdown)


def test_engineer_releases_and_lead_reassigns(app_as: AppFor, ui_desk: Services) -> None:
    number = new_ticket(ui_desk)
    task_id, engineer = first_task(ui_desk, number)
    at = app_as(engineer, "views/task.py", task=task_id)
    next(b for b in at.button if b.label == "Release").click().run()
    assert ui_desk.tasks.task(task_id, engineer).assignee is None
    lead = app_as("ewa.kozlowska", "views/task.py", task=task_id)
    lead.selectbox[0].set_value("piotr.wojcik")
    lead.button(key="reassign.confirm").click().run()
    assert ui_desk.tasks.task(task_id, "ewa.kozlowska").assignee == "piotr.wojcik"


def test_lead_reviews_quarantined_mail_and_gets_the_original(
    app_as: AppFor, ui_desk: Services
) -> None:
    raw = (
        b"From: Stranger <nobody@unknown.example>\r\nTo: desk@nordserv.example\r\n"
        b"Subject: <b>help</b>\r\nMessage-ID: <q1@unknown.example>\r\n\r\nPlease call me\r\n"
    )
    app_services = session.services()  # the app's own blob store keeps the original
    assert app_services.email.receive(raw, received_via="test").outcome == "quarantined"
    at = app_as("ewa.kozlowska", "views/quarantine.py")
    assert titles(at) == ["Quarantine"]
    assert "<b>help</b>" in [t.value for t in at.text]  # shown as text, not markup
    assert any("nobody@unknown.example" in m.value for m in at.markdown)
    quarantined = app_services.quarantine.messages("ewa.kozlowska")
    original = app_services.quarantine.raw(quarantined[0]["id"], "ewa.kozlowska")
    assert original.data == raw
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as("jan.nowak", "views/quarantine.py")  # not in an engineer's menu at all
    with pytest.raises(PermissionDenied):
        app_services.quarantine.messages("jan.nowak")  # and the service refuses too


def test_login_page_says_when_a_username_is_throttled(app_as: AppFor) -> None:
    at = app_as(None)
    at.text_input[0].input("jan.nowak")
    for _ in range(5):
        at.text_input[1].input("wrong password!")
        at.button[0].click().run()
    at.session_state["itsm_redeem_in_session"] = True
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert titles(at) == ["itsm-orchestrator"]  # not logged in, even with the right one
    [error] = [e.value for e in at.error]
    assert error.startswith("Not logged in: too many wrong passwords for this username")
