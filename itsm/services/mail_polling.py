"""Fetching e-mail from a mailbox: each unseen message goes through ``EmailIntake`` and is
marked processed only after its transaction committed.

A crash between the two leaves the message unseen; the next poll fetches it again, the
intake answers "duplicate" (Message-IDs are recorded once) and then it is marked: never
lost, never handled twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from itsm.services.email_intake import InboundResult


class MailboxError(Exception):
    """The mailbox cannot be reached, logged into or read; the message says why."""


class Mailbox(Protocol):
    """An open mailbox folder (``itsm.channels.imap_mailbox.ImapMailbox``)."""

    @property
    def address(self) -> str:
        """Where the mail comes from, e.g. ``imap:user@host/INBOX``."""
        ...

    def unseen(self, limit: int) -> list[tuple[str, bytes]]:
        """Up to ``limit`` unprocessed messages as (uid, raw bytes); reading marks nothing."""
        ...

    def mark_processed(self, uid: str) -> None: ...

    def close(self) -> None: ...


MailboxFactory = Callable[[], Mailbox]
"""Opens (connects, logs in, selects the folder); raises MailboxError."""


class EmailReceiver(Protocol):
    def receive(self, raw: bytes, *, received_via: str) -> InboundResult: ...


@dataclass
class PollReport:
    fetched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


class MailPoller:
    def __init__(self, mailbox_factory: MailboxFactory, email_intake: EmailReceiver) -> None:
        self._open = mailbox_factory
        self._intake = email_intake

    def poll(self, limit: int = 100) -> PollReport:
        """One pass. Raises MailboxError when the mailbox cannot be opened or listed."""
        report = PollReport()
        mailbox = self._open()
        try:
            messages = mailbox.unseen(limit)
            report.fetched = len(messages)
            for uid, raw in messages:
                try:
                    result = self._intake.receive(raw, received_via=mailbox.address)
                except Exception as err:  # left unseen: the next poll retries it
                    report.errors.append(f"message {uid}: {type(err).__name__}: {err}")
                    continue
                report.outcomes[result.outcome] += 1
                try:
                    self._mark(mailbox, uid)
                except MailboxError as err:  # handled; the next poll sees a duplicate
                    report.errors.append(f"message {uid}: not marked processed: {err}")
        finally:
            mailbox.close()
        return report

    def _mark(self, mailbox: Mailbox, uid: str) -> None:
        mailbox.mark_processed(uid)
