"""One notification written to the outbox in the caller's transaction.

The single code path for every notification about a ticket: the BPMN service tasks
(``tasks/notifications.py``) and the channels (a reply to a closed ticket) both come here, so
addressing, Message-IDs and the "nobody to reach" audit event are the same everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.tickets import Ticket
from itsm.services.ports import UnitOfWork

Audit = Callable[..., None]
"""Records one audit event: ``(ticket_id, kind, summary, **payload)``."""


def queue_notification(
    uow: UnitOfWork,
    now: datetime,
    ticket: Ticket,
    person: Person,
    template: str,
    audit: Audit,
    **context: Any,
) -> bool:
    """Queue ``template`` for ``person``; False (and an audit event) when they have neither
    an e-mail address nor a phone number, e.g. the stand-in for an unverified requester."""
    channel, address = ("email", person.email) if person.email else ("sms", person.phone)
    if not address:
        audit(
            ticket.id,
            "notification_skipped",
            f"{person.full_name} has no e-mail or phone for '{template}'",
        )
        return False
    client = uow.directory.client(ticket.client_id)
    uow.outbox.add(
        # Short enough that the Message-ID header is never folded (RFC 5322 line length).
        message_id=f"<{uuid.uuid4().hex}.{ticket.number}@itsm.invalid>",
        ticket_id=ticket.id,
        channel=channel,
        recipient=address,
        template=template,
        language=client.language,
        context={
            "ticket_number": ticket.number,
            "subject": ticket.subject,
            "recipient_name": person.full_name,
            **context,
        },
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    audit(
        ticket.id,
        "notification_queued",
        f"{template} → {person.full_name} ({channel})",
        template=template,
        channel=channel,
    )
    return True
