"""Delivering the outbox: lease a batch, send each message, record the result.

At-least-once and never lost: a message is leased (not taken), sent outside any transaction,
then marked sent. A worker that dies mid-batch leaves its lease to run out, and the next
worker sends those messages again under the same Message-ID, which receivers can recognise.
Failures are retried with exponential backoff and end as "failed" after the last attempt,
still in the table for an admin to see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from itsm.domain.errors import ItsmError
from itsm.faults import fault_point
from itsm.services.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    media_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    recipient: str
    rendered: RenderedMessage
    ticket_number: str | None
    attachments: tuple[OutgoingAttachment, ...] = ()


class DeliveryFailed(Exception):
    """The channel did not accept the message; it will be retried."""


class Renderer(Protocol):
    def render(self, template: str, language: str, context: dict[str, Any]) -> RenderedMessage: ...


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class BlobReader(Protocol):
    def get(self, digest: str) -> bytes: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 6 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


class OutboxDelivery:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        renderer: Renderer,
        senders: Mapping[str, Sender],
        *,
        max_attempts: int,
        lease: timedelta,
        blobs: BlobReader | None = None,
    ) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._renderer = renderer
        self._senders = dict(senders)
        self._max_attempts = max_attempts
        self._lease = lease

    def deliver_due(self, worker: str, limit: int = 50) -> DeliveryReport:
        report = DeliveryReport()
        with self._uow() as uow:
            now = self._clock.now()
            batch: list[dict[str, Any]] = uow.outbox.lease_due(
                now=now, until=now + self._lease, worker=worker, limit=limit
            )
            uow.commit()
        fault_point("delivery.after_lease")
        for message in batch:
            error = self._send(message)
            if error is None:
                fault_point("delivery.after_send")  # sent, not yet marked: resent later
            with self._uow() as uow:
                now = self._clock.now()
                if error is None:
                    uow.outbox.mark_sent(message["id"], worker, now)
                    report.sent += 1
                else:
                    attempts = message["attempts"] + 1
                    give_up = attempts >= self._max_attempts
                    uow.outbox.mark_failed(
                        message["id"],
                        worker,
                        error,
                        attempts=attempts,
                        next_attempt_at=now + backoff(attempts),
                        give_up=give_up,
                    )
                    report.failed += give_up
                    report.retrying += not give_up
                    report.errors.append(f"{message['message_id']}: {error}")
                uow.commit()
        return report

    def _send(self, message: dict[str, Any]) -> str | None:
        sender = self._senders.get(message["channel"])
        if sender is None:
            return f"no sender configured for channel '{message['channel']}'"
        try:
            rendered = self._renderer.render(
                message["template"], message["language"], dict(message["context"])
            )
            sender.send(
                OutgoingMessage(
                    message_id=message["message_id"],
                    recipient=message["recipient"],
                    rendered=rendered,
                    ticket_number=message["context"].get("ticket_number"),
                    attachments=self._attachments(message["context"]),
                )
            )
        except (DeliveryFailed, ItsmError) as err:
            return str(err)[:2000]
        return None

    def _attachments(self, context: Mapping[str, Any]) -> tuple[OutgoingAttachment, ...]:
        """Files named in the message by content hash (the outbox row stays small)."""
        wanted = context.get("attachments") or []
        if wanted and self._blobs is None:
            raise ItsmError("this message has attachments but no blob store is configured")
        try:
            return tuple(
                OutgoingAttachment(
                    item["filename"],
                    item["media_type"],
                    self._blobs.get(item["sha256"]),  # type: ignore[union-attr]
                )
                for item in wanted
            )
        except (OSError, KeyError, ValueError) as err:
            raise ItsmError(f"attachment of the message unavailable: {err}") from err
