"""Priority and SLA targets decided by the DMN tables become due times on the ticket."""

from __future__ import annotations

from typing import Any

from itsm.domain.sla import SlaTarget, due_times
from itsm.domain.tickets import Ticket
from itsm.services.service_tasks import TaskContext


def apply_classification(
    ctx: TaskContext,
    ticket_id: int,
    priority: str,
    reaction_hours: int,
    resolution_hours: int | None,
) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    client = ctx.uow.directory.client(ticket.client_id)
    target = SlaTarget(
        reaction_hours=int(reaction_hours),
        resolution_hours=None if resolution_hours is None else int(resolution_hours),
    )
    # Deadlines are absolute instants computed once: a later model version or a restarted
    # timer must not move the client's contractual clock.
    reaction_due, resolution_due = due_times(ticket.created_at, target, client.calendar)
    ctx.uow.tickets.update(
        ticket_id,
        ctx.now,
        priority=priority,
        reaction_due_at=reaction_due,
        resolution_due_at=resolution_due,
    )
    resolution_text = f"{resolution_due:%Y-%m-%d %H:%M} UTC" if resolution_due else "none"
    ctx.audit(
        ticket_id,
        "classified",
        f"Priority {priority}; reaction due {reaction_due:%Y-%m-%d %H:%M} UTC, "
        f"resolution due {resolution_text}",
        priority=priority,
        reaction_hours=reaction_hours,
        resolution_hours=resolution_hours,
    )
    return {"priority": priority, "reaction_due_at": reaction_due.isoformat()}
