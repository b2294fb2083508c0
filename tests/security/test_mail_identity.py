"""E-mail identity and loops (issue 7, item 7), beyond tests/integration/test_email_intake.py.

* Only the requester, a person of the ticket's client or provider staff may add to a ticket
  by e-mail, however the message threads onto it (number in the subject, In-Reply-To,
  References, a reply to our own notification); everyone else is quarantined with the
  ticket named and nothing appended.
* Identity is the ``From`` address of an active person: never ``Reply-To``, ``Sender``, a
  display name or a second address.
* Automatic mail — every auto-reply and bounce of the external corpus, and the variants
  without ``Auto-Submitted`` — creates nothing and sends nothing back, whether it comes
  as a new message or as a reply to a ticket. The control message without those marks
  does get an answer, so "nothing sent" means something.
* ``ITSM_EMAIL_TICKETS_PER_SENDER_PER_HOUR`` caps new tickets per sender: the next one is
  quarantined with the reason and can be released later.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.services.email_intake import InboundResult
from itsm.storage import tables
from tests.conftest import EXTERNAL_DIR, START, build_desk, resent_as

ANNA = "anna.kowalska@acme.example"  # requester of ACME
COLLEAGUE = "robert.pawlak@acme.example"  # ACME's IT coordinator
OTHER_CLIENT = "andrzej.majewski@baltyk.example"  # a requester of BALT
STAFF = "jan.nowak@nordserv.example"
STRANGER = "mallory@evil.example"
LEAD = "ewa.kozlowska"


def mail(
    sender: str,
    message_id: str,
    *,
    subject: str = "Printer on floor 2 jams",
    body: str = "It jams on every second page.",
    extra: str = "",
) -> bytes:
    head = (
        f"From: {sender}\r\nTo: desk@nordserv.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 05 Oct 2026 09:00:00 +0200\r\n"
    )
    if extra:
        head += extra.rstrip("\r\n") + "\r\n"
    head += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    return (head + body + "\r\n").encode()


def with_attachment(raw: bytes, name: str, data: bytes) -> bytes:
    """The same message as multipart/mixed with one attachment."""
    head, _, body = raw.partition(b"\r\n\r\n")
    head = re.sub(rb"Content-Type: [^\r]*", b'Content-Type: multipart/mixed; boundary="b"', head)
    return (
        head
        + b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body
        + b"\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        + f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'.encode()
        + data
        + b"\r\n--b--\r\n"
    )


def receive(desk: Services, raw: bytes) -> InboundResult:
    return desk.email.receive(raw, received_via="test")


def rows(desk: Services, table: str, **where: object) -> int:
    target = tables.metadata.tables[table]
    query = select(func.count()).select_from(target)
    for column, value in where.items():
        query = query.where(target.c[column] == value)
    with desk.database.connect() as connection:
        return int(connection.execute(query).scalar_one())


def ticket_id(desk: Services, number: str) -> int:
    with desk.unit_of_work(read_only=True) as uow:
        return int(uow.tickets.get_by_number(number).id)


def state(desk: Services) -> dict[str, int]:
    """What a message could have changed: tickets, comments, attachments, sent mail."""
    return {name: rows(desk, name) for name in ("tickets", "comments", "attachments", "outbox")}


def new_ticket(desk: Services, message_id: str) -> str:
    result = receive(desk, mail(ANNA, message_id))
    assert result.outcome == "ticket_created" and result.ticket_number, result
    return result.ticket_number


def notification_id(desk: Services, number: str) -> str:
    """The Message-ID of a notification we sent about the ticket (its registration)."""
    with desk.unit_of_work(read_only=True) as uow:
        sent = uow.outbox.for_ticket(ticket_id(desk, number))
    emails = [row for row in sent if row["channel"] == "email"]
    assert emails, "registering the ticket sent no e-mail: the loop tests would prove nothing"
    return str(emails[0]["message_id"])


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Services]:
    """One seeded desk (SQLite) for the module: every test checks its own delta. No hourly
    limit here; the limit's own test below runs on both databases."""
    folder = tmp_path_factory.mktemp("mail-identity")
    shutil.copy(sqlite_template, folder / "itsm.db")
    desk, _ = build_desk(
        f"sqlite:///{folder / 'itsm.db'}",
        ManualClock(START),
        email_tickets_per_sender_per_hour=1_000_000,
    )
    yield desk
    desk.close()


_SEQUENCE = iter(range(1, 1_000_000))


def unique(label: str) -> str:
    return f"{label}-{next(_SEQUENCE)}@x.example"


# --- follow-ups from outsiders ---------------------------------------------------------------


THREADING = {
    "number in the subject": lambda number, first, ours: {"subject": f"RE: [{number}] update"},
    "In-Reply-To": lambda number, first, ours: {"extra": f"In-Reply-To: <{first}>"},
    "References": lambda number, first, ours: {
        "subject": "Re: update",
        "extra": f"References: <unrelated@x.example> <{first}>",
    },
    "reply to our notification": lambda number, first, ours: {"extra": f"In-Reply-To: {ours}"},
}


