"""Tenant isolation: every service entry point, HTTP route and page × every role × an object
of another client (issue 7, item 5). The matrix is generated: the public methods of every
service on ``Services`` and the routes of ``create_api`` are enumerated, and one that is
neither a row here nor allow-listed with its reason fails ``test_*_are_all_in_the_matrix``;
every page of ui/navigation.py (hidden ones too) and every other script in ui/views is a
cell by itself.

The rule ("another client's object must look nonexistent"):

* **Client people** (client A's requester and coordinator) calling with an object of client
  B get exactly the answer they would get for an object that does not exist: the same error
  class and the same message with the name swapped. That class is ``NotFound`` — or
  ``ValidationFailed`` where a nonexistent object is a field error (the requester of a new
  ticket). ``PermissionDenied`` is acceptable only as a role gate that comes before any
  lookup: the comparison with a nonexistent object proves it does (a gate after the lookup
  would answer "not found" for the nonexistent one). Listings and filters may answer, but
  with none of B's data. Whatever the answer, no string only B's data contains (``MARK``,
  B's ticket numbers, people, company name) appears in it, and no row of B's changes.
* **Pages** opened by client A's people with B's ticket, task and report in the query
  string show none of B's data anywhere on screen, and the pages that open one object say
  it "does not exist or is not visible to you". A page outside the role's menu cannot be
  opened at all; it is also run on its own, and still shows nothing of B's.
* **HTTP**: client A's token on B's object gets the status and body a nonexistent object
  gets: 404 for a ticket in the path or a person as comment author, 422 for a person as
  requester (a field error), never B's data.
* A message client A's person writes quoting B's ticket number (an SMS, an e-mail) is never
  added to B's ticket; it may become A's own ticket, which then shows what A wrote.
* **Provider staff** are the provider: the roles a row names succeed on B's object; every
  other staff role is refused by its role restriction (``PermissionDenied`` or
  ``NotFound``), never by anything else. Rows that change their object get a fresh one of
  B's for each staff call.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from itsm.api.app import create_api
from itsm.bootstrap import Services
from itsm.domain.commands import NewTicket
from itsm.domain.errors import (
    ConflictError,
    ItsmError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from itsm.domain.people import CLIENT_ROLES, PROVIDER_ROLES, Role
from itsm.services.intake import IdempotencyClaim
from itsm.settings import PROJECT_ROOT
from itsm.storage import tables
from tests.security.conftest import (
    ACTORS,
    ADMIN,
    B_COORDINATOR,
    B_REQUESTER,
    CLIENT_A,
    CLIENT_B,
    FRESH,
    NOTICE_OWNER,
    VALID_L1,
    World,
    b_snapshot,
    mail_from,
    open_task,
    register,
)
from ui import navigation, session

ROLES = list(Role)
ALL_STAFF = frozenset(PROVIDER_ROLES)
NO_STAFF: frozenset[Role] = frozenset()
SUPERVISORS = frozenset({Role.SERVICE_DESK_LEAD, Role.ADMIN})
L1_WORKERS = frozenset({Role.L1, Role.SERVICE_DESK_LEAD, Role.ADMIN})
REPORT_READERS = frozenset({Role.MANAGER, Role.SERVICE_DESK_LEAD, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
LOOKS_NONEXISTENT = (NotFound, PermissionDenied)
AS_FIELD_ERROR = (NotFound, PermissionDenied, ValidationFailed)
HELD = (NotFound, PermissionDenied, ConflictError)

MISSING: dict[str, Any] = {
    "ticket": "HD-2026-999999",
    "unverified_ticket": "HD-2026-999998",
    "l1_task": "00000000-0000-4000-8000-000000000001",
    "held_task": "00000000-0000-4000-8000-000000000002",
    "approval_task": "00000000-0000-4000-8000-000000000003",
    "confirm_task": "00000000-0000-4000-8000-000000000004",
    "attachment": 999_901,
    "internal_attachment": 999_902,
    "message": 999_903,
    "notice": 999_904,
    "report": 999_905,
    "site": 999_906,
    "person": "nobody.here",
    "client": "NOPE",
    "incident": 999_907,
    "figures": "figures of no client",  # resolved by the world (an empty dashboard total)
}
"""For each kind of object: a name that names nothing."""


# --- the services ---------------------------------------------------------------------------

Call = Callable[[World, str, Any], Any]
Check = Callable[[World, Role, Any, Any], None]


@dataclass(frozen=True)
class Case:
    method: str
    """``<Services field>.<method>``."""
    call: Call
    """(world, actor, ref) → the call; ``ref`` is B's object (or a nonexistent one)."""
    ref: str | None
    """Kind of B's object the call names (a key of ``World.refs``); None: takes none."""
    staff: frozenset[Role]
    """Provider roles that succeed on B's object."""
    listing: bool = False
    """Lists or filters: client people may get an answer (without B's data)."""
    refused: tuple[type[ItsmError], ...] = LOOKS_NONEXISTENT
    staff_refused: tuple[type[ItsmError], ...] = LOOKS_NONEXISTENT
    """How the other staff roles are refused (a role restriction, unless said here)."""
    fresh: bool = False
    """Changes its object: each staff call that should succeed gets a fresh one of B's."""
    channel: bool = False
    """Identity comes from the message (e-mail, SMS), no answer goes back to the sender:
    compared by ``check`` instead of with a nonexistent object."""
    check: Check | None = None
    """More to assert about a successful answer: (world, role, ref, result)."""
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.method}[{self.variant}]" if self.variant else self.method


