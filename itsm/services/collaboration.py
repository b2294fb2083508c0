"""Comments and attachments on a ticket, with internal notes hidden from the client's people."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from itsm.domain.directory import Person
from itsm.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from itsm.domain.tickets import Ticket
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...

    def get(self, digest: str) -> bytes: ...


@dataclass(frozen=True)
class Download:
    display_name: str
    data: bytes


_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_display_name(name: str) -> str:
    """A name fit to show and to offer as a download name: no paths, controls or markup."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "attachment"
    return cleaned[:120]


class Collaboration:
    def __init__(
        self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock, max_attachment_bytes: int
    ) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._max_bytes = max_attachment_bytes

    def comment(self, number: str, body: str, actor: str, *, internal: bool = False) -> None:
        text = body.strip()
        if not text:
            raise ValidationFailed([FieldError("body", "write something first")])
        if len(text) > 20_000:
            raise ValidationFailed([FieldError("body", "at most 20,000 characters")])
        with self._uow() as uow:
            person, ticket = self._visible(uow, number, actor)
            self._check_internal(person, internal)
            now = self._clock.now()
            uow.comments.add(
                ticket_id=ticket.id,
                author_id=person.id,
                body=text,
                internal=internal,
                created_at=now,
            )
            kind = "internal_note" if internal else "comment"
            uow.audit.record(
                ticket_id=ticket.id, actor=actor, kind=kind, summary=text[:120], at=now
            )
            uow.commit()

    def attach(
        self,
        number: str,
        filename: str,
        data: bytes,
        actor: str,
        *,
        media_type: str = "application/octet-stream",
        internal: bool = False,
    ) -> int:
        if not data:
            raise ValidationFailed([FieldError("file", "the file is empty")])
        if len(data) > self._max_bytes:
            raise ValidationFailed(
                [FieldError("file", f"larger than the limit of {self._max_bytes // 1_000_000} MB")]
            )
        with self._uow() as uow:
            person, ticket = self._visible(uow, number, actor)
            self._check_internal(person, internal)
            digest = self._blobs.put(data)
            now = self._clock.now()
            name = safe_display_name(filename)
            attachment_id: int = uow.attachments.add(
                ticket_id=ticket.id,
                sha256=digest,
                size=len(data),
                display_name=name,
                media_type=media_type[:120] or "application/octet-stream",
                uploaded_by_id=person.id,
                internal=internal,
                created_at=now,
            )
            uow.audit.record(
                ticket_id=ticket.id,
                actor=actor,
                kind="attachment",
                summary=f"Attached {name}",
                at=now,
                size=len(data),
                sha256=digest,
            )
            uow.commit()
        return attachment_id

    def thread(self, number: str, actor: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Comments and attachments the actor may see, oldest first."""
        with self._uow(read_only=True) as uow:
            person, ticket = self._visible(uow, number, actor)
            staff = person.client_id is None
            return (
                uow.comments.for_ticket(ticket.id, include_internal=staff),
                uow.attachments.for_ticket(ticket.id, include_internal=staff),
            )

    def download(self, attachment_id: int, actor: str) -> Download:
        with self._uow(read_only=True) as uow:
            row = uow.attachments.get(attachment_id)
            person: Person = uow.directory.person_by_username(actor)
            ticket: Ticket = uow.tickets.get(row["ticket_id"])
            if not _may_see(person, ticket) or (row["internal"] and person.client_id is not None):
                # The answer an unknown id gets: not the number of the ticket it belongs to.
                raise NotFound(f"attachment {attachment_id} not found")
        return Download(row["display_name"], self._blobs.get(row["sha256"]))

    @staticmethod
    def _visible(uow: UnitOfWork, number: str, actor: str) -> tuple[Person, Ticket]:
        person: Person = uow.directory.person_by_username(actor)
        ticket: Ticket = uow.tickets.get_by_number(number)
        ensure_can_see_ticket(person, ticket)
        return person, ticket

    @staticmethod
    def _check_internal(person: Person, internal: bool) -> None:
        if internal and person.client_id is not None:
            raise PermissionDenied("internal notes are for the service desk only")


def _may_see(person: Person, ticket: Ticket) -> bool:
    try:
        ensure_can_see_ticket(person, ticket)
    except NotFound:
        return False
    return True
