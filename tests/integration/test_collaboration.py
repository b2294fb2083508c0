"""Comments and attachments: limits, safe names, storage by content, who sees what."""

from __future__ import annotations

import hashlib

import pytest

from itsm.bootstrap import Services
from itsm.domain.commands import NewTicket
from itsm.domain.errors import NotFound, PermissionDenied, ValidationFailed
from itsm.services.collaboration import safe_display_name


def ticket(desk: Services, requester: str = "anna.kowalska", client: str = "ACME") -> str:
    command = NewTicket(
        client_code=client,
        requester=requester,
        channel="portal",
        category="software",
        subject="Invoice export fails",
        description="-",
    )
    return desk.intake.register(command, requester).number


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\anna\\secret.xlsx", "secret.xlsx"),
        ("<script>alert(1)</script>.html", "script_.html"),
        ("faktura_ąę.pdf", "faktura_ąę.pdf"),
        ("...", "attachment"),
    ],
)
def test_display_names_are_safe(given: str, shown: str) -> None:
    assert safe_display_name(given) == shown


def test_attachment_is_stored_by_content_and_downloaded_by_the_right_people(
    sqlite_desk: Services,
) -> None:
    number = ticket(sqlite_desk)
    data = b"%PDF-1.4 invoice"
    attachment_id = sqlite_desk.collaboration.attach(
        number, "../inv.pdf", data, "anna.kowalska", media_type="text/html"
    )
    digest = hashlib.sha256(data).hexdigest()
    stored = sqlite_desk.settings.attachments_dir / digest[:2] / digest
    assert stored.read_bytes() == data
    download = sqlite_desk.collaboration.download(attachment_id, "jan.nowak")
    assert (download.display_name, download.data) == ("inv.pdf", data)
    with pytest.raises(NotFound):
        sqlite_desk.collaboration.download(attachment_id, "andrzej.majewski")  # other client
    with pytest.raises(NotFound):
        sqlite_desk.collaboration.download(attachment_id, "marcin.wieczorek")  # not his ticket


def test_oversized_and_empty_files_are_refused(sqlite_desk: Services) -> None:
    number = ticket(sqlite_desk)
    limit = sqlite_desk.settings.max_attachment_bytes
    with pytest.raises(ValidationFailed, match="larger than the limit"):
        sqlite_desk.collaboration.attach(number, "big.iso", b"x" * (limit + 1), "anna.kowalska")
    with pytest.raises(ValidationFailed, match="empty"):
        sqlite_desk.collaboration.attach(number, "nothing.txt", b"", "anna.kowalska")
    _, files = sqlite_desk.collaboration.thread(number, "jan.nowak")
    assert files == []


def test_internal_notes_and_files_stay_with_the_service_desk(sqlite_desk: Services) -> None:
    number = ticket(sqlite_desk)
    sqlite_desk.collaboration.comment(number, "Please restart and retry", "jan.nowak")
    sqlite_desk.collaboration.comment(number, "Known bug in v4.2", "jan.nowak", internal=True)
    note_file = sqlite_desk.collaboration.attach(
        number, "trace.log", b"trace", "jan.nowak", internal=True
    )
    with pytest.raises(PermissionDenied):
        sqlite_desk.collaboration.comment(number, "me too", "anna.kowalska", internal=True)
    client_comments, client_files = sqlite_desk.collaboration.thread(number, "anna.kowalska")
    staff_comments, staff_files = sqlite_desk.collaboration.thread(number, "jan.nowak")
    assert [c["body"] for c in client_comments] == ["Please restart and retry"]
    assert len(staff_comments) == 2 and client_files == [] and len(staff_files) == 1
    with pytest.raises(NotFound):
        sqlite_desk.collaboration.download(note_file, "anna.kowalska")
    kinds = [e["kind"] for e in sqlite_desk.tickets.details(number, "jan.nowak").timeline]
    assert kinds.count("comment") == 1 and kinds.count("internal_note") == 1


def test_blank_comments_are_refused(sqlite_desk: Services) -> None:
    number = ticket(sqlite_desk)
    with pytest.raises(ValidationFailed, match="write something"):
        sqlite_desk.collaboration.comment(number, "   ", "anna.kowalska")


def test_requesters_report_only_for_themselves(sqlite_desk: Services) -> None:
    command = NewTicket(
        client_code="ACME",
        requester="marcin.wieczorek",
        channel="portal",
        category="question",
        subject="On behalf",
        description="-",
    )
    with pytest.raises(PermissionDenied, match="only report tickets for yourself"):
        sqlite_desk.intake.register(command, "anna.kowalska")
    assert sqlite_desk.intake.register(command, "robert.pawlak").number  # the coordinator may


def test_sessions_expire_and_logout_revokes(sqlite_desk: Services, clock: object) -> None:
    from datetime import timedelta

    from itsm.services.accounts import InvalidCredentials

    sqlite_desk.accounts.set_password("jan.nowak", "long enough secret", "jan.nowak")
    with pytest.raises(InvalidCredentials):
        sqlite_desk.accounts.login("jan.nowak", "wrong secret!!")
    with pytest.raises(InvalidCredentials):
        sqlite_desk.accounts.login("nobody.here", "long enough secret")
    ticket = sqlite_desk.accounts.login("jan.nowak", "long enough secret")
    token = sqlite_desk.accounts.redeem(ticket)
    assert token and sqlite_desk.accounts.redeem(ticket) is None  # single use
    person = sqlite_desk.accounts.person_for(token)
    assert person is not None and person.username == "jan.nowak"
    clock.advance(timedelta(hours=13))  # type: ignore[attr-defined]
    assert sqlite_desk.accounts.person_for(token) is None
    fresh = sqlite_desk.accounts.redeem(
        sqlite_desk.accounts.login("jan.nowak", "long enough secret")
    )
    sqlite_desk.accounts.logout(fresh or "")
    assert sqlite_desk.accounts.person_for(fresh) is None
    with pytest.raises(ValidationFailed, match="at least 10"):
        sqlite_desk.accounts.set_password("jan.nowak", "short", "jan.nowak")
    with pytest.raises(PermissionDenied, match="only an admin"):
        sqlite_desk.accounts.set_password("anna.kowalska", "long enough secret", "jan.nowak")
