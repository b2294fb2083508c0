"""The SLA clock on real tickets and the monitor that fires warnings and breaches once.

MEDIS is a Platinum client with a 24/7 contract: IT administration has 2 h to react and
8 h to resolve, counted in wall-clock hours, which keeps the expected instants readable.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from itsm.domain.tickets import Ticket, TicketStatus

REQUESTER = "hanna.jasinska"  # MEDIS, not an authorised person
COORDINATOR = "beata.szewczyk"
LEAD = "ewa.kozlowska"


def report(desk: Services, *, change_type: str = "none", subject: str = "Server slow") -> Ticket:
    return desk.intake.register(
        NewTicket(
            client_code="MEDIS",
            requester=REQUESTER,
            channel="portal",
            category="software",
            subject=subject,
            description="-",
            impact="medium",
            urgency="medium",
            service_type="it_administration",
            change_type=change_type,
        ),
        REQUESTER,
    )


def fresh(desk: Services, ticket: Ticket) -> Ticket:
    with desk.unit_of_work(read_only=True) as uow:
        return uow.tickets.get(ticket.id)  # type: ignore[no-any-return]


def events(desk: Services, ticket: Ticket, kind: str) -> list[dict[str, object]]:
    with desk.unit_of_work(read_only=True) as uow:
        return [e for e in uow.audit.for_ticket(ticket.id) if e["kind"] == kind]


def test_due_times_and_pending_alarms_follow_the_targets(desk: Services) -> None:
    ticket = report(desk)
    start = ticket.created_at
    assert ticket.reaction_due_at == start + timedelta(hours=2)
    assert ticket.reaction_warn_at == start + timedelta(hours=1.5)
    assert ticket.resolution_due_at == start + timedelta(hours=8)
    assert ticket.resolution_warn_at == start + timedelta(hours=6)
    with desk.unit_of_work(read_only=True) as uow:
        alarms = {(a["clock"], a["threshold"]): a["due_at"] for a in uow.sla.alarms(ticket.id)}
        history = uow.sla.history_rows(ticket.id)
    assert alarms == {
        ("reaction", "warning"): start + timedelta(hours=1.5),
        ("reaction", "breach"): start + timedelta(hours=2),
        ("resolution", "warning"): start + timedelta(hours=6),
        ("resolution", "breach"): start + timedelta(hours=8),
    }
    # Registration, the 1st-line engineer assigned (a line change), then work started.
    assert [(row["status"], row["support_line"]) for row in history] == [
        ("new", None),
        ("new", "L1"),
        ("in_progress", "L1"),
    ]
    # The L1 task is due when the ticket is.
    (task,) = [t for t in desk.tasks.inbox("jan.nowak", group="L1") if t.ticket.id == ticket.id]
    assert task.task.due_at == ticket.resolution_due_at


def test_warning_then_breach_each_once_with_notices_and_escalation(
    desk: Services, clock: ManualClock
) -> None:
    ticket = report(desk)
    assignee_id = fresh(desk, ticket).assignee_id
    assert desk.sla_monitor.scan().fired == {}

    clock.advance(timedelta(hours=1, minutes=31))
    first = desk.sla_monitor.scan()
    assert dict(first.fired) == {"reaction warning": 1}
    assert desk.sla_monitor.scan().fired == {}  # however often it runs
    with desk.unit_of_work(read_only=True) as uow:
        assignee = uow.directory.person(assignee_id)
    (notice,) = desk.notices.mine(assignee.username)
    assert notice["kind"] == "sla_warning" and ticket.number in notice["summary"]
    assert desk.notices.mine(LEAD) == []  # warnings go to the assignee only (config)

    clock.advance(timedelta(minutes=30))
    second = desk.sla_monitor.scan()
    assert dict(second.fired) == {"reaction breach": 1}
    assert second.escalated == 1
    assert fresh(desk, ticket).priority == "P2"  # medium x medium is P3, raised one step
    (lead_notice,) = desk.notices.mine(LEAD)
    assert lead_notice["kind"] == "sla_breach"
    assert len(events(desk, ticket, "sla_warning")) == 1
    assert len(events(desk, ticket, "sla_breach")) == 1
    assert len(events(desk, ticket, "priority_raised")) == 1
    with desk.unit_of_work(read_only=True) as uow:
        outbox = uow.outbox.for_ticket(ticket.id)
    sla_mail = sorted((m["template"], m["recipient"]) for m in outbox if "sla" in m["template"])
    assert sla_mail == sorted(
        [
            ("sla_warning", assignee.email),
            ("sla_breach", assignee.email),
            ("sla_breach", "ewa.kozlowska@nordserv.example"),
        ]
    )
    assert desk.notices.unread(LEAD) == 1
    desk.notices.mark_read(LEAD, [lead_notice["id"]])
    assert desk.notices.unread(LEAD) == 0


def test_a_response_stops_the_reaction_clock(desk: Services, clock: ManualClock) -> None:
    ticket = report(desk)
    clock.advance(timedelta(minutes=20))
    (task,) = [t for t in desk.tasks.inbox("jan.nowak", group="L1") if t.ticket.id == ticket.id]
    desk.tasks.claim(task.task.id, "jan.nowak")
    with desk.unit_of_work(read_only=True) as uow:
        pending = {(a["clock"], a["threshold"]) for a in uow.sla.alarms(ticket.id)}
    assert pending == {("resolution", "warning"), ("resolution", "breach")}
    clock.advance(timedelta(hours=7))
    assert dict(desk.sla_monitor.scan().fired) == {"resolution warning": 1}


def test_waiting_for_the_coordinator_pauses_the_clock(desk: Services, clock: ManualClock) -> None:
    ticket = report(desk, change_type="permission_change", subject="Grant access to HR share")
    assert ticket.status is TicketStatus.AWAITING_APPROVAL
    assert ticket.reaction_due_at is None and ticket.sla_paused_since == ticket.created_at
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.sla.alarms(ticket.id) == []

    clock.advance(timedelta(hours=30))  # nothing fires while the client decides
    assert desk.sla_monitor.scan().fired == {}
    (approval,) = desk.tasks.inbox(COORDINATOR)
    desk.tasks.complete(approval.task.id, {"approval_decision": "approve"}, COORDINATOR)
    resumed = fresh(desk, ticket)
    assert resumed.status is TicketStatus.IN_PROGRESS
    assert resumed.sla_paused_since is None
    # The 30 paused hours do not count: 2 h from the approval.
    assert resumed.reaction_due_at == clock.now() + timedelta(hours=2)
    assert resumed.resolution_due_at == clock.now() + timedelta(hours=8)


def test_recompute_after_a_late_event_and_a_changed_rule(
    desk: Services, clock: ManualClock
) -> None:
    ticket = report(desk)
    start = ticket.created_at
    # A pause learnt late: the ticket waited on the requester from 0:30 to 1:30.
    with desk.unit_of_work() as uow:
        uow.sla.add_status_change(
            ticket.id, start + timedelta(minutes=30), TicketStatus.AWAITING_REQUESTER, "L1"
        )
        uow.sla.add_status_change(
            ticket.id, start + timedelta(minutes=90), TicketStatus.IN_PROGRESS, "L1"
        )
        uow.commit()
    assert desk.sla_recompute.recompute_open() >= 1
    assert fresh(desk, ticket).reaction_due_at == start + timedelta(hours=3)


@pytest.mark.parametrize("runs", [4])
def test_overlapping_scans_fire_each_threshold_once(
    desk: Services, clock: ManualClock, runs: int
) -> None:
    tickets = [report(desk, subject=f"Ticket {n}") for n in range(12)]
    clock.advance(timedelta(hours=9))  # every threshold of every ticket is due
    barrier = threading.Barrier(runs)
    totals: list[int] = []
    errors: list[BaseException] = []

    def scan() -> None:
        barrier.wait()
        try:
            result = desk.sla_monitor.scan()
            totals.append(result.warnings + result.breaches)
        except BaseException as err:  # a conflict would be a bug here: report it
            errors.append(err)

    threads = [threading.Thread(target=scan) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(totals) == 4 * len(tickets)
    for ticket in tickets:
        assert len(events(desk, ticket, "sla_warning")) == 2
        assert len(events(desk, ticket, "sla_breach")) == 2
