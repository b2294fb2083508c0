"""Picking the engineer who handles a new ticket: the least-loaded active member of the line."""

from __future__ import annotations

from typing import Any

from itsm.domain.errors import ItsmError
from itsm.domain.people import Role
from itsm.services.service_tasks import TaskContext

_GROUP_ROLES = {"L1": Role.L1, "L2": Role.L2, "L3": Role.L3, "field": Role.FIELD_TECHNICIAN}


def assign_engineer(ctx: TaskContext, ticket_id: int, group: str) -> dict[str, Any]:
    role = _GROUP_ROLES.get(group)
    if role is None:
        raise ItsmError(f"unknown engineer group '{group}'")
    engineers = ctx.uow.directory.people(role=role)
    engineers = [person for person in engineers if person.client_id is None]
    if not engineers:
        raise ItsmError(f"no active engineer in group {group} to assign the ticket to")
    load = ctx.uow.tasks.open_load(person.username for person in engineers)
    chosen = min(engineers, key=lambda person: (load[person.username], person.id))
    ctx.uow.tickets.update(ticket_id, ctx.now, assignee_id=chosen.id, support_line=group)
    ctx.audit(
        ticket_id,
        "engineer_assigned",
        f"Assigned to {chosen.full_name} ({group})",
        engineer=chosen.username,
        open_tasks=load[chosen.username],
    )
    return {"username": chosen.username, "full_name": chosen.full_name}
