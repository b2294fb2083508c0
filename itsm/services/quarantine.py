"""What the channels set aside instead of losing it: listed for the service desk lead."""

from __future__ import annotations

from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import NotFound, PermissionDenied
from itsm.domain.people import Role
from itsm.services.collaboration import BlobStore, Download
from itsm.services.ports import UnitOfWorkFactory

REVIEWERS = frozenset({Role.SERVICE_DESK_LEAD, Role.ADMIN})


class QuarantineReview:
    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore) -> None:
        self._uow = uow
        self._blobs = blobs

    def messages(self, actor: str, limit: int = 200) -> list[dict[str, Any]]:
        with self._uow(read_only=True) as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            rows: list[dict[str, Any]] = uow.inbound.by_outcome("quarantined", limit)
        return rows

    def raw(self, message_id: int, actor: str) -> Download:
        """The message exactly as received (e-mail), as a download."""
        with self._uow(read_only=True) as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            row = uow.inbound.get(message_id)
        if row is None or not row.get("raw_sha256"):
            raise NotFound(f"no stored original for message {message_id}")
        return Download(f"message-{message_id}.eml", self._blobs.get(row["raw_sha256"]))

    @staticmethod
    def _ensure_reviewer(person: Person) -> None:
        if person.role not in REVIEWERS:
            raise PermissionDenied("only the service desk lead or an admin reviews quarantine")
