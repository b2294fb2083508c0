"""The workbench end to end in a real browser: the paths people take every day.

Each test creates its own ticket on the shared demo server, so the tests do not depend on
each other or on the order they run in.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from itsm.settings import PROJECT_ROOT
from tests.e2e import ui

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.conftest import Shots, Workbench

pytestmark = pytest.mark.e2e

REQUESTER = "anna.kowalska"  # ACME, not authorised to order changes
UNAUTHORISED_REQUESTER = "marcin.wieczorek"  # ACME, not authorised either
COORDINATOR = "robert.pawlak"  # ACME's IT coordinator
L2_ENGINEER = "tomasz.lewandowski"
ASSIGNED = re.compile(r"Ticket (HD-\d{4}-\d{6}) registered and assigned to (.+?)\.?$")


def usernames_by_full_name() -> dict[str, str]:
    demo = tomllib.loads((PROJECT_ROOT / "config" / "demo.toml").read_text(encoding="utf-8"))
    people = list(demo["provider"]["staff"])
    for client in demo["clients"]:
        people += client.get("people", [])
    return {person["full_name"]: person["username"] for person in people}


def report_problem(
    page: Page,
    shot: Shots,
    subject: str,
    *,
    category: str = "hardware",
    urgency: str = "medium",
    change: str | None = None,
) -> tuple[str, str]:
    """Submit the portal form; return the ticket number and whom it was assigned to."""
    ui.go_to(page, "Report a problem")
    ui.fill(page, "Subject", subject)
    ui.fill(page, "Description", f"{subject}. Reported by the browser test.")
    ui.choose(page, "Category", category)
    ui.pick_radio(page, "Urgency", urgency)
    if change is not None:
        ui.choose(page, "Is this a change request?", change)
    shot(page, "report-filled")
    ui.click(page, "Submit ticket")
    message = ui.success(page)
    expect(message).to_contain_text(ui.TICKET_NUMBER)
    ui.wait_idle(page)
    shot(page, "report-submitted")
    found = ASSIGNED.search(message.inner_text().strip())
    assert found, f"unexpected success message: {message.inner_text()!r}"
    return found.group(1), found.group(2)


def submit_task(page: Page, shot: Shots, name: str) -> None:
    shot(page, f"{name}-filled")
    ui.click(page, "Submit")
    expect(ui.success(page)).to_contain_text("Task completed")
    ui.wait_idle(page)
    shot(page, f"{name}-completed")


def open_ticket_after_task(page: Page, shot: Shots, number: str) -> None:
    """The "Back to the ticket" button under "Task completed" leads to the ticket page."""
    back = ui.main(page).get_by_role("link", name="Back to the ticket")
    back.or_(ui.main(page).get_by_role("button", name="Back to the ticket")).click()
    try:
        expect(ui.ticket_page(page, number)).to_be_visible()
    except AssertionError:
        shot(page, "back-to-the-ticket-clicked")
        title = ui.main(page).get_by_role("heading", level=1).all_inner_texts()
        pytest.fail(f"'Back to the ticket' did not open ticket {number}; the page shows {title}")
    ui.wait_idle(page)


def test_incident_escalated_resolved_and_confirmed(workbench: Workbench, shot: Shots) -> None:
    subject = f"Label printer offline {uuid.uuid4().hex[:6]}"

    # The requester reports the problem in the portal; the 1st line is chosen automatically.
    anna = workbench.login(REQUESTER)
    number, engineer_name = report_problem(anna, shot, subject, urgency="high")
    engineer = usernames_by_full_name().get(engineer_name)
    assert engineer, f"{engineer_name!r} is not a demo user"

    # Her 1st-line engineer finds it in the inbox and escalates it to the 2nd line.
    l1 = workbench.login(engineer)
    expect(ui.main(l1).get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    l1_row = ui.row(l1, number)
    expect(l1_row).to_be_visible()
    shot(l1, "l1-inbox")
    ui.click(l1, "Open", within=l1_row)
    expect(ui.main(l1).get_by_role("radiogroup", name=re.compile("^Outcome"))).to_be_visible()
    ui.fill(l1, "Diagnosis", "Printer unreachable on the network; driver reinstalled, no change.")
    ui.pick_radio(l1, "Outcome", "escalate l2")
    ui.fill_number(l1, "Time spent (minutes)", 15)
    submit_task(l1, shot, "l1-escalate")

    # The 2nd line takes it from the L2 queue, claims it and resolves it.
    l2 = workbench.login(L2_ENGINEER)
    ui.pick_radio(l2, "Queue", "L2")
    l2_row = ui.row(l2, number)
    expect(l2_row).to_be_visible()
    shot(l2, "l2-queue")
    ui.click(l2, "Claim", within=l2_row)
    expect(l2_row).to_contain_text(L2_ENGINEER)
    expect(l2_row.get_by_role("button", name="Claim", exact=True)).to_have_count(0)
    shot(l2, "l2-claimed")
    ui.click(l2, "Open", within=l2_row)
    expect(ui.main(l2).get_by_role("radiogroup", name=re.compile("^Outcome"))).to_be_visible()
    ui.pick_radio(l2, "Outcome", "resolved")
    ui.fill(l2, "Resolution", "Replaced the printer's network module and re-added the queue.")
    ui.fill_number(l2, "Time spent (minutes)", 30)
    submit_task(l2, shot, "l2-resolve")

    # The requester confirms the resolution; the ticket closes.
    ui.go_to(anna, "My tickets")
    waiting = ui.row(anna, number).filter(has_text="Confirm resolution")
    expect(waiting).to_be_visible()
    shot(anna, "my-tickets-waiting")
    ui.click(anna, "Open", within=waiting)
    expect(
        ui.main(anna).get_by_role("radiogroup", name=re.compile("^Is the problem solved"))
    ).to_be_visible()
    ui.pick_radio(anna, "Is the problem solved?", "confirm")
    submit_task(anna, shot, "confirm")
    open_ticket_after_task(anna, shot, number)
    expect(ui.ticket_status(anna)).to_have_text(ui.status_text("closed"))
    shot(anna, "ticket-closed")


def test_change_request_waits_for_the_coordinator(workbench: Workbench, shot: Shots) -> None:
    subject = f"Access to the finance share {uuid.uuid4().hex[:6]}"

    requester = workbench.login(UNAUTHORISED_REQUESTER)
    number, _ = report_problem(
        requester,
        shot,
        subject,
        category="account access",
        change="Change someone's permissions or access",
    )

    coordinator = workbench.login(COORDINATOR)
    ui.go_to(coordinator, "Approvals")
    request_row = ui.row(coordinator, number)
    expect(request_row).to_be_visible()
    expect(request_row).to_contain_text("permission change")
    shot(coordinator, "approvals")
    ui.click(coordinator, "Open", within=request_row)
    ui.pick_radio(coordinator, "Decision", "approve")
    ui.fill(coordinator, "Comment", "Approved for the quarter-end close.")
    submit_task(coordinator, shot, "approve")
    open_ticket_after_task(coordinator, shot, number)
    expect(ui.ticket_status(coordinator)).to_have_text(ui.status_text("in_progress"))
    expect(ui.ticket_status(coordinator)).to_contain_text(re.compile(r"Line\s*L1\b"))
    shot(coordinator, "ticket-in-progress")


def test_login_survives_reload_and_logout_ends_it(workbench: Workbench, shot: Shots) -> None:
    page = workbench.login("jan.nowak")
    cookie = ui.session_cookie(page)
    assert cookie is not None, "no session cookie after logging in"
    assert cookie["httpOnly"], "the session cookie must be HttpOnly"

    page.reload()
    expect(ui.log_out_link(page)).to_be_visible()
    expect(ui.sidebar(page)).to_contain_text("Jan Nowak")
    expect(ui.main(page).get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    ui.wait_idle(page)
    shot(page, "after-reload")

    # Logging out happens in this tab: the login page replaces the workbench.
    tabs_before = len(page.context.pages)
    ui.log_out_link(page).click()
    try:
        expect(ui.login_form(page)).to_be_visible()
    except AssertionError:
        opened = [tab.url for tab in page.context.pages[tabs_before:]]
        shot(page, "log-out-clicked")
        if opened:
            pytest.fail(
                f"'Log out' opened another tab ({', '.join(opened)}); this tab still "
                "shows the workbench"
            )
        raise
    assert ui.session_cookie(page) is None, "the session cookie survived logging out"
    shot(page, "logged-out")

    page.reload()
    expect(ui.login_form(page)).to_be_visible()
    expect(ui.log_out_link(page)).to_have_count(0)
    shot(page, "logged-out-after-reload")
