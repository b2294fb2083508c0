"""Notifications are written to the outbox in the step's transaction; a worker delivers them."""

from __future__ import annotations

from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import ItsmError
from itsm.domain.tickets import Ticket
from itsm.services.outbox_messages import queue_notification
from itsm.services.service_tasks import TaskContext

TEMPLATES = frozenset(
    {
        "ticket_registered",
        "engineer_assigned",
        "awaiting_authorisation",
        "approval_requested",
        "handed_off_to_vendor",
        "field_visit_scheduled",
        "resolved",
        "closed",
        "rejected",
        "information_requested",
        # Not sent by the model: the channels queue it when someone writes to a closed ticket.
        "reply_to_closed",
    }
)


def _recipient(ctx: TaskContext, ticket: Ticket, recipient: str) -> Person | None:
    directory = ctx.uow.directory
    if recipient == "requester":
        return directory.person(ticket.requester_id)  # type: ignore[no-any-return]
    if recipient == "assignee":
        return None if ticket.assignee_id is None else directory.person(ticket.assignee_id)
    if recipient == "coordinator":
        client = directory.client(ticket.client_id)
        return None if client.coordinator_id is None else directory.person(client.coordinator_id)
    raise ItsmError(f"unknown notification recipient '{recipient}'")


def queue_message(
    ctx: TaskContext, ticket: Ticket, person: Person, template: str, **context: Any
) -> bool:
    if template not in TEMPLATES:
        raise ItsmError(f"unknown notification template '{template}'")
    return queue_notification(ctx.uow, ctx.now, ticket, person, template, ctx.audit, **context)


def notify(
    ctx: TaskContext,
    ticket_id: int,
    template: str,
    recipient: str = "requester",
    message: str | None = None,
) -> dict[str, Any]:
    """Queue ``template`` for the ticket's ``recipient``; ``message`` is free text from the
    model (e.g. the engineer's question) that the template shows."""
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    person = _recipient(ctx, ticket, recipient)
    extra: dict[str, Any] = {}
    if ticket.assignee_id is not None:
        extra["engineer_name"] = ctx.uow.directory.person(ticket.assignee_id).full_name
    if ticket.vendor_name:
        extra["vendor_name"] = ticket.vendor_name
    if message:
        extra["message"] = message
    queued = person is not None and queue_message(ctx, ticket, person, template, **extra)
    return {"queued": queued}


def request_approval(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    coordinator = _recipient(ctx, ticket, "coordinator")
    if coordinator is None:
        raise ItsmError("the client has no IT coordinator who could approve this change")
    queue_message(
        ctx, ticket, coordinator, "approval_requested", change_type=ticket.change_type.value
    )
    queue_message(
        ctx,
        ticket,
        ctx.uow.directory.person(ticket.requester_id),
        "awaiting_authorisation",
        coordinator_name=coordinator.full_name,
    )
    return {"coordinator": coordinator.username}
