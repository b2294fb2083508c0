"""SMS from the gateway webhook → a ticket, or a comment when it names the sender's ticket.

The sender is matched to a person by phone number (digits only, country prefix optional);
each gateway message id is handled once, and its text is kept in the blob store. A number
nobody has becomes a ticket with an unverified requester when the gateway says which client
it serves (``?client=``, one gateway number per client); otherwise it is kept as a
quarantined message: never lost, never guessed onto a client.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from itsm.domain.commands import NewTicket
from itsm.domain.directory import Client, Person
from itsm.domain.errors import FieldError, NotFound, ValidationFailed
from itsm.domain.inbound_email import DuplicateMessage
from itsm.domain.tickets import Channel, Ticket
from itsm.services.closed_ticket_replies import tell_about_reply_after_close
from itsm.services.collaboration import BlobStore
from itsm.services.intake import IntakeService
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from itsm.services.requester_verification import unverified_requester

CHANNEL = "sms"
SMS_ACTOR = "system:sms"
"""Who registers a report nobody could be identified for: the gateway, not a person."""
_KEPT_TEXT = "; text kept: "
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
    def __init__(
        self, uow: UnitOfWorkFactory, intake: IntakeService, clock: Clock, blobs: BlobStore
    ) -> None:
        self._uow = uow
        self._intake = intake
        self._clock = clock
        self._blobs = blobs

    def receive(
        self,
        sender: str,
        text: str,
        gateway_id: str | None = None,
        *,
        client_code: str | None = None,
    ) -> SmsResult:
        """``client_code``: the client whose gateway number received it, if the gateway says
        so; it only matters for numbers that belong to nobody."""
        body = text.strip()
        if not body:
            raise ValidationFailed([FieldError("text", "the message is empty")])
        if len(phone_key(sender)) < 6:
            raise ValidationFailed([FieldError("from", "not a phone number")])
        external_id = gateway_id or hashlib.sha256(f"{sender}\0{body}".encode()).hexdigest()
        try:
            with self._uow() as uow:
                # A wrong ?client= is the gateway's misconfiguration: refused loudly, for
                # every message, rather than quietly quarantining the strangers' ones.
                gateway_client = _gateway_client(uow, client_code)
                if uow.inbound.find(CHANNEL, external_id) is not None:
                    return SmsResult("duplicate", None)
                result = self._handle(uow, sender, body, gateway_client)
                uow.inbound.add(
                    channel=CHANNEL,
                    external_id=external_id,
                    sender=sender[:320],
                    subject=body[:400],
                    received_at=self._clock.now(),
                    outcome=result.outcome,
                    reason=result.reason or body,
                    ticket_id=self._ticket_id(uow, result.ticket_number),
                    # The text exactly as received, for a reviewer to release or download.
                    raw_sha256=self._blobs.put(body.encode()),
                    size=len(body.encode()),
                )
                uow.commit()
                return result
        except DuplicateMessage:
            return SmsResult("duplicate", None)

    def reroute_within(
        self, uow: UnitOfWork, message: dict[str, Any]
    ) -> tuple[SmsResult, int | None]:
        """Handle a recorded (quarantined) SMS once more inside the caller's unit of work, by
        the same rules as on arrival; the caller updates its record and commits."""
        result = self._handle(uow, message["sender"], self.kept_text(message), None)
        return result, self._ticket_id(uow, result.ticket_number)

    def kept_text(self, message: dict[str, Any]) -> str:
        """The full text of a recorded SMS: from the blob store, or, for messages recorded
        before the text was stored there, from the end of their quarantine reason."""
        if message.get("raw_sha256"):
            return self._blobs.get(message["raw_sha256"]).decode()
        reason: str = message["reason"]
        if _KEPT_TEXT in reason:
            return reason.split(_KEPT_TEXT, 1)[1]
        return str(message["subject"])  # the first 400 characters, all there is

    def _handle(
        self, uow: UnitOfWork, sender: str, body: str, gateway_client: Client | None
    ) -> SmsResult:
        person = self._person(uow, sender)
        if person is None:
            if gateway_client is not None:
                return self._unverified_ticket(uow, sender, body, gateway_client)
            return SmsResult(
                "quarantined",
                None,
                f"number {sender} belongs to no known person and the gateway named no "
                f"client{_KEPT_TEXT}{body}",
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
                tell_about_reply_after_close(uow, self._clock.now(), ticket, person, "SMS", body)
                return SmsResult("comment_added", ticket.number)
        client = uow.directory.client(person.client_id)
        ticket = self._intake.register_within(
            uow, _new_ticket(client, person.username, body), person.username
        )
        return SmsResult("ticket_created", ticket.number)

    def _unverified_ticket(
        self, uow: UnitOfWork, sender: str, body: str, client: Client
    ) -> SmsResult:
        """A report from a number nobody has, to the client's gateway: a ticket whose
        requester is the client's stand-in until staff verify who wrote. The stand-in has no
        e-mail or phone, so nobody is answered automatically (the number could be anyone's).

        The process starts with the stand-in's username as ``requester_username``: there is
        no one else to put there, and the tasks it assigns (confirm, provide information) then
        wait for someone who cannot log in rather than for a guess. Verification rewrites the
        variable and moves those tasks to the real person (``requester_verification.py``)."""
        stand_in = unverified_requester(uow, client)
        ticket = self._intake.register_within(
            uow, _new_ticket(client, stand_in.username, body), SMS_ACTOR
        )
        now = self._clock.now()
        uow.tickets.update(ticket.id, now, requester_verified=False, reported_contact=sender)
        uow.audit.record(
            ticket_id=ticket.id,
            actor=SMS_ACTOR,
            kind="requester_unverified",
            summary=f"Reported by SMS from {sender}, a number of nobody known: verify the "
            "requester",
            at=now,
            reported_contact=sender,
            channel=CHANNEL,
        )
        return SmsResult(
            "ticket_created", ticket.number, f"unverified number {sender}; text: {body}"
        )

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


def _gateway_client(uow: UnitOfWork, client_code: str | None) -> Client | None:
    if not client_code:
        return None
    try:
        client: Client = uow.directory.client_by_code(client_code)
    except NotFound as err:
        raise ValidationFailed(
            [FieldError("client", f"no client has the code '{client_code}'")]
        ) from err
    return client


def _new_ticket(client: Client, requester: str, body: str) -> NewTicket:
    return NewTicket.model_validate(
        {
            "client_code": client.code,
            "requester": requester,
            "channel": Channel.SMS,
            "category": "question",
            "subject": (body.splitlines()[0][:120] or "SMS").ljust(3, "."),
            "description": body,
        }
    )