def ticket_command(client_code: str, requester: str, **extra: Any) -> NewTicket:
    return NewTicket.model_validate(
        {
            "client_code": client_code,
            "requester": requester,
            "channel": "phone",
            "category": "software",
            "subject": "Isolation probe ticket",
            "description": "Registered by the isolation matrix",
            **extra,
        }
    )


def for_client(code: str) -> NewTicket:
    """A report for a person of client ``code`` (B's requester; nobody for other codes)."""
    return ticket_command(code, B_REQUESTER if code == CLIENT_B else "nobody.here")


def token_id(world: World, code: str) -> int:
    api_tokens = tables.metadata.tables["api_tokens"]
    clients = tables.metadata.tables["clients"]
    with world.desk.database.connect() as connection:
        found = connection.execute(
            select(api_tokens.c.id)
            .join(clients, clients.c.id == api_tokens.c.client_id)
            .where(clients.c.code == code)
        ).scalar_one()
    return int(found)


def register_within(world: World, command: NewTicket, actor: str) -> Any:
    with world.desk.unit_of_work() as uow:  # left without commit: nothing stays
        return world.desk.intake.register_within(uow, command, actor)


def person_of(world: World, actor: str) -> Any:
    with world.desk.unit_of_work(read_only=True) as uow:
        return uow.directory.person_by_username(actor)


def email_to(world: World, actor: str, number: str) -> Any:
    raw = mail_from(
        person_of(world, actor).email,
        f"Re: [{number}] any news?",
        f"{world.unique()}@isolation.example",
        "Any news on this one?",
    )
    return world.desk.email.receive(raw, received_via="isolation matrix")


def sms_to(world: World, actor: str, number: str) -> Any:
    phone = person_of(world, actor).phone
    return world.desk.sms.receive(phone, f"{number} still broken", world.unique())


def never_on_bs_ticket(world: World, role: Role, ref: Any, result: Any) -> None:
    if role in CLIENT_ROLES:  # kept for the reviewers, or a new ticket of the sender's own
        own_ticket = result.outcome == "ticket_created" and result.ticket_number != ref
        assert result.outcome == "quarantined" or own_ticket, result


def staff_email_comments(world: World, role: Role, ref: Any, result: Any) -> None:
    never_on_bs_ticket(world, role, ref, result)
    if role not in CLIENT_ROLES:
        assert (result.outcome, result.ticket_number) == ("comment_added", ref), result


def sms_never_on_bs_ticket(world: World, role: Role, ref: Any, result: Any) -> None:
    # SMS identifies client people only: staff numbers are nobody's, so quarantined.
    assert result.ticket_number != ref, result


def nothing_marked(world: World, role: Role, ref: Any, result: Any) -> None:
    assert result == 0  # the notice is another person's
    with world.desk.unit_of_work(read_only=True) as uow:
        owner = uow.directory.person_by_username(NOTICE_OWNER)
        assert [n["read_at"] for n in uow.notices.for_person(owner.id) if n["id"] == ref] == [None]


def _task_cases() -> list[Case]:
    cases: list[Case] = []
    seen = {"l1_task": ALL_STAFF, "held_task": ALL_STAFF}
    decisions = {"approval_task": SUPERVISORS, "confirm_task": SUPERVISORS}
    for ref, staff in {**seen, **decisions}.items():
        for name in ("open", "task", "form"):
            cases.append(
                Case(
                    f"tasks.{name}",
                    lambda w, a, r, name=name: getattr(w.desk.tasks, name)(r, a),
                    ref,
                    staff,
                    variant=ref,
                )
            )
    for ref in ("l1_task", "approval_task", "confirm_task"):
        works = L1_WORKERS if ref == "l1_task" else NO_STAFF  # client decisions: clients only
        cases += [
            Case(
                "tasks.claim",
                lambda w, a, r: w.desk.tasks.claim(r, a),
                ref,
                works,
                # The supervisors see a requester's confirmation, which its requester holds:
                # claiming it is a conflict with that person, not a question of permission.
                staff_refused=HELD if ref == "confirm_task" else LOOKS_NONEXISTENT,
                fresh=True,
                variant=ref,
            ),
            Case(
                "tasks.complete",
                lambda w, a, r: w.desk.tasks.complete(r, VALID_L1, a),
                ref,
                works,
                fresh=True,
                variant=ref,
            ),
        ]
    for ref in ("held_task", "approval_task", "confirm_task"):
        cases.append(
            Case(
                "tasks.release",
                lambda w, a, r: w.desk.tasks.release(r, a),
                ref,
                SUPERVISORS,
                fresh=True,
                variant=ref,
            )
        )
    targets = {"held_task": NOTICE_OWNER, "approval_task": B_COORDINATOR}
    for ref, to in targets.items():
        cases.append(
            Case(
                "tasks.reassign",
                lambda w, a, r, to=to: w.desk.tasks.reassign(r, to, a),
                ref,
                SUPERVISORS,
                fresh=True,
                variant=ref,
            )
        )
    cases += [
        Case("tasks.inbox", lambda w, a, r: w.desk.tasks.inbox(a), None, ALL_STAFF, listing=True),
        Case(
            "tasks.inbox",
            lambda w, a, r: w.desk.tasks.inbox(a, filters={"client": [r]}),
            "client",
            ALL_STAFF,
            listing=True,
            variant="client filter",
        ),
        Case(
            "tasks.inbox",
            lambda w, a, r: w.desk.tasks.inbox(a, mine=True),
            None,
            ALL_STAFF,
            listing=True,
            variant="mine",
        ),
    ]
    return cases


