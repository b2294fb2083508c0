"""What the channels set aside instead of losing it: reviewed by the service desk lead.

A reviewer lists the messages, downloads an original, tries one again (after adding its
sender as a person, say) or dismisses it with a note. Trying again runs the channel's own
intake on the kept original, in one transaction with the update of the message's record, so
the message is still recorded once and either becomes what the intake makes of it or stays
exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import (
    ConflictError,
    FieldError,
    ItsmError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from itsm.domain.people import Role
from itsm.services.collaboration import BlobStore, Download
from itsm.services.email_intake import EmailIntake
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from itsm.services.sms_intake import SmsIntake

REVIEWERS = frozenset({Role.SERVICE_DESK_LEAD, Role.ADMIN})
RELEASED_VIA = "quarantine release"
_DOWNLOAD_SUFFIX = {"email": "eml", "sms": "txt"}


@dataclass(frozen=True)
class ReviewOutcome:
    """What became of a reviewed message: ``quarantined`` means nothing changed (why in
    ``reason``); otherwise ticket_created, comment_added, ignored or dismissed."""

    outcome: str
    ticket_number: str | None
    reason: str


class QuarantineReview:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        blobs: BlobStore,
        clock: Clock,
        email: EmailIntake,
        sms: SmsIntake,
    ) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._email = email
        self._sms = sms

    def messages(self, actor: str, limit: int = 200) -> list[dict[str, Any]]:
        with self._uow(read_only=True) as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            rows: list[dict[str, Any]] = uow.inbound.by_outcome("quarantined", limit)
        return rows

    def raw(self, message_id: int, actor: str) -> Download:
        """The message exactly as received (an e-mail's bytes, an SMS's text), as a download."""
        with self._uow(read_only=True) as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            row = uow.inbound.get(message_id)
        if row is None or not row.get("raw_sha256"):
            raise NotFound(f"no stored original for message {message_id}")
        suffix = _DOWNLOAD_SUFFIX.get(row["channel"], "bin")
        return Download(f"message-{message_id}.{suffix}", self._blobs.get(row["raw_sha256"]))

    def release(self, message_id: int, actor: str) -> ReviewOutcome:
        """Run the channel's intake again on the kept message; if it would still be
        quarantined, nothing changes and the outcome says why."""
        with self._uow() as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            row = self._quarantined(uow, message_id)
            if row["channel"] not in _DOWNLOAD_SUFFIX:
                raise ConflictError(f"{row['channel']} messages cannot be tried again; dismiss it")
            if not row.get("raw_sha256") and row["channel"] == "email":
                raise NotFound(f"no stored original for message {message_id}; dismiss it")
            try:
                outcome, ticket_id = self._reroute(uow, row)
            except ConflictError:
                raise
            except (ItsmError, ValueError) as err:  # ValueError: pydantic's ValidationError
                # Leaving without commit rolls back whatever the attempt wrote.
                return ReviewOutcome("quarantined", None, f"could not register: {err}")
            if outcome.outcome == "quarantined":
                return outcome  # not committed: the message stays exactly as it was
            now = self._clock.now()
            uow.inbound.settle_quarantined(
                message_id,
                outcome=outcome.outcome,
                ticket_id=ticket_id,
                reviewed_by=actor,
                reviewed_at=now,
                review_note=f"released: {outcome.reason or outcome.outcome}"[:2000],
            )
            if ticket_id is not None:
                uow.audit.record(
                    ticket_id=ticket_id,
                    actor=actor,
                    kind="quarantine_released",
                    summary=f"{row['channel']} message from {row['sender']} released from "
                    f"quarantine by {actor}",
                    at=now,
                    message_id=message_id,
                    external_id=row["external_id"],
                    quarantine_reason=row["reason"][:500],
                )
            uow.commit()
        return outcome

    def dismiss(self, message_id: int, actor: str, note: str) -> ReviewOutcome:
        """Set a message aside for good, saying why; the message and its reason are kept."""
        text = note.strip()
        if not text:
            raise ValidationFailed([FieldError("note", "say why the message is dismissed")])
        if len(text) > 2000:
            raise ValidationFailed([FieldError("note", "at most 2,000 characters")])
        with self._uow() as uow:
            self._ensure_reviewer(uow.directory.person_by_username(actor))
            row = self._quarantined(uow, message_id)
            uow.inbound.settle_quarantined(
                message_id,
                outcome="dismissed",
                ticket_id=row["ticket_id"],
                reviewed_by=actor,
                reviewed_at=self._clock.now(),
                review_note=text,
            )
            uow.commit()
        return ReviewOutcome("dismissed", None, text)

    def _reroute(self, uow: UnitOfWork, row: dict[str, Any]) -> tuple[ReviewOutcome, int | None]:
        if row["channel"] == "email":
            mail, ticket_id = self._email.reroute_within(
                uow,
                self._blobs.get(row["raw_sha256"]),
                external_id=row["external_id"],
                via=RELEASED_VIA,
            )
            return ReviewOutcome(mail.outcome, mail.ticket_number, mail.reason), ticket_id
        sms, ticket_id = self._sms.reroute_within(uow, row)
        return ReviewOutcome(sms.outcome, sms.ticket_number, sms.reason), ticket_id

    @staticmethod
    def _quarantined(uow: UnitOfWork, message_id: int) -> dict[str, Any]:
        row: dict[str, Any] | None = uow.inbound.get(message_id)
        if row is None:
            raise NotFound(f"message {message_id} not found")
        if row["outcome"] != "quarantined":
            by = f" by {row['reviewed_by']}" if row.get("reviewed_by") else ""
            raise ConflictError(f"message {message_id} is {row['outcome']}{by}, not quarantined")
        return row

    @staticmethod
    def _ensure_reviewer(person: Person) -> None:
        if person.role not in REVIEWERS:
            raise PermissionDenied("only the service desk lead or an admin reviews quarantine")
