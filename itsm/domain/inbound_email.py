"""An inbound e-mail as plain values, as the parser (``itsm.channels.email_message``) gives it."""

from __future__ import annotations

from dataclasses import dataclass, field

from itsm.domain.errors import ConflictError


class DuplicateMessage(ConflictError):
    """The (channel, external id) pair is recorded already: another delivery won the race."""


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content: bytes
    media_type: str


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str | None
    references: list[str]
    from_address: str
    from_name: str
    subject: str
    body_text: str
    attachments: list[EmailAttachment] = field(default_factory=list)
    is_automatic: bool = False
    automatic_reason: str = ""
    skipped_attachments: list[str] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True)
class Rejected:
    """The input cannot be a message at all (empty, too large, no sender)."""

    reason: str