@pytest.mark.parametrize("threading", list(THREADING))
@pytest.mark.parametrize("sender", [STRANGER, OTHER_CLIENT, "former employee"])
def test_a_follow_up_from_an_outsider_is_quarantined_and_adds_nothing(
    desk: Services, threading: str, sender: str
) -> None:
    first = unique("first")
    number = new_ticket(desk, first)
    if sender == "former employee":
        # Marcin has left ACME: his address no longer identifies anyone.
        with desk.database.begin() as connection:
            connection.execute(
                update(tables.people)
                .where(tables.people.c.username == "marcin.wieczorek")
                .values(active=False)
            )
        sender = "marcin.wieczorek@acme.example"
    headers = THREADING[threading](number, first, notification_id(desk, number))
    outsider = unique("outsider")
    raw = with_attachment(
        mail(sender, outsider, body="Please wire the invoice.", **headers),
        "invoice.pdf",
        b"%PDF-1.4 not what it seems",
    )
    before = state(desk)

    result = receive(desk, raw)

    assert (result.outcome, result.ticket_number) == ("quarantined", number), result
    assert f"nothing was added to {number}" in result.reason
    assert state(desk) == before  # no comment, no attachment, no answer to the sender
    with desk.unit_of_work(read_only=True) as uow:
        row = uow.inbound.find("email", outsider)
    assert row is not None and row["outcome"] == "quarantined" and row["raw_sha256"]
    assert row["ticket_id"] == ticket_id(desk, number)  # for the reviewer, not the ticket


@pytest.mark.parametrize(
    ("sender", "author"),
    [(ANNA, "Anna Kowalska"), (COLLEAGUE, "Robert Pawlak"), (STAFF, "Jan Nowak")],
)
def test_the_requester_colleagues_and_staff_may_follow_up(
    desk: Services, sender: str, author: str
) -> None:
    number = new_ticket(desk, unique("first"))
    result = receive(desk, mail(sender, unique("insider"), subject=f"Re: [{number}] update"))
    assert (result.outcome, result.ticket_number) == ("comment_added", number), result
    comments, _ = desk.collaboration.thread(number, "jan.nowak")
    assert [c["author_name"] for c in comments] == [author]


# --- identity is From, nothing else ----------------------------------------------------------


@pytest.mark.parametrize(
    ("from_header", "extra"),
    [
        (STRANGER, f"Reply-To: {ANNA}"),
        (STRANGER, f"Sender: {ANNA}"),
        (f'"{ANNA}" <{STRANGER}>', ""),
        (f"{STRANGER}, {ANNA}", ""),
        (f"Mallory <{STRANGER}>", f"Reply-To: Anna <{ANNA}>\r\nReturn-Path: <{ANNA}>"),
    ],
    ids=["Reply-To", "Sender", "display name", "second From address", "Return-Path"],
)
def test_only_the_from_address_identifies_the_sender(
    desk: Services, from_header: str, extra: str
) -> None:
    number = new_ticket(desk, unique("first"))
    before = state(desk)
    fresh = receive(desk, mail(from_header, unique("spoof-new"), extra=extra))
    follow_up = receive(
        desk, mail(from_header, unique("spoof-reply"), subject=f"Re: [{number}]", extra=extra)
    )
    assert (fresh.outcome, fresh.ticket_number) == ("quarantined", None), fresh
    assert STRANGER in fresh.reason and ANNA not in fresh.reason
    assert (follow_up.outcome, follow_up.ticket_number) == ("quarantined", number), follow_up
    assert state(desk) == before


def test_answers_go_to_the_directory_address_never_to_reply_to(desk: Services) -> None:
    result = receive(desk, mail(ANNA, unique("rt"), extra=f"Reply-To: {STRANGER}"))
    assert result.outcome == "ticket_created" and result.ticket_number
    with desk.unit_of_work(read_only=True) as uow:
        sent = uow.outbox.for_ticket(ticket_id(desk, result.ticket_number))
        requester = uow.directory.person_by_username("anna.kowalska")
    recipients = {row["recipient"] for row in sent if row["channel"] == "email"}
    assert recipients == {requester.email}


# --- automatic mail: nothing created, nothing sent back --------------------------------------


def _as_anna(raw: bytes, message_id: str, extra: bytes = b"") -> bytes:
    """A corpus message as if a known requester's mail system had sent it."""
    return resent_as(raw, f"Anna Kowalska <{ANNA}>", message_id, extra)


AUTOREPLY_BOUNCE = sorted((EXTERNAL_DIR / "email" / "autoreply-bounce").glob("*.eml"))

CRAFTED = {
    # Outlook's out-of-office answer carries no Auto-Submitted and a normal Return-Path.
    "Outlook Automatic reply": {"subject": "Automatic reply: Printer on floor 2 jams"},
    "vacation X-Autoreply": {"subject": "On vacation", "extra": "X-Autoreply: yes"},
    "Precedence bulk": {"extra": "Precedence: bulk"},
    "Precedence list": {"extra": "Precedence: list"},
    "Precedence junk": {"extra": "Precedence: junk"},
    "null Return-Path": {"extra": "Return-Path: <>"},
    "Auto-Submitted": {"extra": "Auto-Submitted: auto-replied"},
}


