"""Dashboard, notifications and report pages through AppTest, on the app's own (manual) clock.

The app builds its own services; here they share the test's ManualClock, so the default months,
SLA breaches and "is the month over" all follow the clock the tickets were created on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from itsm import bootstrap
from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.settings import PROJECT_ROOT, Settings
from tests.ui.test_pages import new_ticket
from ui import session

AppFor = Callable[..., AppTest]
LEAD = "ewa.kozlowska"
MANAGER = "marek.jankowski"
MEDIS_REQUESTER = "hanna.jasinska"  # MEDIS: Platinum, 24/7, 2 h to react


@pytest.fixture(autouse=True)
def app_on_the_test_clock(
    ui_desk: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def build_on_test_clock(settings: Settings) -> Services:
        return bootstrap.build(settings, clock=clock)

    # Before the app's first services() call (ui_desk cleared the cache).
    monkeypatch.setattr(session, "build", build_on_test_clock)


def three_tickets(desk: Services) -> dict[str, list[str]]:
    return {
        "ACME": [
            new_ticket(desk, client="ACME", requester="anna.kowalska"),
            new_ticket(desk, client="ACME", requester="marcin.wieczorek", category="hardware"),
        ],
        "BALT": [new_ticket(desk, client="BALT", requester="andrzej.majewski")],
    }


def breached_reaction(desk: Services, clock: ManualClock) -> str:
    number = new_ticket(desk, client="MEDIS", requester=MEDIS_REQUESTER)
    clock.advance(timedelta(hours=2, minutes=1))
    assert desk.sla_monitor.scan().fired["reaction breach"] == 1
    return number


def metric(at: AppTest, label: str) -> str:
    [value] = [m.value for m in at.metric if m.label == label]
    return value


def texts(at: AppTest, kind: str = "markdown") -> str:
    return " ".join(str(element.value) for element in at.get(kind))


def table(at: AppTest, index: int = 0) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = at.dataframe[index].value.to_dict("records")
    return rows


def run_page_directly(desk: Services, username: str, script: str) -> AppTest:
    """A page as if reached by URL: the menu would not even offer it to this person."""
    with desk.unit_of_work(read_only=True) as uow:
        person = uow.directory.person_by_username(username)
    at = AppTest.from_file(str(PROJECT_ROOT / "ui" / script), default_timeout=30)
    at.session_state["person"] = person
    return at.run()


def test_manager_and_lead_see_the_figures(app_as: AppFor, ui_desk: Services) -> None:
    three_tickets(ui_desk)
    manager = app_as(MANAGER)
    assert not manager.exception
    assert [t.value for t in manager.title] == ["Dashboard"]
    assert metric(manager, "Opened") == "3"
    assert metric(manager, "Backlog") == "3"
    assert metric(manager, "Escalations to L2") == "0"
    lead = app_as(LEAD, "views/dashboard.py")
    assert not lead.exception
    assert metric(lead, "Opened") == "3"
    assert "Choose one client to see its hour packages." in texts(lead, "info")


def test_filter_by_client_changes_the_numbers(app_as: AppFor, ui_desk: Services) -> None:
    three_tickets(ui_desk)
    at = app_as(MANAGER)
    at.multiselect(key="dashboard.clients").select("ACME").run()
    assert not at.exception
    assert metric(at, "Opened") == "2"
    assert "hour packages" not in texts(at, "info")  # one client: its packages are drawn
    at.multiselect(key="dashboard.clients").unselect("ACME").select("BALT").run()
    assert metric(at, "Opened") == "1"
    at.multiselect(key="dashboard.clients").unselect("BALT")
    at.multiselect(key="dashboard.tiers").select("platinum").run()
    assert metric(at, "Opened") == "0"  # no ticket at a platinum client yet


def test_a_period_that_ends_before_it_starts_is_explained(app_as: AppFor) -> None:
    at = app_as(MANAGER)
    months = at.selectbox(key="dashboard.first").options
    at.selectbox(key="dashboard.first").set_value(months[-1])
    at.selectbox(key="dashboard.last").set_value(months[-2]).run()
    assert not at.exception
    assert any("must not be before the first month" in e.value for e in at.error)
    assert not at.metric


@pytest.mark.parametrize("username", ["anna.kowalska", "jan.nowak"])
def test_others_get_no_dashboard(app_as: AppFor, ui_desk: Services, username: str) -> None:
    three_tickets(ui_desk)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as(username, "views/dashboard.py")  # not in their menu
    at = run_page_directly(ui_desk, username, "views/dashboard.py")
    assert not at.exception
    assert "not visible to you" in at.error[0].value
    assert not at.metric and not at.dataframe


def answered(desk: Services, client: str, requester: str, **extra: str) -> str:
    """A ticket its engineer took at once: the reaction clock stopped in time."""
    number = new_ticket(desk, client=client, requester=requester, **extra)
    details = desk.tickets.details(number, "lukasz.kwiatkowski")
    [task] = [t for t in details.tasks if t.status.value == "open"]
    desk.tasks.claim(task.id, task.assignee or "jan.nowak")
    return number


def test_drill_down_lists_the_breached_tickets_with_links_and_csv(
    app_as: AppFor, ui_desk: Services, clock: ManualClock
) -> None:
    in_time = answered(ui_desk, "ACME", "anna.kowalska", category="hardware")
    late = breached_reaction(ui_desk, clock)
    at = app_as(LEAD, "views/dashboard.py")
    assert metric(at, "SLA breaches fired") == "1"
    assert metric(at, "Reaction SLA") == "50.0%"
    at.selectbox(key="dashboard.drill").set_value("breached:reaction").run()
    assert [row["Ticket"] for row in table(at)] == [late]
    [link] = at.get("page_link")
    assert link.proto.label == f"Open {late}" and "ticket" in link.proto.page
    assert next(b.proto.label for b in at.get("download_button")) == "Download CSV"
    at.selectbox(key="dashboard.drill").set_value("category:hardware").run()
    assert [row["Ticket"] for row in table(at)] == [in_time]


def test_ticket_list_csv_is_the_reports_format(ui_desk: Services) -> None:
    three_tickets(ui_desk)
    app_services = session.services()
    data = app_services.dashboard.load(MANAGER, first_month="2026-10", last_month="2026-10")
    csv = app_services.reports.ticket_list_csv(data.total, MANAGER).decode("utf-8-sig")
    header, *rows = csv.splitlines()
    assert header.startswith("number,created_at,subject") and len(rows) == 3


def test_manager_generates_a_report_and_finds_it_in_the_archive(app_as: AppFor) -> None:
    at = app_as(MANAGER)
    [month] = at.text_input
    month.set_value("2026-10")
    at.button(key="FormSubmitter:generate_report-Generate").click().run()
    assert any("not over yet" in e.value for e in at.error)
    at.text_input[0].set_value("2026-09")
    at.button(key="FormSubmitter:generate_report-Generate").click().run()
    assert not at.exception
    assert any(s.value.startswith("Report ACME 2026-09: 0 tickets") for s in at.success)
    [row] = table(at, index=-1)
    assert row["Month"] == "2026-09" and row["Client"].startswith("ACME")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["PDF", "HTML", "CSV"]


def test_lead_reads_the_breach_notice_and_marks_all_read(
    app_as: AppFor, ui_desk: Services, clock: ManualClock
) -> None:
    late = breached_reaction(ui_desk, clock)
    at = app_as(LEAD, "views/notifications.py")
    assert not at.exception
    assert "SLA breach" in texts(at)
    assert any(late in t.value for t in at.text)
    assert "1 unread notifications" in " ".join(m.value for m in at.sidebar.markdown)
    [link] = at.get("page_link")
    assert link.proto.label == f"Open {late}"
    at.button(key="notices.mark_all").click().run()
    assert not at.exception
    assert ui_desk.notices.unread(LEAD) == 0
    assert "unread" not in " ".join(m.value for m in at.sidebar.markdown)
    assert "unread" not in texts(at)  # the notice stays listed, no longer marked
    assert not any(b.key == "notices.mark_all" for b in at.button)


def test_coordinator_sees_only_their_companys_reports(app_as: AppFor) -> None:
    app_services = session.services()  # the app's own blob store keeps the files
    app_services.reports.generate("ACME", "2026-09", MANAGER)
    app_services.reports.generate("BALT", "2026-09", MANAGER)
    at = app_as("robert.pawlak", "views/client_reports.py")  # ACME's coordinator
    assert not at.exception
    assert [t.value for t in at.title] == ["Reports"]
    clients = [row["Client"] for row in table(at)]
    assert len(clients) == 1 and clients[0].startswith("ACME")
    assert [b.proto.label for b in at.get("download_button")] == ["PDF", "HTML", "CSV"]
    assert "BALT" not in " ".join(map(str, at.selectbox(key="reports.chosen").options))
    other = app_as("dorota.nowakowska", "views/client_reports.py")  # BALT's coordinator
    assert [row["Client"][:4] for row in table(other)] == ["BALT"]
