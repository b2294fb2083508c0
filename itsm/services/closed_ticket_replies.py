"""Someone wrote to a ticket that is already closed or rejected.

The channel keeps the message as a comment, as for any reply (nothing is lost). A comment on a
closed ticket is read by nobody, though, so the engineer who worked it (or, without one, the
service desk leads) is told through the outbox. The writer is never answered automatically: an
automatic "your ticket is closed" would invite the next reply, and auto-replies to it would
loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.people import Role
from itsm.domain.tickets import Ticket
from itsm.services.outbox_messages import queue_notification
from itsm.services.ports import UnitOfWork

REPLY_TO_CLOSED = "reply_to_closed"
"""Outbox template; listed in ``tasks.notifications.TEMPLATES`` with the others."""

EXCERPT_CHARACTERS = 1_000


def tell_about_reply_after_close(
    uow: UnitOfWork, now: datetime, ticket: Ticket, author: Person, channel: str, text: str
) -> list[Person]:
    """If ``ticket`` is final, audit the reply and notify who can act on it; the people told."""
    if not ticket.status.is_final:
        return []
    recipients = [p for p in _who_can_act(uow, ticket) if p.id != author.id]

    def audit(ticket_id: int, kind: str, summary: str, **payload: Any) -> None:
        uow.audit.record(
            ticket_id=ticket_id,
            actor=author.username,
            kind=kind,
            summary=summary,
            at=now,
            **payload,
        )

    told = ", ".join(p.full_name for p in recipients) or "nobody (the writer handles it)"
    audit(
        ticket.id,
        "reply_after_close",
        f"{author.full_name} wrote by {channel} to the {ticket.status.label} ticket; told {told}",
        channel=channel,
        author=author.username,
        status=ticket.status.value,
        told=[p.username for p in recipients],
    )
    for person in recipients:
        queue_notification(
            uow,
            now,
            ticket,
            person,
            REPLY_TO_CLOSED,
            audit,
            author_name=author.full_name,
            channel=channel,
            message=text[:EXCERPT_CHARACTERS],
        )
    return recipients


def _who_can_act(uow: UnitOfWork, ticket: Ticket) -> list[Person]:
    if ticket.assignee_id is not None:
        engineer: Person = uow.directory.person(ticket.assignee_id)
        if engineer.active:
            return [engineer]
    leads: list[Person] = uow.directory.people(role=Role.SERVICE_DESK_LEAD)
    return leads