def automatic_message(case: str, message_id: str, thread: str = "") -> bytes:
    """One automatic message from Anna's address; ``thread`` makes it a reply."""
    if case in CRAFTED:
        spec = dict(CRAFTED[case])
        extra = "\r\n".join(filter(None, [spec.pop("extra", ""), thread]))
        return mail(ANNA, message_id, extra=extra, **spec)
    raw = (EXTERNAL_DIR / "email" / "autoreply-bounce" / case).read_bytes()
    return _as_anna(raw, message_id, thread.encode())


CASES = [*(path.name for path in AUTOREPLY_BOUNCE), *CRAFTED]


def test_the_corpus_has_the_automatic_mail_this_table_expects(external: Path) -> None:
    assert len(AUTOREPLY_BOUNCE) >= 8, AUTOREPLY_BOUNCE


@pytest.mark.parametrize("case", CASES)
def test_automatic_mail_creates_nothing_and_sends_nothing_back(
    desk: Services, external: Path, case: str
) -> None:
    slug = re.sub(r"\W+", "-", case)
    number = new_ticket(desk, f"control-{slug}@acme.example")
    ours = notification_id(desk, number)
    before = state(desk)

    as_new = receive(desk, automatic_message(case, f"auto-new-{slug}@acme.example"))
    as_reply = receive(
        desk,
        automatic_message(case, f"auto-reply-{slug}@acme.example", f"In-Reply-To: {ours}"),
    )

    for result in (as_new, as_reply):
        assert result.outcome == "ignored", (case, result)
        assert result.reason and result.ticket_number is None, (case, result)
    assert state(desk) == before, case  # no ticket, no comment, no outbox row: no loop
    with desk.unit_of_work(read_only=True) as uow:
        recorded = uow.inbound.find("email", f"auto-reply-{slug}@acme.example")
    assert recorded is not None and recorded["outcome"] == "ignored"


def test_the_same_mail_without_the_automatic_marks_is_answered(desk: Services) -> None:
    """The control: an ordinary message from the same sender opens a ticket and is answered
    by e-mail — exactly what an undetected auto-reply would do, once per round trip."""
    before = rows(desk, "outbox")
    result = receive(desk, mail(ANNA, unique("ordinary"), subject="Vacation question"))
    assert result.outcome == "ticket_created"
    assert rows(desk, "outbox") > before


# --- new tickets per sender per hour ---------------------------------------------------------


@pytest.fixture
def limited_desk(
    database_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    monkeypatch.setenv("ITSM_EMAIL_TICKETS_PER_SENDER_PER_HOUR", "3")
    limited, _ = build_desk(database_url, clock)
    assert limited.settings.email_tickets_per_sender_per_hour == 3
    yield limited
    limited.close()


def test_the_ticket_after_the_hourly_limit_is_quarantined_with_the_reason(
    limited_desk: Services, clock: ManualClock
) -> None:
    desk = limited_desk
    created = []
    for index in range(3):
        clock.advance(timedelta(minutes=5))
        result = receive(desk, mail(ANNA, f"rate{index}@acme.example", subject=f"Issue {index}"))
        assert result.outcome == "ticket_created", result
        created.append(result.ticket_number)
    before = state(desk)

    # The same sender, however the address is written.
    clock.advance(timedelta(minutes=5))
    over = receive(desk, mail(ANNA.upper(), "rate3@acme.example", subject="Issue 3"))
    assert (over.outcome, over.ticket_number) == ("quarantined", None), over
    assert over.reason == (f"sender {ANNA} opened 3 tickets by e-mail in the last hour (limit 3)")
    assert state(desk) == before  # no ticket and no acknowledgement
    with desk.unit_of_work(read_only=True) as uow:
        row = uow.inbound.find("email", "rate3@acme.example")
    assert row is not None and row["outcome"] == "quarantined" and row["reason"] == over.reason

    # The limit is per sender and on new tickets only: a colleague may still open one, and
    # Anna may still write to her own tickets.
    colleague = receive(desk, mail(COLLEAGUE, "rate-colleague@acme.example", subject="Other"))
    reply = receive(desk, mail(ANNA, "rate-reply@acme.example", subject=f"Re: [{created[0]}] more"))
    assert (colleague.outcome, reply.outcome) == ("ticket_created", "comment_added")

    # A refusal does not count: an hour after the first ticket one slot is free again, and
    # the reviewer can release the kept message into it.
    clock.advance(timedelta(minutes=46))
    with desk.unit_of_work(read_only=True) as uow:
        held = uow.inbound.find("email", "rate3@acme.example")
    assert held is not None
    released = desk.quarantine.release(int(held["id"]), LEAD)
    assert released.outcome == "ticket_created", released
    after = receive(desk, mail(ANNA, "rate4@acme.example", subject="Issue 4"))
    assert after.outcome == "quarantined", after
