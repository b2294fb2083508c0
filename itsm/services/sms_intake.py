"""SMS from the gateway webhook → a ticket, or a comment when it names the sender's ticket.

The sender is matched to a person by phone number (digits only, country prefix optional);
each gateway message id is handled once. A number nobody has is kept as a quarantined
message with its full text: never lost, never guessed onto a client.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from itsm.domain.commands import NewTicket
from itsm.domain.directory import Person
from itsm.domain.errors import FieldError, NotFound, ValidationFailed
from itsm.domain.inbound_email import DuplicateMessage
from itsm.domain.tickets import Channel, Ticket
from itsm.services.intake import IntakeService
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

CHANNEL = "sms"
_NUMBER = re.compile(r"\b([A-Z]{1,8}-\d{4}-\d{6})\b")


def phone_key(number: str) -> str:
    """The last nine digits: "+48 501-200-311", "0048501200311" and "501200311" agree."""
    return re.sub(r"\D", "", number)[-9:]


@dataclass(frozen=True)
class SmsResult:
    outcome: str  # ticket_created | comment_added | quarantined | duplicate
    ticket_number: str | None
    reason: str = ""


class SmsIntake:
    def __init__(self, uow: UnitOfWorkFactory, intake: IntakeService, clock: Clock) -> None:
        self._uow = uow
        self._intake = intake
        self._clock = clock

    def receive(self, sender: str, text: str, gateway_id: str | None = None) -> SmsResult:
        body = text.strip()
        if not body:
            raise ValidationFailed([FieldError("text", "the message is empty")])
        if len(phone_key(sender)) < 6:
            raise ValidationFailed([FieldError("from", "not a phone number")])
        external_id = gateway_id or hashlib.sha256(f"{sender}\0{body}".encode()).hexdigest()
        try:
            with self._uow() as uow:
                if uow.inbound.find(CHANNEL, external_id) is not None:
                    return SmsResult("duplicate", None)
                result = self._handle(uow, sender, body)
                uow.inbound.add(
                    channel=CHANNEL,
                    external_id=external_id,
                    sender=sender[:320],
                    subject=body[:400],
                    received_at=self._clock.now(),
                    outcome=result.outcome,
                    reason=result.reason or body,
                    ticket_id=self._ticket_id(uow, result.ticket_number),
                    size=len(body.encode()),
                )
                uow.commit()
                return result
        except DuplicateMessage:
            return SmsResult("duplicate", None)

    def _handle(self, uow: UnitOfWork, sender: str, body: str) -> SmsResult:
        person = self._person(uow, sender)
        if person is None:
            return SmsResult(
                "quarantined",
                None,
                f"number {sender} belongs to no known person; text kept: {body}",
            )
        mentioned = _NUMBER.search(body)
        if mentioned:
            ticket = self._visible_ticket(uow, person, mentioned.group(1))
            if ticket is not None:
                uow.comments.add(
                    ticket_id=ticket.id,
                    author_id=person.id,
                    body=body,
                    internal=False,
                    created_at=self._clock.now(),
                )
                uow.audit.record(
                    ticket_id=ticket.id,
                    actor=person.username,
                    kind="comment",
                    summary=f"SMS: {body[:100]}",
                    at=self._clock.now(),
                    channel=CHANNEL,
                )
                return SmsResult("comment_added", ticket.number)
        client = uow.directory.client(person.client_id)
        command = NewTicket.model_validate(
            {
                "client_code": client.code,
                "requester": person.username,
                "channel": Channel.SMS,
                "category": "question",
                "subject": (body.splitlines()[0][:120] or "SMS").ljust(3, "."),
                "description": body,
            }
        )
        ticket = self._intake.register_within(uow, command, person.username)
        return SmsResult("ticket_created", ticket.number)

    @staticmethod
    def _person(uow: UnitOfWork, sender: str) -> Person | None:
        key = phone_key(sender)
        matches = [
            p
            for p in uow.directory.people()
            if p.client_id is not None and p.phone and phone_key(p.phone) == key
        ]
        return matches[0] if len(matches) == 1 else None

    @staticmethod
    def _visible_ticket(uow: UnitOfWork, person: Person, number: str) -> Ticket | None:
        try:
            ticket: Ticket = uow.tickets.get_by_number(number)
            ensure_can_see_ticket(person, ticket)
        except NotFound:
            return None
        return ticket

    @staticmethod
    def _ticket_id(uow: UnitOfWork, number: str | None) -> int | None:
        return None if number is None else int(uow.tickets.get_by_number(number).id)