def _figures(world: World, ref: Any) -> Any:
    if ref == MISSING["figures"]:
        return world.desk.dashboard.load(
            ADMIN, first_month="2026-09", last_month="2026-10", client_codes=["NOPE"]
        ).total
    return ref


CASES: list[Case] = [
    # intake: a report for client B's person, by someone of client A
    Case(
        "intake.register",
        lambda w, a, r: w.desk.intake.register(for_client(r), a),
        "client",
        ALL_STAFF,
    ),
    Case(
        "intake.register_once",
        lambda w, a, r: w.desk.intake.register_once(
            for_client(r), a, IdempotencyClaim(token_id(w, CLIENT_A), w.unique(), "0" * 64)
        ),
        "client",
        ALL_STAFF,
    ),
    Case(
        "intake.register_within",
        lambda w, a, r: register_within(w, for_client(r), a),
        "client",
        ALL_STAFF,
    ),
    Case(
        "intake.register",
        lambda w, a, r: w.desk.intake.register(ticket_command(CLIENT_A, r), a),
        "person",
        NO_STAFF,  # B's person is not a person of client A, for anyone
        refused=AS_FIELD_ERROR,
        staff_refused=AS_FIELD_ERROR,
        variant="B's person as requester",
    ),
    Case(
        "intake.register",
        lambda w, a, r: w.desk.intake.register(
            ticket_command(CLIENT_A, ACTORS[Role.REQUESTER], site_id=r), a
        ),
        "site",
        NO_STAFF,  # B's site is not a site of client A, for anyone
        refused=AS_FIELD_ERROR,
        staff_refused=AS_FIELD_ERROR,
        variant="B's site",
    ),
    *_task_cases(),
    # read models
    Case("tickets.details", lambda w, a, r: w.desk.tickets.details(r, a), "ticket", ALL_STAFF),
    Case(
        "cockpit.ticket_path", lambda w, a, r: w.desk.cockpit.ticket_path(r, a), "ticket", ALL_STAFF
    ),
    Case(
        "tickets.details",
        lambda w, a, r: w.desk.tickets.details(r, a),
        "unverified_ticket",
        ALL_STAFF,
        variant="unverified",
    ),
    Case(
        "tickets.similar_articles",
        lambda w, a, r: w.desk.tickets.similar_articles(r, a),
        "ticket",
        ALL_STAFF,
    ),
    Case(
        "tickets.authorised_people",
        lambda w, a, r: w.desk.tickets.authorised_people(r, a),
        "client",
        ALL_STAFF,
    ),
    Case(
        "tickets.client_people",
        lambda w, a, r: w.desk.tickets.client_people(r, a),
        "client",
        ALL_STAFF,
    ),
    Case(
        "tickets.clients", lambda w, a, r: w.desk.tickets.clients(a), None, ALL_STAFF, listing=True
    ),
    Case(
        "tickets.colleagues_for",
        lambda w, a, r: w.desk.tickets.colleagues_for("coordinator", a),
        None,
        ALL_STAFF,
        listing=True,
        variant="coordinator",
    ),
    Case(
        "tickets.colleagues_for",
        lambda w, a, r: w.desk.tickets.colleagues_for("requester", a),
        None,
        ALL_STAFF,
        listing=True,
        variant="requester",
    ),
    Case(
        "tickets.engineers",
        lambda w, a, r: w.desk.tickets.engineers(a),
        None,
        ALL_STAFF,
        listing=True,
    ),
    Case(
        "tickets.field_work",
        lambda w, a, r: w.desk.tickets.field_work(a),
        None,
        ALL_STAFF,
        listing=True,
    ),
    Case(
        "tickets.recent",
        lambda w, a, r: w.desk.tickets.recent(a, limit=500),
        None,
        ALL_STAFF,
        listing=True,
    ),
    # comments and files
    Case(
        "collaboration.thread",
        lambda w, a, r: w.desk.collaboration.thread(r, a),
        "ticket",
        ALL_STAFF,
    ),
    Case(
        "collaboration.comment",
        lambda w, a, r: w.desk.collaboration.comment(r, "Isolation probe", a),
        "ticket",
        ALL_STAFF,
    ),
    Case(
        "collaboration.comment",
        lambda w, a, r: w.desk.collaboration.comment(r, "Probe note", a, internal=True),
        "ticket",
        ALL_STAFF,
        variant="internal",
    ),
    Case(
        "collaboration.attach",
        lambda w, a, r: w.desk.collaboration.attach(r, "probe.txt", b"probe", a),
        "ticket",
        ALL_STAFF,
    ),
    Case(
        "collaboration.download",
        lambda w, a, r: w.desk.collaboration.download(r, a),
        "attachment",
        ALL_STAFF,
    ),
    Case(
        "collaboration.download",
        lambda w, a, r: w.desk.collaboration.download(r, a),
        "internal_attachment",
        ALL_STAFF,
        variant="internal",
    ),
    # channels: the sender is the actor, the ticket number in the message is B's
    Case("email.receive", email_to, "ticket", ALL_STAFF, channel=True, check=staff_email_comments),
    Case("sms.receive", sms_to, "ticket", ALL_STAFF, channel=True, check=sms_never_on_bs_ticket),
    # accounts and tokens
    Case(
        "accounts.set_password",
        lambda w, a, r: w.desk.accounts.set_password(r, "another long password", a),
        "person",
        ADMINS,
    ),
    Case(
        "api_access.create_token",
        lambda w, a, r: w.desk.api_access.create_token(r, "probe", a),
        "client",
        ADMINS,
    ),
    # quarantine review
    Case(
        "quarantine.messages",
        lambda w, a, r: w.desk.quarantine.messages(a),
        None,
        SUPERVISORS,
        listing=True,
    ),
    Case("quarantine.raw", lambda w, a, r: w.desk.quarantine.raw(r, a), "message", SUPERVISORS),
    Case(
        "quarantine.release",
        lambda w, a, r: w.desk.quarantine.release(r, a),
        "message",
        SUPERVISORS,
    ),  # a stranger's follow-up stays quarantined: nothing changes
    Case(
        "quarantine.dismiss",
        lambda w, a, r: w.desk.quarantine.dismiss(r, a, "probe"),
        "message",
        SUPERVISORS,
        fresh=True,
    ),
    # requester verification
    Case(
        "verification.candidates",
        lambda w, a, r: w.desk.verification.candidates(r, a),
        "unverified_ticket",
        L1_WORKERS,
    ),
    Case(
        "verification.verify",
        lambda w, a, r: w.desk.verification.verify(r, B_REQUESTER, a),
        "unverified_ticket",
        L1_WORKERS,
        fresh=True,
    ),
    # notices: personal, whoever asks
    Case("notices.mine", lambda w, a, r: w.desk.notices.mine(a), None, ALL_STAFF, listing=True),
    Case("notices.unread", lambda w, a, r: w.desk.notices.unread(a), None, ALL_STAFF, listing=True),
    Case(
        "notices.mark_read",
        lambda w, a, r: w.desk.notices.mark_read(a, [r]),
        "notice",
        ALL_STAFF,
        listing=True,
        check=nothing_marked,
    ),
    # reports and dashboard
    Case(
        "reports.archive",
        lambda w, a, r: w.desk.reports.archive(a, r),
        "client",
        REPORT_READERS,
        listing=True,
    ),
    Case(
        "reports.archive",
        lambda w, a, r: w.desk.reports.archive(a),
        None,
        REPORT_READERS,
        listing=True,
        variant="all",
    ),
    Case(
        "reports.download",
        lambda w, a, r: w.desk.reports.download(r, "pdf", a),
        "report",
        REPORT_READERS,
    ),
    Case(
        "reports.download",
        lambda w, a, r: w.desk.reports.download(r, "csv", a),
        "report",
        REPORT_READERS,
        variant="csv",
    ),
    Case(
        "reports.generate",
        lambda w, a, r: w.desk.reports.generate(r, "2026-09", a),
        "client",
        REPORT_READERS,
    ),  # exists already: returned, not regenerated
    Case(
        "reports.ticket_list_csv",
        lambda w, a, r: w.desk.reports.ticket_list_csv(_figures(w, r), a),
        "figures",
        REPORT_READERS,
    ),
    Case(
        "dashboard.clients",
        lambda w, a, r: w.desk.dashboard.clients(a),
        None,
        REPORT_READERS,
        listing=True,
    ),
    Case(
        "dashboard.load",
        lambda w, a, r: w.desk.dashboard.load(
            a, first_month="2026-09", last_month="2026-10", client_codes=[r]
        ),
        "client",
        REPORT_READERS,
    ),
    # incidents: failed automatic steps, for the lead and admins
    Case(
        "incidents.open_incidents",
        lambda w, a, r: w.desk.incidents.open_incidents(a),
        None,
        SUPERVISORS,
        listing=True,
    ),
    Case(
        "incidents.open_incidents",
        lambda w, a, r: w.desk.incidents.open_incidents(a, client_codes=[r]),
        "client",
        SUPERVISORS,
        listing=True,
        variant="client filter",
    ),
    Case(
        "incidents.retry",
        lambda w, a, r: w.desk.incidents.retry(r, a),
        "incident",
        SUPERVISORS,
        fresh=True,
    ),
    Case(
        "incidents.skip",
        lambda w, a, r: w.desk.incidents.skip(r, a, "probe"),
        "incident",
        SUPERVISORS,
        fresh=True,
    ),
]

