"""Change requests go ahead only for authorised requesters or with the coordinator's approval."""

from __future__ import annotations

from typing import Any

from itsm.domain.errors import ItsmError
from itsm.domain.people import Role
from itsm.domain.tickets import Ticket
from itsm.services.service_tasks import TaskContext


def check_authorisation(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    requester = ctx.uow.directory.person(ticket.requester_id)
    authorised = bool(
        requester.client_id == ticket.client_id
        and (requester.is_authorised or requester.role is Role.COORDINATOR)
    )
    verdict = "is an authorised person" if authorised else "is not authorised: approval needed"
    ctx.audit(
        ticket_id,
        "authorisation_checked",
        f"{requester.full_name} {verdict} for {ticket.change_type.value.replace('_', ' ')}",
        requester=requester.username,
        authorised=authorised,
    )
    return {"requester_authorised": authorised}


def record_approval(
    ctx: TaskContext, ticket_id: int, decision: str, approver: str
) -> dict[str, Any]:
    if decision not in ("approve", "reject"):
        raise ItsmError(f"approval decision must be 'approve' or 'reject', not '{decision}'")
    person = ctx.uow.directory.person_by_username(approver)
    ctx.uow.tickets.update(ticket_id, ctx.now, approval_decision=decision, approved_by_id=person.id)
    word = "approved" if decision == "approve" else "rejected"
    ctx.audit(
        ticket_id,
        "approval_recorded",
        f"Change {word} by {person.full_name}",
        decision=decision,
        approver=approver,
    )
    return {"decision": decision, "approver": approver}
