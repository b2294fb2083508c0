"""Closing a ticket: final status, knowledge-base entry and hours drawn from the package."""

from __future__ import annotations

from typing import Any

from itsm.domain.errors import ItsmError
from itsm.domain.packages import allocate_minutes
from itsm.domain.tickets import Closure, Ticket, TicketStatus
from itsm.services.service_tasks import TaskContext


def close_ticket(ctx: TaskContext, ticket_id: int, closure: str) -> dict[str, Any]:
    try:
        kind = Closure(closure)
    except ValueError as err:
        raise ItsmError(f"unknown closure '{closure}'") from err
    status = TicketStatus.REJECTED if kind is Closure.REJECTED else TicketStatus.CLOSED
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    changes: dict[str, Any] = {"status": status, "closure": kind, "closed_at": ctx.now}
    if kind is Closure.ALERT_CLEARED and ticket.resolved_at is None:
        changes["resolved_at"] = ctx.now  # it stopped being a problem when the alert cleared
    ctx.uow.tickets.update(ticket_id, ctx.now, **changes)
    ctx.audit(
        ticket_id,
        "status_changed",
        f"Status {ticket.status.label} → {status.label} ({kind.value.replace('_', ' ')})",
        **{"from": ticket.status.value, "to": status.value},
    )
    return {"status": status.value}


def publish_knowledge(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    if not ticket.resolution:
        ctx.audit(ticket_id, "knowledge_skipped", "No resolution text to publish")
        return {"article_id": None}
    if ctx.uow.knowledge.article_for_ticket(ticket_id) is not None:
        return {"article_id": None}
    problem = (
        ticket.description
        if not ticket.diagnosis
        else (f"{ticket.description}\n\nDiagnosis: {ticket.diagnosis}")
    )
    solution = (
        ticket.resolution
        if not ticket.root_cause
        else (f"{ticket.resolution}\n\nRoot cause: {ticket.root_cause}")
    )
    article_id = ctx.uow.knowledge.add_article(
        ticket_id=ticket_id,
        client_id=ticket.client_id,
        category=ticket.category.value,
        title=ticket.subject,
        problem=problem,
        solution=solution,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.audit(
        ticket_id,
        "knowledge_published",
        f"Knowledge-base article #{article_id}",
        article_id=article_id,
    )
    return {"article_id": article_id}


def deduct_hours(ctx: TaskContext, ticket_id: int) -> dict[str, Any]:
    ticket: Ticket = ctx.uow.tickets.get(ticket_id)
    minutes = ctx.uow.work.minutes_for_ticket(ticket_id)
    already = sum(row["minutes"] for row in ctx.uow.work.deductions_for_ticket(ticket_id))
    due = minutes - already
    if due <= 0:
        return {"deducted_minutes": 0, "uncovered_minutes": 0}
    allocation = allocate_minutes(
        ctx.uow.work.package_balances(ticket.client_id), ticket.service_type, due, ctx.now
    )
    for package_id, part in allocation.deductions:
        ctx.uow.work.deduct(ticket_id, package_id, part, ctx.now)
    if allocation.uncovered_minutes:
        ctx.uow.work.deduct(ticket_id, None, allocation.uncovered_minutes, ctx.now)
    ctx.audit(
        ticket_id,
        "hours_deducted",
        f"{allocation.covered_minutes} min from prepaid packages, "
        f"{allocation.uncovered_minutes} min billed pay-as-you-go",
        covered=allocation.covered_minutes,
        uncovered=allocation.uncovered_minutes,
    )
    return {
        "deducted_minutes": allocation.covered_minutes,
        "uncovered_minutes": allocation.uncovered_minutes,
    }