NO_CLIENT_OBJECT: dict[str, str] = {
    # Process models are the provider's; no client data, and only deploy tooling calls them.
    "processes.check": "validates a BPMN source; no client object",
    "processes.deploy": "deploys a BPMN source (CLI, admin); no client object",
    "processes.definition": "a deployed model by id: provider data, no client object",
    "processes.source": "a deployed model's source: provider data",
    "processes.versions": "deployed model versions: provider data",
    "processes.validate": "checks a BPMN source (and plays its scenarios on a throw-away desk)",
    # The designer: provider process models only; process owners and admins
    # (tests/integration/test_designer_service.py refuses every other role).
    "designer.process_keys": "process keys with a draft, a version or a bundled model",
    "designer.open": "a process model's draft: provider data",
    "designer.save": "saves a process model draft",
    "designer.validate_draft": "checks a process model draft",
    "designer.deploy": "deploys a process model draft",
    "designer.versions": "deployed model versions: provider data",
    "designer.diff": "what changed between two deployed versions",
    "designer.diff_draft": "what a draft changes against the latest version",
    "cockpit.figures": "counts per process element for staff who see every client (role check)",
    "migrations.plan": "which instances of a version could move: process owners and admins",
    "migrations.migrate": "moves instances between versions: process owners and admins",
    # Authentication: establishes who the actor is, before any question of what they see.
    "accounts.login": "username + password → login ticket; no client object",
    "accounts.redeem": "login ticket → session token",
    "accounts.logout": "revokes the caller's own session token",
    "accounts.person_for": "session token → its person",
    "accounts.person_by_email": "OIDC: the identity provider's e-mail → a person",
    "accounts.session_for": "OIDC: a session for the person the identity provider vouched for",
    "api_access.caller": "API token → the client it acts for (tested by the HTTP matrix)",
    # Provider-level system work: no actor, called by schedulers and workers.
    "timers.run_due": "scheduler: fires due BPMN timers",
    "sla_monitor.scan": "scheduler: fires due SLA alarms",
    "sla_recompute.recompute_open": "CLI after a rule change: recomputes every open ticket",
    "delivery.deliver_due": "outbox worker: sends due notifications",
    "mail_poller.poll": "scheduler: fetches the mailbox (e-mails then go through email.receive)",
    "reports.client_codes": "scheduled monthly run: the clients to report on (no actor)",
    # Provider-level webhook: the client comes from the alert or the receiver URL.
    "alerts.receive": "monitoring webhook with a provider token (see HTTP_EXCLUDED)",
    # Helpers inside a caller's unit of work, reached only through matrix rows.
    "email.reroute_within": "quarantine.release's re-run of a kept e-mail",
    "sms.reroute_within": "quarantine.release's re-run of a kept SMS",
    "sms.kept_text": "the kept text of a recorded SMS row (quarantine review)",
}
"""Public methods that take no client object, each with why. Everything else is a row."""

