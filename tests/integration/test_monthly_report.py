"""The monthly client report end to end: real tickets through the engine, figures checked
against values computed here from the ticket rows themselves, the three files archived and
e-mailed to the IT coordinator over real SMTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from itsm.domain.errors import NotFound, PermissionDenied, ValidationFailed
from itsm.domain.tickets import Ticket
from tests.conftest import build_desk
from tests.integration.test_delivery import Mailbox, free_port

MANAGER = "marek.jankowski"
COORDINATOR = "robert.pawlak"  # ACME's
OTHER_COORDINATOR = "dorota.nowakowska"  # BALT's
OCTOBER = [
    datetime(2026, 10, 5, 7, 0, tzinfo=UTC),
    datetime(2026, 10, 7, 12, 30, tzinfo=UTC),
    datetime(2026, 10, 14, 8, 0, tzinfo=UTC),
    datetime(2026, 10, 20, 6, 0, tzinfo=UTC),
    datetime(2026, 10, 30, 9, 0, tzinfo=UTC),
]


@pytest.fixture
def reporting_desk(database_url: str, clock: ManualClock) -> Iterator[tuple[Services, Mailbox]]:
    box, port = Mailbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)  # a real SMTP server on loopback
    smtp.start()
    desk, _ = build_desk(database_url, clock, smtp_port=port)
    yield desk, box
    desk.close()
    smtp.stop()


def report(desk: Services, subject: str) -> Ticket:
    command = NewTicket(
        client_code="ACME",
        requester="anna.kowalska",
        channel="email",
        category="hardware",
        subject=subject,
        description="-",
    )
    return desk.intake.register(command, "anna.kowalska")


def resolve_at_first_line(desk: Services, ticket: Ticket) -> None:
    (task,) = [t for t in desk.tasks.inbox("jan.nowak", group="L1") if t.ticket.id == ticket.id]
    engineer = task.task.assignee or "jan.nowak"
    desk.tasks.complete(
        task.task.id,
        {
            "diagnosis": "Paper path blocked",
            "outcome": "resolved",
            "resolution": "Cleared the paper path",
            "time_spent_minutes": 30,
        },
        engineer,
    )


def seed_october(desk: Services, clock: ManualClock) -> list[Ticket]:
    """Five tickets: four solved at the 1st line (one of them late), one left open."""
    tickets = []
    for index, moment in enumerate(OCTOBER):
        clock.set(moment)
        ticket = report(desk, f'Printer {index} <jams> & "stops"')
        delay = timedelta(hours=30) if index == 2 else timedelta(hours=1)
        if index < 4:
            clock.set(moment + delay)
            resolve_at_first_line(desk, ticket)
        tickets.append(ticket)
    clock.set(datetime(2026, 11, 2, 7, 0, tzinfo=UTC))
    return tickets


def reaction_outcomes_independently(desk: Services, tickets: list[Ticket]) -> list[str]:
    """From the ticket rows alone: responded by the due time, later, or not yet."""
    outcomes = []
    with desk.unit_of_work(read_only=True) as uow:
        for ticket in tickets:
            row = uow.tickets.get(ticket.id)
            if row.responded_at is None:
                outcomes.append("")  # still running: due 2 Nov, after the month
            else:
                outcomes.append("true" if row.responded_at <= row.reaction_due_at else "false")
    return outcomes


def test_the_report_of_a_month_matches_its_tickets(
    reporting_desk: tuple[Services, Mailbox], clock: ManualClock
) -> None:
    desk, box = reporting_desk
    tickets = seed_october(desk, clock)
    stored = desk.reports.generate("ACME", "2026-10", MANAGER)
    assert stored.created and stored.ticket_count == len(tickets) == 5
    assert stored.emailed_to == "robert.pawlak@acme.example"

    (archived,) = desk.reports.archive(MANAGER, "ACME")
    figures = archived["month"], archived["ticket_count"]
    assert figures == ("2026-10", 5)

    # The PDF opens, says how many tickets it lists, in the client's language (Polish).
    pdf = desk.reports.download(stored.id, "pdf", MANAGER)
    assert pdf.display_name == "report-ACME-2026-10.pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Zgłoszenia w raporcie: 5" in " ".join(text.split())
    assert all(ticket.number in text for ticket in tickets)

    exported = desk.reports.download(stored.id, "csv", MANAGER).data.decode("utf-8-sig")
    rows = {row["number"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert sorted(rows) == sorted(t.number for t in tickets)
    expected = reaction_outcomes_independently(desk, tickets)
    assert [rows[t.number]["reaction_met"] for t in tickets] == expected
    # The 30-hour response (Wednesday 10:00 → Thursday 16:00 Warsaw) missed its 8 business
    # hours; the open ticket's clock runs into November.
    assert expected == ["true", "true", "false", "true", ""]
    summary = archived_figures(desk, stored.id)
    assert summary["reaction"] == {"met": 3, "breached": 1, "pending": 1}
    # Four resolved (awaiting confirmation is not backlog), one still open.
    assert (summary["opened"], summary["resolved"], summary["backlog"]) == (5, 4, 1)
    html = desk.reports.download(stored.id, "html", MANAGER).data.decode()
    assert "&lt;jams&gt;" in html and "<jams>" not in html  # subjects are escaped

    # Sent to the coordinator with the three files attached.
    desk.delivery.deliver_due("test-worker")
    (mail,) = [m for m in box.messages if "2026-10" in str(m["Subject"])]
    assert mail["To"] == "robert.pawlak@acme.example"
    names = sorted(part.get_filename() for part in mail.iter_attachments())
    assert names == [
        "report-ACME-2026-10.csv",
        "report-ACME-2026-10.html",
        "report-ACME-2026-10.pdf",
    ]


def archived_figures(desk: Services, report_id: int) -> dict[str, object]:
    import json

    with desk.unit_of_work(read_only=True) as uow:
        row = uow.reports.get(report_id)
    assert row is not None
    figures: dict[str, object] = json.loads(row["figures"])
    return figures


def test_hours_and_cost_come_from_the_month_s_work(
    reporting_desk: tuple[Services, Mailbox], clock: ManualClock
) -> None:
    desk, _ = reporting_desk
    seed_october(desk, clock)
    with desk.unit_of_work(read_only=True) as uow:
        client = uow.directory.client_by_code("ACME")
        facts = uow.reporting.usage_facts(
            client.id, datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC)
        )
    # Four resolutions of 30 minutes each, IT service (ACME's default service type).
    assert sum(facts.minutes_by_service.values()) == 4 * 30


def test_a_month_is_reported_once_unless_forced(
    reporting_desk: tuple[Services, Mailbox], clock: ManualClock
) -> None:
    desk, _ = reporting_desk
    seed_october(desk, clock)
    first = desk.reports.generate("ACME", "2026-10", MANAGER)
    again = desk.reports.generate("ACME", "2026-10", "system:monthly-report")
    assert (again.id, again.created) == (first.id, False)
    forced = desk.reports.generate("ACME", "2026-10", MANAGER, force=True, send=False)
    assert forced.created and len(desk.reports.archive(MANAGER, "ACME")) == 1


def test_refusals(reporting_desk: tuple[Services, Mailbox], clock: ManualClock) -> None:
    desk, _ = reporting_desk
    seed_october(desk, clock)
    with pytest.raises(ValidationFailed, match="not over"):
        desk.reports.generate("ACME", "2026-11", MANAGER)
    with pytest.raises(ValidationFailed, match="YYYY-MM"):
        desk.reports.generate("ACME", "October", MANAGER)
    with pytest.raises(PermissionDenied):
        desk.reports.generate("ACME", "2026-10", "jan.nowak")
    stored = desk.reports.generate("ACME", "2026-10", MANAGER, send=False)
    # The client's coordinator reads it; another client's coordinator cannot even see it.
    assert [r["id"] for r in desk.reports.archive(COORDINATOR)] == [stored.id]
    assert desk.reports.archive(OTHER_COORDINATOR) == []
    assert desk.reports.download(stored.id, "pdf", COORDINATOR).data.startswith(b"%PDF")
    with pytest.raises(NotFound):
        desk.reports.download(stored.id, "pdf", OTHER_COORDINATOR)
