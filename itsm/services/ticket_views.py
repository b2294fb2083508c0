"""Read models of one ticket: its data, where its process stands, and its timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Client, Person
from itsm.domain.errors import NotFound
from itsm.domain.people import ROLE_GROUPS
from itsm.domain.process import HumanTask, ProcessInstance
from itsm.domain.tickets import Ticket
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import UnitOfWork, UnitOfWorkFactory


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
    time_entries: list[dict[str, Any]]
    deductions: list[dict[str, Any]]
    field_visits: list[dict[str, Any]]
    knowledge_article: dict[str, Any] | None


class TicketViews:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def details(self, number: str, actor: str) -> TicketDetails:
        with self._uow(read_only=True) as uow:
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
                time_entries=uow.work.time_entries_for_ticket(ticket.id),
                deductions=uow.work.deductions_for_ticket(ticket.id),
                field_visits=uow.work.field_visits_for_ticket(ticket.id),
                knowledge_article=uow.knowledge.article_for_ticket(ticket.id),
            )

    def similar_articles(self, number: str, actor: str, limit: int = 5) -> list[dict[str, Any]]:
        """Knowledge-base articles sharing the most words with the ticket (same category
        first); client people only see their own client's articles."""
        with self._uow(read_only=True) as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            ticket: Ticket = uow.tickets.get_by_number(number)
            ensure_can_see_ticket(viewer, ticket)
            candidates = uow.knowledge.articles(client_id=viewer.client_id)
        wanted = _words(f"{ticket.subject} {ticket.description}")
        scored = []
        for article in candidates:
            if article["ticket_id"] == ticket.id:
                continue
            overlap = len(wanted & _words(f"{article['title']} {article['problem']}"))
            if overlap:
                scored.append(
                    (
                        overlap + (article["category"] == ticket.category.value),
                        article["id"],
                        article,
                    )
                )
        scored.sort(key=lambda item: (-item[0], -item[1]))
        return [article for _, _, article in scored[:limit]]

    def field_work(self, actor: str) -> list[FieldJob]:
        """Open field visits the technician may take or has taken, with where to go."""
        with self._uow(read_only=True) as uow:
            person: Person = uow.directory.person_by_username(actor)
            if person.client_id is not None:
                return []
            jobs = []
            for task in uow.tasks.inbox(groups=["field"], limit=200):
                if task.assignee not in (None, actor):
                    continue
                ticket: Ticket = uow.tickets.get(task.ticket_id)
                client = uow.directory.client(ticket.client_id)
                sites = {site.id: site for site in uow.directory.sites(client.id)}
                site = sites.get(ticket.site_id) if ticket.site_id else None
                site = site or next(iter(sites.values()), None)
                requester = uow.directory.person(ticket.requester_id)
                jobs.append(
                    FieldJob(
                        task=task,
                        ticket=ticket,
                        client=client,
                        address=site.address if site else "-",
                        site_name=site.name if site else "-",
                        contact=requester,
                    )
                )
            if person.client_id is not None:
                return []
            return jobs

    def authorised_people(self, client_code: str, actor: str) -> list[Person]:
        """The client's people allowed to order changes (its coordinator included)."""
        with self._uow(read_only=True) as uow:
            client = _client_visible_to(uow, client_code, actor)
            people: list[Person] = uow.directory.people(client_id=client.id)
        return [p for p in people if p.is_authorised or p.id == client.coordinator_id]

    def client_people(self, client_code: str, actor: str) -> list[Person]:
        """People of a client, for staff recording a call on someone's behalf."""
        with self._uow(read_only=True) as uow:
            client = _client_visible_to(uow, client_code, actor)
            return list(uow.directory.people(client_id=client.id))

    def clients(self, actor: str) -> list[Client]:
        """Clients the actor may filter by: all for staff, their own for client people."""
        with self._uow(read_only=True) as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            clients: list[Client] = uow.directory.clients()
        return [c for c in clients if viewer.client_id in (None, c.id)]

    def engineers(self, actor: str) -> dict[int, str]:
        """Names of provider staff by id, for showing who handles a ticket."""
        with self._uow(read_only=True) as uow:
            uow.directory.person_by_username(actor)
            return {p.id: p.full_name for p in uow.directory.people() if p.client_id is None}

    def colleagues_for(self, group: str, actor: str) -> list[Person]:
        """Provider staff who can work tasks of ``group`` (for the lead's reassign list)."""
        with self._uow(read_only=True) as uow:
            uow.directory.person_by_username(actor)
            people: list[Person] = uow.directory.people()
        return [
            p
            for p in people
            if p.client_id is None and group in ROLE_GROUPS.get(p.role, frozenset())
        ]

    def recent(self, actor: str, limit: int = 50) -> list[Ticket]:
        with self._uow(read_only=True) as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            tickets: list[Ticket] = uow.tickets.recent(client_id=viewer.client_id, limit=limit)
            if viewer.client_id is not None:
                tickets = [t for t in tickets if _visible(viewer, t)]
            return tickets


_WORD = re.compile(r"[\w]{3,}", re.UNICODE)
_STOP = frozenset({"the", "and", "for", "with", "not", "does", "from", "since", "this", "that"})


def _words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP}


@dataclass(frozen=True)
class FieldJob:
    task: HumanTask
    ticket: Ticket
    client: Client
    address: str
    site_name: str
    contact: Person


def _client_visible_to(uow: UnitOfWork, client_code: str, actor: str) -> Client:
    """The client, if the actor is staff or one of its people; otherwise "not found"."""
    viewer: Person = uow.directory.person_by_username(actor)
    client: Client = uow.directory.client_by_code(client_code)
    if viewer.client_id not in (None, client.id):
        raise NotFound(f"client '{client_code}' not found")
    return client


def _visible(viewer: Person, ticket: Ticket) -> bool:
    try:
        ensure_can_see_ticket(viewer, ticket)
    except Exception:
        return False
    return True
