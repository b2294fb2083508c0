"""Which pages each role gets: one table, used by the app and checked by the tests."""

from __future__ import annotations

from dataclasses import dataclass

from itsm.domain.people import Role


@dataclass(frozen=True)
class MenuEntry:
    script: str
    title: str
    url_path: str


INBOX = MenuEntry("views/inbox.py", "Inbox", "inbox")
PHONE = MenuEntry("views/phone_intake.py", "Phone intake", "phone")
FIELD = MenuEntry("views/field_visits.py", "Field visits", "field")
REPORT = MenuEntry("views/report.py", "Report a problem", "report")
MINE = MenuEntry("views/my_tickets.py", "My tickets", "mine")
APPROVALS = MenuEntry("views/approvals.py", "Approvals", "approvals")
TICKETS = MenuEntry("views/ticket_list.py", "Tickets", "tickets")
QUARANTINE = MenuEntry("views/quarantine.py", "Quarantine", "quarantine")
DASHBOARD = MenuEntry("views/dashboard.py", "Dashboard", "dashboard")
INCIDENTS = MenuEntry("views/incidents.py", "Incidents", "incidents")
NOTIFICATIONS = MenuEntry("views/notifications.py", "Notifications", "notifications")
CLIENT_REPORTS = MenuEntry("views/client_reports.py", "Reports", "reports")
DESIGNER = MenuEntry("views/designer.py", "Process designer", "designer")
# Reached from buttons with the ticket or task in the query string, never from the menu.
HIDDEN = (
    MenuEntry("views/ticket.py", "Ticket", "ticket"),
    MenuEntry("views/task.py", "Task", "task"),
)

_ENGINEER = (INBOX, PHONE)
# Every provider role gets its notices (SLA warnings and breaches) last in its menu.
MENUS: dict[Role, tuple[MenuEntry, ...]] = {
    Role.REQUESTER: (REPORT, MINE),
    Role.COORDINATOR: (REPORT, MINE, APPROVALS, CLIENT_REPORTS),
    Role.L1: (*_ENGINEER, NOTIFICATIONS),
    Role.L2: (*_ENGINEER, NOTIFICATIONS),
    Role.L3: (*_ENGINEER, NOTIFICATIONS),
    Role.SERVICE_DESK_LEAD: (*_ENGINEER, QUARANTINE, DASHBOARD, INCIDENTS, NOTIFICATIONS),
    Role.ADMIN: (*_ENGINEER, QUARANTINE, DASHBOARD, INCIDENTS, DESIGNER, NOTIFICATIONS),
    Role.FIELD_TECHNICIAN: (FIELD, NOTIFICATIONS),
    Role.MANAGER: (DASHBOARD, TICKETS, NOTIFICATIONS),
    Role.PROCESS_OWNER: (TICKETS, DESIGNER, NOTIFICATIONS),
}
"""The first entry is the landing page."""
