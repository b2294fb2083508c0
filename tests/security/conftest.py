"""A desk with two clients' worth of objects: client A (ACME) acts, client B (BALT) owns.

``build_world`` registers, through the real services, one of each kind of object a client
can own — tickets in every waiting state, comments and attachments (public and internal),
an unverified SMS ticket, a quarantined stranger's follow-up, a staff notice about B's
ticket, a monthly report — and keeps B's objects in ``World.refs`` with the values a caller
would use to name them. Everything B wrote carries ``MARK``, so a leak is a substring search.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, select

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.commands import NewTicket
from itsm.domain.people import Role
from itsm.process_files import read_process_source
from itsm.services.service_tasks import ServiceFunction
from itsm.settings import Settings
from itsm.storage import tables
from tasks import service_functions
from tests.conftest import LIFECYCLE_BPMN

MARK = "BALTSECRET"
"""In every subject, description, comment, file name and SMS client B wrote."""

ACTORS: dict[Role, str] = {
    Role.REQUESTER: "anna.kowalska",  # ACME
    Role.COORDINATOR: "robert.pawlak",  # ACME
    Role.L1: "jan.nowak",
    Role.L2: "tomasz.lewandowski",
    Role.L3: "michal.szymanski",
    Role.FIELD_TECHNICIAN: "krzysztof.wozniak",
    Role.SERVICE_DESK_LEAD: "ewa.kozlowska",
    Role.MANAGER: "marek.jankowski",
    Role.PROCESS_OWNER: "joanna.mazur",
    Role.ADMIN: "lukasz.kwiatkowski",
}
"""One person per role; the two client roles belong to client A."""

CLIENT_A, CLIENT_B = "ACME", "BALT"
B_REQUESTER = "andrzej.majewski"  # authorised to order changes
B_UNAUTHORISED = "monika.malinowska"  # her change requests wait for the coordinator
B_COORDINATOR = "dorota.nowakowska"
OTHER_L1 = "katarzyna.wisniewska"  # not in ACTORS: holds B's tasks nobody in the matrix has
NOTICE_OWNER = "piotr.wojcik"  # an L1 engineer outside ACTORS: the notice is his
LEAD = ACTORS[Role.SERVICE_DESK_LEAD]
ADMIN = ACTORS[Role.ADMIN]
SEPTEMBER = datetime(2026, 9, 14, 7, 0, tzinfo=UTC)  # a Monday, 9:00 in Warsaw
OCTOBER = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)

VALID_L1 = {
    "remote_desktop_consent": True,
    "remote_session_used": True,
    "diagnosis": "Profile corrupted",
    "outcome": "resolved",
    "resolution": "Rebuilt the Outlook profile",
    "time_spent_minutes": 20,
}


@dataclass
class World:
    desk: Services
    clock: ManualClock
    refs: dict[str, Any]
    """Client B's objects by kind, as a caller names them (number, id, code, username)."""
    markers: frozenset[str]
    """Strings only B's data contains: none may reach client A's people."""
    a_ticket: str
    """A ticket of client A's requester (for calls that need one of A's own objects)."""
    tokens: dict[str, str]
    """API token per client code."""
    b_client_id: int = 0
    b_ticket_ids: list[int] = field(default_factory=list)
    _seq: list[int] = field(default_factory=lambda: [0])

    def unique(self) -> str:
        self._seq[0] += 1
        return f"{self._seq[0]}-{uuid.uuid4().hex[:8]}"


def register(desk: Services, requester: str, actor: str | None = None, **extra: Any) -> str:
    """A ticket through the real intake (the requester's own portal report by default)."""
    with desk.unit_of_work(read_only=True) as uow:
        person = uow.directory.person_by_username(requester)
        code = uow.directory.client(person.client_id).code
    values: dict[str, Any] = {
        "client_code": code,
        "requester": requester,
        "channel": "portal",
        "category": "software",
        "subject": "Outlook keeps asking for the password",
        "description": "Since this morning",
        "impact": "medium",
        "urgency": "high",
        **extra,
    }
    return desk.intake.register(NewTicket.model_validate(values), actor or requester).number


