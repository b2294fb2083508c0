"""Priority and SLA targets decided by the DMN tables are stored on the ticket.

The due instants are not computed here: the SLA clock (``itsm.services.sla_clock``) derives
them from the targets, the client's business hours and the ticket's status history at the
end of this same step, and again at every later status change.
"""

from __future__ import annotations

from typing import Any

from itsm.domain.sla import SlaTarget
from itsm.services.service_tasks import TaskContext


def apply_classification(
    ctx: TaskContext,
    ticket_id: int,
    priority: str,
    reaction_hours: int,
    resolution_hours: int | None,
) -> dict[str, Any]:
    # Validates the pair (positive, resolution not shorter than reaction) before storing it.
    target = SlaTarget(
        reaction_hours=int(reaction_hours),
        resolution_hours=None if resolution_hours is None else int(resolution_hours),
    )
    ctx.uow.tickets.update(
        ticket_id,
        ctx.now,
        priority=priority,
        reaction_target_hours=target.reaction_hours,
        resolution_target_hours=target.resolution_hours,
    )
    resolution_text = (
        f"{target.resolution_hours} h" if target.resolution_hours is not None else "none"
    )
    ctx.audit(
        ticket_id,
        "classified",
        f"Priority {priority}; targets in business hours: reaction {target.reaction_hours} h, "
        f"resolution {resolution_text}",
        priority=priority,
        reaction_hours=reaction_hours,
        resolution_hours=resolution_hours,
    )
    return {"priority": priority}