INFRASTRUCTURE = {
    "settings": "configuration",
    "catalog": "configuration files (SLA tiers, seed)",
    "clock": "the clock",
    "database": "the SQLAlchemy engine",
}
"""Fields of ``Services`` that are not services."""


def service_classes() -> dict[str, type]:
    hints = typing.get_type_hints(Services)
    found = {}
    for field in dataclasses.fields(Services):
        if field.name in INFRASTRUCTURE:
            continue
        kinds = [k for k in (typing.get_args(hints[field.name]) or (hints[field.name],))]
        [cls] = [k for k in kinds if k is not type(None)]
        assert cls.__module__.startswith("itsm.services."), (
            f"Services.{field.name} is neither a service of itsm/services nor listed in "
            "INFRASTRUCTURE"
        )
        found[field.name] = cls
    return found


def public_methods() -> set[str]:
    methods = set()
    for name, cls in service_classes().items():
        for attr, value in inspect.getmembers(cls):
            static = inspect.getattr_static(cls, attr)
            if attr.startswith("_") or isinstance(static, property) or not callable(value):
                continue
            methods.add(f"{name}.{attr}")
    return methods


def test_service_methods_are_all_in_the_matrix() -> None:
    found = public_methods()
    rows = {case.method for case in CASES}
    assert not rows & set(NO_CLIENT_OBJECT), "a method is both a row and allow-listed"
    missing = found - rows - set(NO_CLIENT_OBJECT)
    assert not missing, f"public service methods without a row or an allow-list reason: {missing}"
    stale = (rows | set(NO_CLIENT_OBJECT)) - found
    assert not stale, f"rows for methods that no longer exist: {stale}"


def _ref_pattern(ref: Any) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(str(ref))}(?![\w-])")


def leaked(world: World, text: str, ref: Any = None) -> list[str]:
    """B's markers in ``text``, leaving out the name the caller itself gave."""
    if ref is not None and isinstance(ref, str | int):
        text = _ref_pattern(ref).sub("<ref>", text)
    return sorted(m for m in world.markers if m in text)


def attempt(call: Callable[[], Any]) -> tuple[Any, ItsmError | None]:
    try:
        return call(), None
    except ItsmError as err:  # anything else is a bug and fails the test as it is
        return None, err


def answer(result: Any, error: ItsmError | None, ref: Any) -> tuple[str, str]:
    """What the caller learns, with the name they gave swapped out."""
    if error is not None:
        text, kind = str(error), type(error).__name__
        if isinstance(error, ValidationFailed):
            text += repr([(e.path, e.message) for e in error.errors])
    else:
        text, kind = repr(result), "answer"
    return kind, _ref_pattern(ref).sub("<ref>", text) if ref is not None else text