def open_task(desk: Services, number: str, element_id: str) -> tuple[str, str | None]:
    """(id, assignee) of the ticket's open task of ``element_id``."""
    with desk.unit_of_work(read_only=True) as uow:
        ticket = uow.tickets.get_by_number(number)
        task = next(
            t
            for t in uow.tasks.for_ticket(ticket.id)
            if t.element_id == element_id and t.status.value == "open"
        )
        return task.id, task.assignee


def stranger_follow_up(number: str, message_id: str) -> bytes:
    """An e-mail from nobody known, naming ``number`` in its subject: quarantined."""
    return (
        "From: Stranger <stranger@unknown.example>\r\nTo: desk@nordserv.example\r\n"
        f"Subject: Re: [{number}] {MARK} anything new?\r\nMessage-ID: <{message_id}>\r\n"
        "Date: Mon, 14 Sep 2026 09:00:00 +0200\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{MARK} I am not on this ticket\r\n"
    ).encode()


def mail_from(address: str, subject: str, message_id: str, body: str) -> bytes:
    return (
        f"From: {address}\r\nTo: desk@nordserv.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 05 Oct 2026 09:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


# --- fresh objects of client B, for calls that change what they are called on -----------------


def fresh_ticket(world: World) -> str:
    return register(world.desk, B_REQUESTER, subject=f"{MARK} fresh {world.unique()}")


def fresh_l1_unassigned(world: World) -> str:
    """An open 1st-line task of B in the queue, claimed by nobody."""
    task_id, _ = open_task(world.desk, fresh_ticket(world), "l1_triage")
    world.desk.tasks.release(task_id, LEAD)
    return task_id


def fresh_l1_assigned(world: World) -> str:
    """An open 1st-line task of B held by an engineer outside the matrix."""
    return held_task_of(world, fresh_ticket(world))


def held_task_of(world: World, number: str) -> str:
    task_id, assignee = open_task(world.desk, number, "l1_triage")
    if assignee != OTHER_L1:
        world.desk.tasks.reassign(task_id, OTHER_L1, LEAD)
    return task_id


def fresh_approval(world: World) -> str:
    """A change request of B waiting for B's coordinator."""
    number = register(
        world.desk,
        B_UNAUTHORISED,
        subject=f"{MARK} access change {world.unique()}",
        change_type="permission_change",
    )
    return open_task(world.desk, number, "approve_change")[0]


def fresh_confirm(world: World) -> str:
    """A resolution waiting for B's requester to confirm it."""
    number = fresh_ticket(world)
    task_id, assignee = open_task(world.desk, number, "l1_triage")
    world.desk.tasks.complete(task_id, VALID_L1, assignee or "")
    return open_task(world.desk, number, "confirm_resolution")[0]


def fresh_unverified(world: World) -> str:
    """A ticket of B from an SMS of a number nobody has."""
    world.unique()
    number = f"+48 999 {world._seq[0]:06d}"  # a number nobody has
    result = world.desk.sms.receive(
        number, f"{MARK} printer on fire {world.unique()}", client_code=CLIENT_B
    )
    assert result.ticket_number is not None, result
    return result.ticket_number


def fresh_quarantined(world: World) -> int:
    """A stranger's follow-up to B's ticket, kept in quarantine."""
    message_id = f"{world.unique()}@unknown.example"
    raw = stranger_follow_up(world.refs["ticket"], message_id)
    assert world.desk.email.receive(raw, received_via="test").outcome == "quarantined"
    return quarantined_id(world.desk, f"<{message_id}>")


def quarantined_id(desk: Services, external_id: str) -> int:
    inbound = tables.metadata.tables["inbound_messages"]
    with desk.database.connect() as connection:
        found = connection.execute(
            select(inbound.c.id).where(inbound.c.external_id.in_([external_id, external_id[1:-1]]))
        ).scalar_one()
    return int(found)


_FAILING = [False]
"""While set, assigning an engineer fails: the ticket's instance becomes an incident."""


def _failing_when_asked(function: ServiceFunction) -> ServiceFunction:
    def run(context: Any, **parameters: Any) -> Any:
        if _FAILING[0]:
            raise RuntimeError("directory service unavailable (isolation probe)")
        return function(context, **parameters)

    return run


def world_desk(url: str, clock: ManualClock, attachments: Path) -> Services:
    """The seeded desk of tests/conftest.py's ``build_desk``, with a service task that
    fails on request and no automatic retries (a failure is an incident at once)."""
    functions = service_functions()
    functions["assign_engineer"] = _failing_when_asked(functions["assign_engineer"])
    desk = build(
        Settings(database_url=url, attachments_dir=attachments, service_task_retries=0),
        clock=clock,
        functions=functions,
        fast_password_hashing=True,
    )
    with desk.unit_of_work() as uow:
        seed_directory(uow, desk.catalog, clock.now())
        uow.commit()
    desk.processes.deploy(read_process_source(LIFECYCLE_BPMN), "test-setup", "bundled")
    return desk


def fresh_incident(world: World) -> int:
    """A ticket of B whose process failed at a service task: its instance id."""
    _FAILING[0] = True
    try:
        number = fresh_ticket(world)
    finally:
        _FAILING[0] = False
    with world.desk.unit_of_work(read_only=True) as uow:
        instance = uow.processes.instance_for_ticket(uow.tickets.get_by_number(number).id)
    assert instance.status.value == "incident", instance.status
    return int(instance.id)


FRESH: dict[str, Callable[[World], Any]] = {
    "ticket": fresh_ticket,
    "l1_task": fresh_l1_unassigned,
    "held_task": fresh_l1_assigned,
    "approval_task": fresh_approval,
    "confirm_task": fresh_confirm,
    "unverified_ticket": fresh_unverified,
    "message": fresh_quarantined,
    "incident": fresh_incident,
}


def build_world(url: str, attachments: Path) -> World:
    clock = ManualClock(SEPTEMBER)
    desk = world_desk(url, clock, attachments)
    refs: dict[str, Any] = {}
    world = World(desk, clock, refs, frozenset(), "", {})

    # Client B's main ticket: a 1st-line task waiting, comments and files of both kinds.
    main = register(
        desk,
        B_REQUESTER,
        subject=f"{MARK} VPN concentrator down",
        description=f"{MARK} since the firmware update",
    )
    refs["ticket"] = main
    desk.collaboration.comment(main, f"{MARK} public comment", B_REQUESTER)
    desk.collaboration.comment(main, f"{MARK} internal note", OTHER_L1, internal=True)
    refs["attachment"] = desk.collaboration.attach(
        main, f"{MARK}-diagram.txt", f"{MARK} attachment".encode(), B_REQUESTER
    )
    refs["internal_attachment"] = desk.collaboration.attach(
        main, f"{MARK}-notes.txt", f"{MARK} internal".encode(), OTHER_L1, internal=True
    )
    refs["held_task"] = held_task_of(world, main)
    refs["l1_task"] = fresh_l1_unassigned(world)
    refs["approval_task"] = fresh_approval(world)
    refs["confirm_task"] = fresh_confirm(world)
    refs["unverified_ticket"] = fresh_unverified(world)
    refs["message"] = fresh_quarantined(world)
    refs["incident"] = fresh_incident(world)
    refs["person"] = B_REQUESTER
    refs["client"] = CLIENT_B
    with desk.unit_of_work() as uow:
        b_client = uow.directory.client_by_code(CLIENT_B)
        refs["site"] = uow.directory.sites(b_client.id)[0].id
        owner = uow.directory.person_by_username(NOTICE_OWNER)
        ticket = uow.tickets.get_by_number(main)
        uow.notices.add_many(
            [
                {
                    "person_id": owner.id,
                    "ticket_id": ticket.id,
                    "kind": "sla_warning",
                    "summary": f"{MARK} reaction SLA at 80%",
                    "created_at": clock.now(),
                }
            ]
        )
        [notice] = uow.notices.for_person(owner.id)
        refs["notice"] = notice["id"]
        uow.commit()
    world.b_client_id = b_client.id
    world.a_ticket = register(desk, ACTORS[Role.REQUESTER], subject="ACME own printer jam")

    # A month later: September's reports of both clients exist.
    clock.set(OCTOBER)
    refs["report"] = desk.reports.generate(CLIENT_B, "2026-09", ADMIN).id
    desk.reports.generate(CLIENT_A, "2026-09", ADMIN)
    refs["figures"] = desk.dashboard.load(
        ADMIN, first_month="2026-09", last_month="2026-10", client_codes=[CLIENT_B]
    ).total
    world.tokens = {
        code: desk.api_access.create_token(code, f"{code} integration", ADMIN)
        for code in (CLIENT_A, CLIENT_B)
    }
    with desk.unit_of_work(read_only=True) as uow:
        b_people = uow.directory.people(client_id=b_client.id)
        b_tickets = [t for t in uow.tickets.recent(limit=1000) if t.client_id == b_client.id]
    world.b_ticket_ids = [t.id for t in b_tickets]
    world.markers = frozenset(
        {MARK, b_client.name, *(t.number for t in b_tickets)}
        | {p.username for p in b_people if p.active}
        | {p.full_name for p in b_people if p.active}
    )
    return world


_B_TABLES_SKIPPED = {
    # A stranger's (or client A's) e-mail naming B's ticket is recorded with that ticket for
    # the reviewers: a legitimate write; what it must never do (comment, attach) is below.
    "inbound_messages",
}


def _b_statements() -> list[tuple[str, Any]]:
    """One statement per table holding client rows, built once: B's client and tickets are
    bound (the tickets the world was built with, and any a call names)."""
    b_client = bindparam("b_client")
    b_tickets = bindparam("b_tickets", expanding=True)
    statements = []
    for table in tables.metadata.sorted_tables:
        if table.name in _B_TABLES_SKIPPED:
            continue
        if "client_id" in table.c:
            where = table.c.client_id == b_client
        elif "ticket_id" in table.c:
            where = table.c.ticket_id.in_(b_tickets)
        else:
            continue
        statements.append((table.name, select(table).where(where).order_by(*table.primary_key)))
    return statements


_B_STATEMENTS = _b_statements()


def b_snapshot(world: World, *numbers: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of client B's (its world tickets' and ``numbers``'), table by table:
    nothing client A does may change it."""
    ids = list(world.b_ticket_ids)
    with world.desk.database.connect() as connection:
        if numbers:
            tickets = tables.tickets
            ids += connection.execute(
                select(tickets.c.id).where(tickets.c.number.in_(numbers))
            ).scalars()
        values = {"b_client": world.b_client_id, "b_tickets": ids}
        return {
            name: [tuple(row) for row in connection.execute(statement, values)]
            for name, statement in _B_STATEMENTS
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    """One world per test module (and xdist worker), on its own SQLite file."""
    folder = tmp_path_factory.mktemp("world")
    shutil.copy(sqlite_template, folder / "itsm.db")
    built = build_world(f"sqlite:///{folder / 'itsm.db'}", folder / "attachments")
    yield built
    built.desk.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The race figures (tests/security/test_races.py), also under xdist."""
    lines = [
        str(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "race figures"
    ]
    if lines:
        terminalreporter.section("races")
        for line in lines:
            terminalreporter.write_line(line)
