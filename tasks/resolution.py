"""Steps on the way to a fix: vendor hand-off, field visits, resolution and reopening."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsm.domain.errors import ItsmError
from itsm.domain.people import Role
from itsm.domain.tickets import Ticket
from itsm.services.service_tasks import TaskContext


def hand_off_to_vendor(
    ctx: TaskContext, ticket_id: int, vendor_name: str, vendor_kind: str, vendor_reference: str
) -> dict[str, Any]:
    if not vendor_name or not vendor_reference:
        raise ItsmError("a vendor hand-off needs the vendor's name and its reference")
    ctx.uow.tickets.update(
        ticket_id,
        ctx.now,
        vendor_name=vendor_name,
        vendor_kind=vendor_kind,
        vendor_reference=vendor_reference,
    )
    ctx.audit(
        ticket_id,
        "vendor_hand_off",
        f"Handed off to {vendor_name} ({vendor_kind}), their reference {vendor_reference}",
        vendor_name=vendor_name,
        vendor_kind=vendor_kind,
        vendor_reference=vendor_reference,
    )
    return {"vendor_name": vendor_name}


def schedule_field_visit(ctx: TaskContext, ticket_id: int, ordered_by: str) -> dict[str, Any]:
    person = ctx.uow.directory.person_by_username(ordered_by)
    # The model only offers a visit from the 1st-line task; this guards a model that doesn't.
    if person.role not in (Role.L1, Role.SERVICE_DESK_LEAD):
        raise ItsmError(
            f"a field visit may only be ordered by the 1st-line engineer, not {person.username}"
        )
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    visit_id = ctx.uow.work.add_field_visit(
        ticket_id=ticket_id,
        ordered_by_id=person.id,
        ordered_at=ctx.now,
        site_id=ticket.site_id,
        status="ordered",
    )
    ctx.audit(
        ticket_id,
        "field_visit_ordered",
        f"Field visit ordered by {person.full_name}",
        visit_id=visit_id,
        ordered_by=ordered_by,
    )
    return {"visit_id": visit_id}


def record_visit_report(
    ctx: TaskContext,
    ticket_id: int,
    technician: str,
    arrived_at: str,
    minutes: int,
    outcome: str,
    parts_used: str | None,
    report: str,
) -> dict[str, Any]:
    visit_id = ctx.uow.work.open_field_visit_id(ticket_id)
    if visit_id is None:
        raise ItsmError("no ordered field visit to report on")
    ctx.uow.work.report_field_visit(
        visit_id,
        status="done",
        technician=technician,
        arrived_at=datetime.fromisoformat(arrived_at),
        minutes=int(minutes),
        outcome=outcome,
        parts_used=parts_used,
        report=report,
    )
    ctx.audit(
        ticket_id,
        "field_visit_reported",
        f"Visit by {technician}: {outcome}, {minutes} min",
        visit_id=visit_id,
    )
    return {"visit_id": visit_id, "outcome": outcome}


def mark_resolved(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ctx.uow.tickets.update(ticket_id, ctx.now, resolved_at=ctx.now)
    ctx.audit(ticket_id, "resolved", "Resolution delivered; waiting for the requester")
    return {"resolved_at": ctx.now.isoformat()}


def reopen_ticket(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    ctx.uow.tickets.update(
        ticket_id, ctx.now, resolved_at=None, reopen_count=ticket.reopen_count + 1
    )
    ctx.audit(ticket_id, "reopened", f"Reopened by the requester (time {ticket.reopen_count + 1})")
    return {"reopen_count": ticket.reopen_count + 1}
