"""A reply to a closed ticket: kept as a comment, and the engineer (or the leads) told; the
writer gets no automatic answer."""

from __future__ import annotations

from typing import Any

from itsm.bootstrap import Services
from itsm.channels.rendering import TemplateRenderer
from itsm.clock import ManualClock
from itsm.scenarios import ScenarioPlayer, load_scenarios
from itsm.services.closed_ticket_replies import REPLY_TO_CLOSED
from itsm.settings import PROJECT_ROOT
from tasks.notifications import TEMPLATES
from tests.integration.conftest import text_mail

ADMIN = "lukasz.kwiatkowski"
ANNA = "Anna Kowalska <anna.kowalska@acme.example>"
ANNAS_PHONE = "+48 501 200 311"
L1_RESOLVE = load_scenarios(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json")["l1_resolve"]


def mail(subject: str, message_id: str, body: str, sender: str = ANNA) -> bytes:
    return text_mail(sender=sender, subject=subject, message_id=message_id, body=body)


def closed_ticket(desk: Services, clock: ManualClock) -> str:
    """Anna's e-mailed ticket, resolved at 1st line and confirmed by her."""
    number = desk.email.receive(
        mail("Outlook will not start", "t1@acme.example", "Since this morning"), received_via="t"
    ).ticket_number
    assert number is not None
    ScenarioPlayer(desk, clock).play(L1_RESOLVE, number, max_steps=2)
    assert desk.tickets.details(number, ADMIN).ticket.status.value == "closed"
    return number


def messages_about(desk: Services, number: str, template: str) -> list[dict[str, Any]]:
    notifications = desk.tickets.details(number, ADMIN).notifications
    return [m for m in notifications if m["template"] == template]


def test_mail_to_a_closed_ticket_is_kept_and_the_engineer_is_told(
    desk: Services, clock: ManualClock
) -> None:
    number = closed_ticket(desk, clock)
    before = desk.tickets.details(number, ADMIN)
    assert before.assignee is not None
    to_anna = [m for m in before.notifications if "anna" in m["recipient"]]

    reply = desk.email.receive(
        mail(f"RE: [{number}] Outlook", "t2@acme.example", "It is broken again"),
        received_via="t",
    )
    assert (reply.outcome, reply.ticket_number) == ("comment_added", number)
    after = desk.tickets.details(number, ADMIN)
    comments, _ = desk.collaboration.thread(number, ADMIN)
    assert [c["body"] for c in comments] == ["It is broken again"]
    assert after.ticket.status.value == "closed"  # nothing reopened by itself
    [event] = [e for e in after.timeline if e["kind"] == "reply_after_close"]
    assert event["actor"] == "anna.kowalska" and event["payload"]["channel"] == "e-mail"
    assert event["payload"]["told"] == [before.assignee.username]
    [told] = messages_about(desk, number, REPLY_TO_CLOSED)
    assert told["recipient"] == before.assignee.email
    assert told["context"]["message"] == "It is broken again"
    # No automatic answer to the writer: nothing new is queued for Anna.
    assert [m for m in after.notifications if "anna" in m["recipient"]] == to_anna

    rendered = TemplateRenderer().render(REPLY_TO_CLOSED, told["language"], told["context"])
    assert number in rendered.subject and "It is broken again" in rendered.body
    assert REPLY_TO_CLOSED in TEMPLATES


def test_sms_naming_a_closed_ticket_without_an_engineer_tells_the_leads(
    desk: Services, clock: ManualClock
) -> None:
    number = closed_ticket(desk, clock)
    with desk.unit_of_work() as uow:  # e.g. the engineer's account was removed
        ticket = uow.tickets.get_by_number(number)
        uow.tickets.update(ticket.id, clock.now(), assignee_id=None)
        uow.commit()
    result = desk.sms.receive(ANNAS_PHONE, f"{number} still broken", "g-1")
    assert (result.outcome, result.ticket_number) == ("comment_added", number)
    told = messages_about(desk, number, REPLY_TO_CLOSED)
    assert [m["recipient"] for m in told] == ["ewa.kozlowska@nordserv.example"]
    [event] = [
        e for e in desk.tickets.details(number, ADMIN).timeline if e["kind"] == "reply_after_close"
    ]
    assert event["payload"]["channel"] == "SMS" and event["payload"]["told"] == ["ewa.kozlowska"]


def test_the_engineer_writing_to_their_own_closed_ticket_is_not_told(
    desk: Services, clock: ManualClock
) -> None:
    number = closed_ticket(desk, clock)
    engineer = desk.tickets.details(number, ADMIN).assignee
    assert engineer is not None and engineer.email
    desk.email.receive(
        mail(f"[{number}] note", "t3@nordserv.example", "Called her back", f"X <{engineer.email}>"),
        received_via="t",
    )
    assert messages_about(desk, number, REPLY_TO_CLOSED) == []
    timeline = desk.tickets.details(number, ADMIN).timeline
    assert [e["payload"]["told"] for e in timeline if e["kind"] == "reply_after_close"] == [[]]


def test_replies_to_open_tickets_notify_nobody_extra(desk: Services) -> None:
    number = desk.email.receive(
        mail("VPN drops", "o1@acme.example", "Every hour"), received_via="t"
    ).ticket_number
    desk.email.receive(mail(f"RE: [{number}] VPN", "o2@acme.example", "Still"), received_via="t")
    desk.sms.receive(ANNAS_PHONE, f"{number} and again", "g-2")
    assert number is not None
    assert messages_about(desk, number, REPLY_TO_CLOSED) == []
    kinds = [e["kind"] for e in desk.tickets.details(number, ADMIN).timeline]
    assert "reply_after_close" not in kinds
