"""The lead reviews quarantine: a message tried again becomes what intake makes of it, in its
own record; a dismissed one is kept with who and why."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from itsm.bootstrap import Services
from itsm.domain.errors import ConflictError, PermissionDenied, ValidationFailed
from itsm.storage import tables
from tests.integration.conftest import text_mail

LEAD = "ewa.kozlowska"
ADMIN = "lukasz.kwiatkowski"
ENGINEER = "jan.nowak"
NEWCOMER = "Nina Nowicka <nina.nowicka@acme.example>"


def mail(
    *,
    sender: str = NEWCOMER,
    subject: str = "Printer on floor 2 jams",
    message_id: str = "n1@acme.example",
    body: str = "It jams on every second page.",
) -> bytes:
    return text_mail(sender=sender, subject=subject, message_id=message_id, body=body)


def add_acme_person(desk: Services, username: str, **contact: str) -> None:
    with desk.unit_of_work() as uow:
        acme = uow.directory.client_by_code("ACME")
        uow.directory.add_person(
            username=username,
            full_name=username.title(),
            role="requester",
            client_id=acme.id,
            **contact,
        )
        uow.commit()


def quarantined_id(desk: Services, channel: str, external_id: str) -> int:
    with desk.unit_of_work(read_only=True) as uow:
        row = uow.inbound.find(channel, external_id)
    assert row is not None and row["outcome"] == "quarantined", row
    return int(row["id"])


def row(desk: Services, message_id: int) -> dict[str, Any]:
    with desk.unit_of_work(read_only=True) as uow:
        found: dict[str, Any] = uow.inbound.get(message_id)
    return found


def totals(desk: Services) -> tuple[int, int]:
    with desk.unit_of_work(read_only=True) as uow:
        return uow.tickets.count(), uow.inbound.count()


def test_released_mail_becomes_a_ticket_in_its_own_record(desk: Services) -> None:
    assert desk.email.receive(mail(), received_via="test").outcome == "quarantined"
    message_id = quarantined_id(desk, "email", "n1@acme.example")
    add_acme_person(desk, "nina.nowicka", email="nina.nowicka@acme.example")

    outcome = desk.quarantine.release(message_id, LEAD)
    assert outcome.outcome == "ticket_created" and outcome.ticket_number
    assert totals(desk) == (1, 1)  # the one message, now with its ticket: no second record
    record = row(desk, message_id)
    details = desk.tickets.details(outcome.ticket_number, ADMIN)
    assert record["outcome"] == "ticket_created" and record["ticket_id"] == details.ticket.id
    assert record["reviewed_by"] == LEAD and record["reviewed_at"] is not None
    assert "not a known person" in record["reason"]  # why it was set aside stays on record
    assert details.requester.username == "nina.nowicka"
    assert details.ticket.subject == "Printer on floor 2 jams"
    [event] = [e for e in details.timeline if e["kind"] == "quarantine_released"]
    assert event["actor"] == LEAD and event["payload"]["message_id"] == message_id
    assert desk.quarantine.messages(LEAD) == []

    with pytest.raises(ConflictError, match="not quarantined"):
        desk.quarantine.release(message_id, ADMIN)
    assert desk.email.receive(mail(), received_via="test").outcome == "duplicate"
    assert totals(desk) == (1, 1)


def test_a_message_that_would_still_be_quarantined_changes_nothing(desk: Services) -> None:
    desk.email.receive(mail(), received_via="test")
    message_id = quarantined_id(desk, "email", "n1@acme.example")
    before = row(desk, message_id)
    outcome = desk.quarantine.release(message_id, LEAD)
    assert outcome.outcome == "quarantined" and "not a known person" in outcome.reason
    assert row(desk, message_id) == before
    assert totals(desk) == (0, 1)


def test_a_strangers_follow_up_released_becomes_the_comment(desk: Services) -> None:
    first = desk.email.receive(
        mail(sender="Anna Kowalska <anna.kowalska@acme.example>", message_id="a1@acme.example"),
        received_via="test",
    )
    number = first.ticket_number
    assert number is not None
    reply = mail(subject=f"RE: [{number}] printer", message_id="n2@acme.example", body="Me too")
    assert desk.email.receive(reply, received_via="test").outcome == "quarantined"
    message_id = quarantined_id(desk, "email", "n2@acme.example")
    add_acme_person(desk, "nina.nowicka", email="nina.nowicka@acme.example")

    outcome = desk.quarantine.release(message_id, ADMIN)
    assert (outcome.outcome, outcome.ticket_number) == ("comment_added", number)
    comments, _ = desk.collaboration.thread(number, ADMIN)
    assert [(c["author_name"], c["body"]) for c in comments] == [("Nina.Nowicka", "Me too")]
    assert row(desk, message_id)["outcome"] == "comment_added"
    assert totals(desk) == (1, 2)


def test_released_sms_uses_its_kept_text(desk: Services) -> None:
    text = "Scanner in room 12 says 'paper jam' but there is no paper in it at all"
    assert desk.sms.receive("+48 733 000 111", text, "s-1").outcome == "quarantined"
    message_id = quarantined_id(desk, "sms", "s-1")
    download = desk.quarantine.raw(message_id, LEAD)
    assert download.data == text.encode() and download.display_name.endswith(".txt")
    add_acme_person(desk, "nina.nowicka", phone="733-000-111")

    outcome = desk.quarantine.release(message_id, LEAD)
    assert outcome.outcome == "ticket_created" and outcome.ticket_number
    details = desk.tickets.details(outcome.ticket_number, ADMIN)
    assert details.requester.username == "nina.nowicka" and details.ticket.description == text
    assert details.ticket.channel.value == "sms" and details.ticket.requester_verified
    assert row(desk, message_id)["ticket_id"] == details.ticket.id
    assert totals(desk) == (1, 1)


def test_sms_recorded_before_texts_were_stored_is_released_from_its_reason(
    desk: Services,
) -> None:
    text = "x" * 450  # longer than the 400 characters a subject keeps
    desk.sms.receive("+48 733 000 111", text, "s-old")
    message_id = quarantined_id(desk, "sms", "s-old")
    with desk.database.begin() as connection:  # as rows written before the blob store kept it
        connection.execute(
            update(tables.inbound_messages)
            .where(tables.inbound_messages.c.id == message_id)
            .values(raw_sha256=None)
        )
    add_acme_person(desk, "nina.nowicka", phone="+48 733 000 111")
    number = desk.quarantine.release(message_id, LEAD).ticket_number
    assert number is not None
    assert desk.tickets.details(number, ADMIN).ticket.description == text


def test_dismissed_with_who_and_why(desk: Services) -> None:
    desk.email.receive(mail(), received_via="test")
    message_id = quarantined_id(desk, "email", "n1@acme.example")
    before = row(desk, message_id)
    with pytest.raises(ValidationFailed, match="say why"):
        desk.quarantine.dismiss(message_id, LEAD, "   ")
    assert row(desk, message_id) == before

    outcome = desk.quarantine.dismiss(message_id, LEAD, "Newsletter sign-up, not a request")
    assert outcome.outcome == "dismissed"
    record = row(desk, message_id)
    assert record["outcome"] == "dismissed" and record["reviewed_by"] == LEAD
    assert record["review_note"] == "Newsletter sign-up, not a request"
    assert record["reason"] == before["reason"] and record["raw_sha256"] == before["raw_sha256"]
    assert desk.quarantine.messages(LEAD) == []
    with pytest.raises(ConflictError, match=r"dismissed by ewa\.kozlowska"):
        desk.quarantine.release(message_id, LEAD)
    with pytest.raises(ConflictError):
        desk.quarantine.dismiss(message_id, ADMIN, "again")
    assert desk.quarantine.raw(message_id, LEAD).data == mail()  # the original is still kept


def test_only_the_lead_and_admins_review(desk: Services) -> None:
    desk.email.receive(mail(), received_via="test")
    message_id = quarantined_id(desk, "email", "n1@acme.example")
    add_acme_person(desk, "nina.nowicka", email="nina.nowicka@acme.example")
    before = row(desk, message_id)
    for actor in (ENGINEER, "anna.kowalska", "marek.jankowski"):
        with pytest.raises(PermissionDenied):
            desk.quarantine.release(message_id, actor)
        with pytest.raises(PermissionDenied):
            desk.quarantine.dismiss(message_id, actor, "spam")
    assert row(desk, message_id) == before
    assert totals(desk) == (0, 1)
