"""Read models of one ticket: its data, where its process stands, and its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Client, Person
from itsm.domain.process import HumanTask, ProcessInstance
from itsm.domain.tickets import Ticket
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class TicketDetails:
    ticket: Ticket
    client: Client
    requester: Person
    assignee: Person | None
    instance: ProcessInstance | None
    process_version: int | None
    tasks: list[HumanTask]
    timeline: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    minutes_spent: int
    deductions: list[dict[str, Any]]
    field_visits: list[dict[str, Any]]
    knowledge_article: dict[str, Any] | None


class TicketViews:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def details(self, number: str, actor: str) -> TicketDetails:
        with self._uow() as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            ticket: Ticket = uow.tickets.get_by_number(number)
            ensure_can_see_ticket(viewer, ticket)
            instance = uow.processes.instance_for_ticket(ticket.id)
            return TicketDetails(
                ticket=ticket,
                client=uow.directory.client(ticket.client_id),
                requester=uow.directory.person(ticket.requester_id),
                assignee=(
                    uow.directory.person(ticket.assignee_id)
                    if ticket.assignee_id is not None
                    else None
                ),
                instance=instance,
                process_version=(
                    uow.processes.definition(instance.definition_id).version
                    if instance is not None
                    else None
                ),
                tasks=uow.tasks.for_ticket(ticket.id),
                timeline=uow.audit.for_ticket(ticket.id),
                notifications=uow.outbox.for_ticket(ticket.id),
                minutes_spent=uow.work.minutes_for_ticket(ticket.id),
                deductions=uow.work.deductions_for_ticket(ticket.id),
                field_visits=uow.work.field_visits_for_ticket(ticket.id),
                knowledge_article=uow.knowledge.article_for_ticket(ticket.id),
            )

    def recent(self, actor: str, limit: int = 50) -> list[Ticket]:
        with self._uow() as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            tickets: list[Ticket] = uow.tickets.recent(client_id=viewer.client_id, limit=limit)
            if viewer.client_id is not None:
                tickets = [t for t in tickets if _visible(viewer, t)]
            return tickets


def _visible(viewer: Person, ticket: Ticket) -> bool:
    try:
        ensure_can_see_ticket(viewer, ticket)
    except Exception:
        return False
    return True