def described(result: Any, error: ItsmError | None) -> str:
    if error is None:
        return repr(result)
    extra = (
        repr([(e.path, e.message) for e in error.errors])
        if isinstance(error, ValidationFailed)
        else ""
    )
    return f"{type(error).__name__}: {error} {extra}"


CELLS = [pytest.param(case, role, id=f"{case.id}-{role.value}") for case in CASES for role in ROLES]


@pytest.mark.parametrize(("case", "role"), CELLS)
def test_service_entry_point(world: World, case: Case, role: Role) -> None:
    actor = ACTORS[role]
    if role in CLIENT_ROLES:
        check_client_actor(world, case, role, actor)
    else:
        check_staff(world, case, role, actor)


def check_client_actor(world: World, case: Case, role: Role, actor: str) -> None:
    ref = world.refs[case.ref] if case.ref else None
    if case.channel:
        # A's message quoting B's number may become A's own ticket, which then rightly shows
        # the number A wrote: quote a fresh B ticket's, not one the markers know.
        ref = FRESH[case.ref or "ticket"](world)
    before = b_snapshot(world, *([ref] if case.channel else []))
    result, error = attempt(lambda: case.call(world, actor, ref))
    assert not leaked(world, described(result, error), ref), (
        f"{case.id} as {actor} showed client B's data: {described(result, error)[:2000]}"
    )
    if case.channel:
        assert error is None, error
    elif not case.listing:
        assert error is not None, f"{case.id} as {actor} answered for B's object: {result!r}"
    if error is not None:
        assert isinstance(error, case.refused), f"{case.id} as {actor}: {described(None, error)}"
    if case.ref and not case.channel:
        missing = _figures(world, MISSING[case.ref]) if case.ref == "figures" else MISSING[case.ref]
        other = attempt(lambda: case.call(world, actor, missing))
        assert answer(result, error, ref) == answer(*other, missing), (
            f"{case.id} as {actor}: B's object is told apart from a nonexistent one"
        )
    if error is None and case.check is not None:
        case.check(world, role, ref, result)
    after = b_snapshot(world, *([ref] if case.channel else []))
    assert after == before, f"{case.id} as {actor} changed client B's data"


def check_staff(world: World, case: Case, role: Role, actor: str) -> None:
    ref = world.refs[case.ref] if case.ref else None
    if case.fresh and case.ref and role in case.staff:
        ref = FRESH[case.ref](world)  # the call will change it; the refused leave it be
    result, error = attempt(lambda: case.call(world, actor, ref))
    if role in case.staff:
        assert error is None, f"{case.id}: {role.value} {actor} refused: {described(None, error)}"
        if case.check is not None:
            case.check(world, role, ref, result)
    else:
        assert error is not None, f"{case.id}: {role.value} {actor} was expected to be refused"
        assert isinstance(error, case.staff_refused), (
            f"{case.id} as {actor}: {described(None, error)}"
        )


# --- the HTTP API ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Http:
    """One request of client A's token naming an object of client B (``ref``)."""

    method: str
    path: str
    send: Callable[[TestClient, World, dict[str, str], Any], Any]
    ref: str | None
    status: int | None
    """Expected for B's object (and a nonexistent one); None: a listing (200)."""
    variant: str = ""


def _comment(client: TestClient, w: World, auth: dict[str, str], number: Any) -> Any:
    return client.post(f"/api/v1/tickets/{number}/comments", json={"body": "probe"}, headers=auth)


def _comment_as(client: TestClient, w: World, auth: dict[str, str], person: Any) -> Any:
    return client.post(
        f"/api/v1/tickets/{w.a_ticket}/comments",
        json={"body": "probe", "author": person},
        headers=auth,
    )


def _create(client: TestClient, w: World, auth: dict[str, str], **body: Any) -> Any:
    ticket = {"requester": ACTORS[Role.REQUESTER], "subject": "API probe", "description": "x"}
    return client.post("/api/v1/tickets", json={**ticket, **body}, headers=auth)


HTTP_CASES = [
    Http(
        "GET",
        "/api/v1/tickets/{number}",
        lambda c, w, h, r: c.get(f"/api/v1/tickets/{r}", headers=h),
        "ticket",
        404,
    ),
    Http(
        "GET",
        "/api/v1/tickets/{number}",
        lambda c, w, h, r: c.get(f"/api/v1/tickets/{r}", headers=h),
        "unverified_ticket",
        404,
        variant="unverified",
    ),
    Http("POST", "/api/v1/tickets/{number}/comments", _comment, "ticket", 404),
    Http(
        "POST",
        "/api/v1/tickets/{number}/comments",
        _comment_as,
        "person",
        404,
        variant="B's person as author",
    ),
    Http(
        "POST",
        "/api/v1/tickets",
        lambda c, w, h, r: _create(c, w, h, requester=r),
        "person",
        422,
        variant="B's person as requester",
    ),
    Http(
        "GET",
        "/api/v1/tickets",
        lambda c, w, h, r: c.get("/api/v1/tickets?limit=200", headers=h),
        None,
        None,
    ),
]
HTTP_EXCLUDED = {
    ("POST", "/api/v1/webhooks/sms"): "provider-level gateway token, no client token accepted",
    ("POST", "/api/v1/webhooks/alertmanager"): "provider-level monitoring token",
    ("GET", "/openapi.json"): "API description: no client data",
    ("HEAD", "/openapi.json"): "API description: no client data",
    ("GET", "/docs"): "documentation page",
    ("HEAD", "/docs"): "documentation page",
    ("GET", "/docs/oauth2-redirect"): "documentation page",
    ("HEAD", "/docs/oauth2-redirect"): "documentation page",
    ("GET", "/redoc"): "documentation page",
    ("HEAD", "/redoc"): "documentation page",
}
"""Routes that name no client object, each with why (the webhooks are checked below)."""


