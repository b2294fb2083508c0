"""E-mail intake: one raw message → a ticket, a comment on its ticket, or a recorded refusal.

Every message is handled in one transaction and recorded once in ``inbound_messages``
(channel "email", keyed by Message-ID), so a second delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsm.domain.commands import NewTicket
from itsm.domain.directory import Person
from itsm.domain.errors import ConflictError, ItsmError, NotFound
from itsm.domain.inbound_email import DuplicateMessage, EmailAttachment, ParsedEmail, Rejected
from itsm.domain.tickets import Category, Channel, Ticket
from itsm.faults import fault_point
from itsm.services.closed_ticket_replies import tell_about_reply_after_close
from itsm.services.collaboration import BlobStore, safe_display_name
from itsm.services.intake import IntakeService
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

CHANNEL = "email"

EmailParser = Callable[[bytes], ParsedEmail | Rejected]
"""Turns raw bytes into a ParsedEmail (``itsm.channels.email_message.parse_email``)."""


@dataclass(frozen=True)
class InboundResult:
    """ticket_created | comment_added | ignored | quarantined | rejected | duplicate."""

    outcome: str
    ticket_number: str | None
    reason: str
    message_id: str = ""


_CATEGORY_WORDS: tuple[tuple[Category, tuple[str, ...]], ...] = (
    (
        Category.ACCOUNT_ACCESS,
        ("password", "hasło", "haslo", "locked out", "zablokowane konto", "login", "logowanie"),
    ),
    (Category.NETWORK, ("vpn", "wifi", "wi-fi", "network", "sieć", "siec", "internet")),
    (
        Category.HARDWARE,
        ("printer", "drukark", "laptop", "monitor", "keyboard", "klawiatur", "toner"),
    ),
    (Category.SOFTWARE, ("outlook", "excel", "install", "instalac", "application", "aplikac")),
)

_QUOTE_START = re.compile(
    r"^(?:-{2,}\s*(?:original message|oryginalna wiadomość|ursprüngliche nachricht)\s*-{2,}"
    r"|on .{1,200} wrote:|w dniu .{1,200} pisze:|am .{1,200} schrieb .{0,200}:"
    r"|from: .+@.+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def guess_category(subject: str) -> Category:
    """Question, unless the subject clearly names something else."""
    lowered = subject.lower()
    for category, words in _CATEGORY_WORDS:
        if any(word in lowered for word in words):
            return category
    return Category.QUESTION


def reply_text(body: str) -> str:
    """The new part of a reply: quoted lines and the quoted original are left out."""
    match = _QUOTE_START.search(body)
    head = body[: match.start()] if match else body
    lines = [line for line in head.splitlines() if not line.lstrip().startswith(">")]
    text = "\n".join(lines).strip()
    return text or body.strip()


class EmailIntake:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        intake: IntakeService,
        blobs: BlobStore,
        clock: Clock,
        parse: EmailParser,
        *,
        ticket_prefix: str,
        tickets_per_sender_per_hour: int = 20,
        max_attachment_bytes: int = 10_000_000,
    ) -> None:
        self._uow = uow
        self._intake = intake
        self._blobs = blobs
        self._clock = clock
        self._parse = parse
        self._per_hour = tickets_per_sender_per_hour
        self._max_attachment = max_attachment_bytes
        self._number = re.compile(
            rf"(?<![\w-])({re.escape(ticket_prefix)}-\d{{4}}-\d{{6}})(?!\w)", re.IGNORECASE
        )

    def receive(self, raw: bytes, *, received_via: str) -> InboundResult:
        parsed = self._parse(raw)
        if isinstance(parsed, Rejected):
            return self._reject(raw, parsed.reason, received_via)
        digest = self._blobs.put(raw)
        fault_point("email.parsed")  # parsed and kept as a blob, nothing recorded yet
        try:
            return self._handle(parsed, digest, received_via)
        except DuplicateMessage as err:
            # A concurrent delivery of the same message committed first; ours rolled back.
            return InboundResult("duplicate", None, str(err), parsed.message_id)
        except ConflictError:
            raise
        except (ItsmError, ValueError) as err:  # ValueError: pydantic's ValidationError
            # The ticket could not be registered (e.g. no process deployed): nothing of it
            # was kept, but the message is, for a person to look at.
            return self._record_only(
                parsed, digest, "quarantined", f"could not register: {err}", received_via
            )

    # --- the one transaction ---------------------------------------------------------------

    def _handle(self, mail: ParsedEmail, digest: str, via: str) -> InboundResult:
        with self._uow() as uow:
            known = uow.inbound.find(CHANNEL, mail.message_id)
            if known is not None:
                return self._duplicate(uow, mail, known)
            now = self._clock.now()
            result, ticket_id = self._route(uow, mail, now, via)
            self._record(uow, mail, digest, result, ticket_id, now)
            uow.commit()
            return result

    def reroute_within(
        self, uow: UnitOfWork, raw: bytes, *, external_id: str, via: str
    ) -> tuple[InboundResult, int | None]:
        """Route a kept original once more, inside the caller's unit of work (a quarantined
        message released by a reviewer): the same parsing, threading and identity rules as
        on arrival. The caller updates the message's existing record and commits; register
        errors propagate to it."""
        parsed = self._parse(raw)
        if isinstance(parsed, Rejected):
            return InboundResult("quarantined", None, parsed.reason), None
        if parsed.message_id != external_id:
            raise ConflictError(
                f"the stored original has Message-ID {parsed.message_id}, not {external_id}"
            )
        return self._route(uow, parsed, self._clock.now(), via)

    def _route(
        self, uow: UnitOfWork, mail: ParsedEmail, now: datetime, via: str
    ) -> tuple[InboundResult, int | None]:
        if mail.is_automatic:
            return InboundResult("ignored", None, mail.automatic_reason, mail.message_id), None
        ticket = self._thread_ticket(uow, mail)
        if ticket is not None:
            return self._follow_up(uow, mail, ticket, now, via)
        return self._new_ticket(uow, mail, now, via)

    def _follow_up(
        self, uow: UnitOfWork, mail: ParsedEmail, ticket: Ticket, now: datetime, via: str
    ) -> tuple[InboundResult, int | None]:
        author = self._allowed_author(uow, mail.from_address, ticket)
        if author is None:
            reason = (
                f"sender {mail.from_address} is not the requester, a person of the ticket's "
                f"client or provider staff; nothing was added to {ticket.number}"
            )
            return InboundResult("quarantined", ticket.number, reason, mail.message_id), ticket.id
        text = reply_text(mail.body_text) or mail.subject or "(empty e-mail)"
        uow.comments.add(
            ticket_id=ticket.id,
            author_id=author.id,
            body=text[:20_000],
            internal=False,
            created_at=now,
        )
        events = [
            self._event(
                now,
                author.username,
                "comment",
                ticket.id,
                text[:120],
                {"channel": CHANNEL, "message_id": mail.message_id, "received_via": via},
            )
        ]
        skipped = self._attach(uow, mail.attachments, ticket.id, author, now, events)
        uow.audit.record_many(events)
        tell_about_reply_after_close(uow, now, ticket, author, "e-mail", text)
        reason = f"comment by {author.username}" + self._skipped_note(mail, skipped)
        return InboundResult("comment_added", ticket.number, reason, mail.message_id), ticket.id

    def _new_ticket(
        self, uow: UnitOfWork, mail: ParsedEmail, now: datetime, via: str
    ) -> tuple[InboundResult, int | None]:
        people: list[Person] = uow.inbound.people_by_email(mail.from_address)
        requester = next((p for p in people if p.client_id is not None), None)
        if requester is None:
            reason = f"sender {mail.from_address} is not a known person of any client"
            if people:
                reason += " (provider staff: write to a ticket by its number)"
            return InboundResult("quarantined", None, reason, mail.message_id), None
        recent = uow.inbound.count_since(
            CHANNEL, mail.from_address, "ticket_created", now - timedelta(hours=1)
        )
        if recent >= self._per_hour:
            reason = (
                f"sender {mail.from_address} opened {recent} tickets by e-mail in the last "
                f"hour (limit {self._per_hour})"
            )
            return InboundResult("quarantined", None, reason, mail.message_id), None
        client = uow.directory.client(requester.client_id)
        subject = mail.subject.strip() or "(no subject)"
        if len(subject) < 3:
            subject = f"E-mail: {subject}"
        command = NewTicket(
            client_code=client.code,
            requester=requester.username,
            channel=Channel.EMAIL,
            category=guess_category(subject),
            subject=subject[:300],
            description=(mail.body_text.strip() or subject)[:20_000],
        )
        ticket = self._intake.register_within(uow, command, requester.username)
        events: list[dict[str, Any]] = []
        skipped = self._attach(uow, mail.attachments, ticket.id, requester, now, events)
        events.append(
            self._event(
                now,
                requester.username,
                "email_received",
                ticket.id,
                f"E-mail {mail.message_id}"[:120],
                {"message_id": mail.message_id, "received_via": via},
            )
        )
        uow.audit.record_many(events)
        reason = f"requester {requester.username}" + self._skipped_note(mail, skipped)
        return InboundResult("ticket_created", ticket.number, reason, mail.message_id), ticket.id

    # --- helpers -------------------------------------------------------------------------------

    def _thread_ticket(self, uow: UnitOfWork, mail: ParsedEmail) -> Ticket | None:
        for number in self._number.findall(mail.subject):
            try:
                ticket: Ticket = uow.tickets.get_by_number(number.upper())
            except NotFound:
                continue
            return ticket
        ids = list(
            dict.fromkeys(
                [*([mail.in_reply_to] if mail.in_reply_to else []), *reversed(mail.references)]
            )
        )
        ticket_id = uow.inbound.ticket_for_external_ids(CHANNEL, ids)
        if ticket_id is None:
            ticket_id = uow.inbound.ticket_for_outbox_ids(ids)
        if ticket_id is None:
            return None
        found: Ticket = uow.tickets.get(ticket_id)
        return found

    @staticmethod
    def _allowed_author(uow: UnitOfWork, address: str, ticket: Ticket) -> Person | None:
        people: list[Person] = uow.inbound.people_by_email(address)
        for rule in (
            lambda p: p.id == ticket.requester_id,
            lambda p: p.client_id == ticket.client_id,
            lambda p: p.client_id is None,
        ):
            for person in people:
                if rule(person):
                    return person
        return None

    def _attach(
        self,
        uow: UnitOfWork,
        attachments: Sequence[EmailAttachment],
        ticket_id: int,
        person: Person,
        now: datetime,
        events: list[dict[str, Any]],
    ) -> list[str]:
        skipped: list[str] = []
        for attachment in attachments:
            name = safe_display_name(attachment.filename)
            if not attachment.content or len(attachment.content) > self._max_attachment:
                skipped.append(name)
                continue
            digest = self._blobs.put(attachment.content)
            uow.attachments.add(
                ticket_id=ticket_id,
                sha256=digest,
                size=len(attachment.content),
                display_name=name,
                media_type=attachment.media_type[:120] or "application/octet-stream",
                uploaded_by_id=person.id,
                internal=False,
                created_at=now,
            )
            events.append(
                self._event(
                    now,
                    person.username,
                    "attachment",
                    ticket_id,
                    f"Attached {name}",
                    {"size": len(attachment.content), "sha256": digest, "channel": CHANNEL},
                )
            )
        return skipped

    @staticmethod
    def _skipped_note(mail: ParsedEmail, skipped: list[str]) -> str:
        names = [*mail.skipped_attachments, *skipped]
        return f"; attachments not kept (too large or empty): {', '.join(names)}" if names else ""

    @staticmethod
    def _event(
        at: datetime, actor: str, kind: str, ticket_id: int, summary: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "occurred_at": at,
            "actor": actor,
            "kind": kind,
            "ticket_id": ticket_id,
            "summary": summary,
            "payload": payload,
        }

    @staticmethod
    def _record(
        uow: UnitOfWork,
        mail: ParsedEmail,
        digest: str | None,
        result: InboundResult,
        ticket_id: int | None,
        now: datetime,
    ) -> None:
        uow.inbound.add(
            channel=CHANNEL,
            external_id=mail.message_id,
            sender=mail.from_address[:320],
            subject=mail.subject[:400],
            received_at=now,
            outcome=result.outcome,
            reason=result.reason,
            ticket_id=ticket_id,
            raw_sha256=digest,
            size=mail.size,
        )

    def _duplicate(
        self, uow: UnitOfWork, mail: ParsedEmail, known: dict[str, Any]
    ) -> InboundResult:
        number = None
        if known.get("ticket_id") is not None:
            number = uow.tickets.get(known["ticket_id"]).number
        reason = f"Message-ID {mail.message_id} was received already ({known['outcome']})"
        return InboundResult("duplicate", number, reason, mail.message_id)

    def _record_only(
        self, mail: ParsedEmail, digest: str, outcome: str, reason: str, via: str
    ) -> InboundResult:
        result = InboundResult(outcome, None, reason, mail.message_id)
        try:
            with self._uow() as uow:
                if uow.inbound.find(CHANNEL, mail.message_id) is not None:
                    return InboundResult("duplicate", None, reason, mail.message_id)
                self._record(uow, mail, digest, result, None, self._clock.now())
                uow.commit()
        except DuplicateMessage:
            return InboundResult("duplicate", None, reason, mail.message_id)
        return result

    def _reject(self, raw: bytes, reason: str, via: str) -> InboundResult:
        """Not a message at all. Kept (when not oversized) so nobody's mail silently vanishes."""
        if "larger than the limit" in reason or not raw or raw.isspace():  # strip() copies
            return InboundResult("rejected", None, reason)
        message_id = f"sha256-{hashlib.sha256(raw).hexdigest()}@itsm.invalid"
        stub = ParsedEmail(
            message_id=message_id,
            in_reply_to=None,
            references=[],
            from_address="",
            from_name="",
            subject="",
            body_text="",
            size=len(raw),
        )
        digest = self._blobs.put(raw)
        try:
            return self._record_only(stub, digest, "rejected", reason, via)
        except DuplicateMessage:
            return InboundResult("duplicate", None, reason, message_id)