@pytest.fixture
def api(world: World) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    def bearer(code: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {world.tokens[code]}"}

    with TestClient(create_api(world.desk), raise_server_exceptions=True) as client:
        yield client, bearer(CLIENT_A), bearer(CLIENT_B)


def test_http_routes_are_all_in_the_matrix(world: World) -> None:
    found = {
        (method, route.path)  # type: ignore[attr-defined]
        for route in create_api(world.desk).routes
        for method in getattr(route, "methods", None) or ()
    }
    covered = {(case.method, case.path) for case in HTTP_CASES} | set(HTTP_EXCLUDED)
    assert found - covered == set(), f"routes without a row or a reason: {found - covered}"
    assert covered - found == set(), f"rows for routes that no longer exist: {covered - found}"


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{c.method} {c.path} {c.variant}".strip()) for c in HTTP_CASES]
)
def test_http_route(world: World, api: Any, case: Http) -> None:
    client, acme, _ = api
    ref = world.refs[case.ref] if case.ref else None
    before = b_snapshot(world)
    response = case.send(client, world, acme, ref)
    assert not leaked(world, response.text, ref), f"B's data in {response.text[:2000]}"
    if case.status is None:
        assert response.status_code == 200, response.text
        assert world.a_ticket in response.text  # the listing works, for A's own tickets
    else:
        assert response.status_code == case.status, response.text
        assert case.ref is not None
        missing = case.send(client, world, acme, MISSING[case.ref])
        assert missing.status_code == case.status
        assert _ref_pattern(ref).sub("<ref>", response.text) == _ref_pattern(MISSING[case.ref]).sub(
            "<ref>", missing.text
        )
    assert b_snapshot(world) == before


def test_http_idempotency_keys_are_per_token(world: World, api: Any) -> None:
    """B's key and body, replayed with A's token, make A's own ticket, never return B's."""
    client, acme, balt = api
    body = {"requester": B_REQUESTER, "subject": "Replayed request", "description": "same"}
    key = {"Idempotency-Key": f"shared-{world.unique()}"}
    first = client.post("/api/v1/tickets", json=body, headers={**balt, **key})
    assert first.status_code == 201, first.text
    replay = client.post("/api/v1/tickets", json=body, headers={**acme, **key})
    assert replay.status_code == 422, replay.text  # B's person is nobody at client A
    assert first.json()["number"] not in replay.text
    own = {**body, "requester": ACTORS[Role.REQUESTER]}
    mine = client.post("/api/v1/tickets", json=own, headers={**acme, **key})
    assert mine.status_code == 201 and mine.json()["number"] != first.json()["number"]
    assert "Idempotent-Replayed" not in mine.headers


@pytest.mark.parametrize("path", ["/api/v1/webhooks/sms", "/api/v1/webhooks/alertmanager"])
def test_http_webhooks_refuse_client_tokens(world: World, api: Any, path: str) -> None:
    client, acme, _ = api
    response = client.post(path, json={}, headers=acme)
    assert response.status_code == 401 and not leaked(world, response.text)


# --- the workbench pages --------------------------------------------------------------------

APP = str(PROJECT_ROOT / "ui" / "app.py")
VIEWS = PROJECT_ROOT / "ui"


def all_pages() -> list[navigation.MenuEntry]:
    entries = {entry for menu in navigation.MENUS.values() for entry in menu}
    entries |= set(navigation.HIDDEN)
    entries |= {v for v in vars(navigation).values() if isinstance(v, navigation.MenuEntry)}
    return sorted(entries, key=lambda entry: entry.script)


PAGE_OBJECTS: dict[str, tuple[str, list[str]]] = {
    "views/ticket.py": ("ticket", ["ticket", "unverified_ticket"]),
    "views/task.py": ("task", ["held_task", "approval_task", "confirm_task"]),
}
"""Pages that open one object from the query string: each of B's objects of that kind."""

NOT_VISIBLE = ("not visible to you", "not found", "does not exist")


def page_params(world: World, script: str) -> list[tuple[str, dict[str, str]]]:
    """Query strings naming B's objects: every page gets all of them (pages ignore the rest)."""
    base = {
        "ticket": world.refs["ticket"],
        "task": world.refs["held_task"],
        "report": str(world.refs["report"]),
        "message": str(world.refs["message"]),
        "client": CLIENT_B,
    }
    if script not in PAGE_OBJECTS:
        return [("", base)]
    key, kinds = PAGE_OBJECTS[script]
    return [(kind, {**base, key: str(world.refs[kind])}) for kind in kinds]


def rendered(at: AppTest) -> str:
    """Everything the page put on screen, main area and sidebar, as protobuf text."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@pytest.fixture(scope="module")
def app_world(world: World) -> Iterator[World]:
    """The workbench's own services on the world's database (as ui/session.py builds them)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ITSM_DATABASE_URL", str(world.desk.database.url))
        patch.setenv("ITSM_ATTACHMENTS_DIR", str(world.desk.settings.attachments_dir))
        patch.setenv("ITSM_SECRET_KEY", "test-only-secret")
        session.services.cache_clear()
        session.cookie_signer.cache_clear()
        yield world
        session.services().close()
        session.services.cache_clear()


def logged_in(username: str, params: dict[str, str], script: str = APP) -> AppTest:
    at = AppTest.from_file(script, default_timeout=30)
    app_services = session.services()
    with app_services.unit_of_work(read_only=True) as uow:
        person = uow.directory.person_by_username(username)
    at.session_state[session.TOKEN_KEY] = app_services.accounts.session_for(person, "test")
    at.session_state["person"] = person  # what app.py puts there for the page scripts
    for key, value in params.items():
        at.query_params[key] = value
    return at


def page_scripts() -> list[str]:
    """Every page of ui/navigation.py, hidden ones included, and every other script in
    ui/views (a page only some settings register, one not in the menu yet): all of them."""
    scripts = {entry.script for entry in all_pages()}
    scripts |= {f"views/{p.name}" for p in (VIEWS / "views").glob("*.py")}
    return sorted(scripts - {"views/__init__.py", "views/login.py"})  # login: no one yet


def page_cells() -> list[Any]:
    return [
        pytest.param(script, role, id=f"{Path(script).stem}-{role.value}")
        for script in page_scripts()
        for role in sorted(CLIENT_ROLES)
    ]


REFUSALS = {f"itsm.domain.errors.{e.__name__}" for e in (NotFound, PermissionDenied)}


def reachable(role: Role, script: str) -> bool:
    return script in {e.script for e in (*navigation.MENUS[role], *navigation.HIDDEN)}


@pytest.mark.parametrize("role", sorted(CLIENT_ROLES))
def test_pages_outside_the_menu_cannot_be_opened(app_world: World, role: Role) -> None:
    """Streamlit's navigation knows only the role's pages: the others do not exist for them."""
    at = logged_in(ACTORS[role], {"ticket": app_world.refs["ticket"]})
    at.run()
    assert not leaked(app_world, rendered(at))
    for script in page_scripts():
        if not reachable(role, script):
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(script)


@pytest.mark.parametrize(("script", "role"), page_cells())
def test_page(app_world: World, script: str, role: Role) -> None:
    """Opened as client A's person with B's objects in the query string, a page shows none
    of B's data, and a page opening one object says it is not visible.

    A page in the role's menu is opened through the app, as a browser would; one outside it
    cannot be opened at all (above), and is run on its own as if the menu let it through:
    it must still show nothing of B's — the services refuse, not the menu. Such a run may
    end in the services' refusal (PermissionDenied, NotFound), never in another error."""
    world = app_world
    through_app = reachable(role, script)
    for kind, params in page_params(world, script):
        if through_app:
            at = logged_in(ACTORS[role], params)
            at.run()  # the landing page; switching before a first run is not reliable
            at.switch_page(script)
        else:
            at = logged_in(ACTORS[role], params, str(VIEWS / script))
        at.run()
        where = f"{script} ({kind or 'all of B'}) as {role.value}"
        screen = rendered(at)
        assert not leaked(world, screen), f"{where}: {screen[:3000]}"
        crashes = [e.proto.type for e in at.exception]
        if through_app:
            assert not crashes, f"{where} crashed: {[e.message for e in at.exception]}"
        else:
            assert set(crashes) <= REFUSALS, f"{where} crashed: {crashes}"
        if through_app:  # the page really ran, as A's person
            assert at.title or at.error, f"{where}: nothing rendered"
        if script == "views/my_tickets.py":  # the page of A's own tickets lists them
            assert world.a_ticket in screen, f"{where}: A's own ticket is missing"
        if script in PAGE_OBJECTS:
            errors = " ".join(e.value for e in at.error).lower()
            assert any(n in errors for n in NOT_VISIBLE), f"{where}: no refusal: {errors!r}"


def test_requesters_see_only_their_own_tasks(world: World) -> None:
    """Within one client too: a colleague's ticket looks nonexistent to a requester
    (``ensure_can_see_ticket``), and so do its tasks — found by this matrix's review."""
    desk, anna = world.desk, ACTORS[Role.REQUESTER]
    colleague = register(desk, "marcin.wieczorek", subject="Colleague's private problem")
    task_id, engineer = open_task(desk, colleague, "l1_triage")
    desk.tasks.complete(task_id, VALID_L1, engineer or "")
    confirm, _ = open_task(desk, colleague, "confirm_resolution")
    for each in (task_id, confirm):
        for look in (desk.tasks.open, desk.tasks.task, desk.tasks.form):
            with pytest.raises(NotFound, match=f"task {each} not found"):
                look(each, anna)
    own_task, _ = open_task(desk, world.a_ticket, "l1_triage")
    assert desk.tasks.open(own_task, anna).ticket.number == world.a_ticket  # her own ticket's
    assert desk.tasks.open(confirm, "robert.pawlak").ticket.number == colleague  # coordinator
