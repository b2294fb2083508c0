"""The process cockpit: per BPMN element, who waits there now and how long tickets stay;
and the path one ticket took through its model.

The figures come from one set-based read (task rows, instance rows, the audit log) and the
model's catching events, never from deserializing instances; a ticket's path reads its one
instance's engine state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import NotFound, PermissionDenied
from itsm.domain.people import Role
from itsm.services.permissions import ensure_can_see_ticket
from itsm.services.ports import CatchEvent, UnitOfWorkFactory, VersionedEngine
from itsm.services.processes import ProcessService
from itsm.services.steps import source_of

COCKPIT_ROLES = frozenset({Role.MANAGER, Role.SERVICE_DESK_LEAD, Role.PROCESS_OWNER, Role.ADMIN})
"""Provider staff who see every client's figures."""


@dataclass(frozen=True)
class ElementFigures:
    open_count: int
    """Tickets waiting at the element now (an open task, a running timer, a failed step)."""
    avg_seconds: float | None
    """Average time instances spent at the element (None: nobody has left it yet)."""
    ticket_numbers: tuple[str, ...]
    """The tickets waiting there now, sorted."""


@dataclass(frozen=True)
class TicketPath:
    definition_id: int
    version: int
    visited: tuple[str, ...]
    """BPMN element ids completed, in order (a loop repeats them)."""
    waiting: tuple[str, ...]
    """Where it waits now: human tasks, catching events, a failed element."""


class ProcessCockpit:
    def __init__(
        self, uow: UnitOfWorkFactory, processes: ProcessService, engine: VersionedEngine
    ) -> None:
        self._uow = uow
        self._processes = processes
        self._engine = engine

    def figures(
        self, key: str, actor: str, definition_id: int | None = None
    ) -> dict[str, ElementFigures]:
        """Per element id, over every version of ``key`` or only ``definition_id`` (the
        instances on a version now, with their history from before a migration)."""
        with self._uow(read_only=True) as uow:
            _ensure_sees_all_clients(uow.directory.person_by_username(actor))
            ids = uow.processes.definition_ids(key)
            if not ids:
                raise NotFound(f"process {key} not found")
            if definition_id is not None:
                if definition_id not in ids:
                    raise NotFound(f"process definition {definition_id} of {key} not found")
                ids = [definition_id]
            events: dict[int, tuple[CatchEvent, ...]] = {}
            for each in ids:
                definition = self._processes.definition(each, uow)
                events[each] = self._engine.catch_events(
                    source_of(definition), definition.content_hash
                )
            catching = {event.element_id for model in events.values() for event in model}
            rows = uow.processes.element_figures(ids, catching)
        return element_figures(rows, events)

    def ticket_path(self, ticket_number: str, actor: str) -> TicketPath:
        """Visible to whoever may see the ticket; another client's ticket does not exist."""
        with self._uow(read_only=True) as uow:
            viewer: Person = uow.directory.person_by_username(actor)
            ticket = uow.tickets.get_by_number(ticket_number)
            ensure_can_see_ticket(viewer, ticket)
            instance = uow.processes.instance_for_ticket(ticket.id)
            if instance is None:
                raise NotFound(f"ticket {ticket_number} has no process")
            definition = self._processes.definition(instance.definition_id, uow)
        path = self._engine.instance_path(
            source_of(definition), definition.content_hash, instance.state
        )
        return TicketPath(definition.id, definition.version, path.visited, path.waiting)


def element_figures(
    rows: Iterable[Mapping[str, Any]], events: Mapping[int, tuple[CatchEvent, ...]]
) -> dict[str, ElementFigures]:
    """The cockpit's figures from the storage rows (see itsm.storage.cockpit) and each
    version's catching events: a boundary timer counts the tickets at its open task, an
    intermediate event those whose last recorded element leads to it."""
    waiting: defaultdict[str, set[str]] = defaultdict(set)
    totals: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        element, source = row["element_id"], row["source"]
        if element is None:
            continue
        if source in ("task_time", "event_time"):
            if row["seconds"] is not None:
                totals[element][0] += float(row["seconds"]) * row["samples"]
                totals[element][1] += row["samples"]
            continue
        number, model = row["ticket_number"], events.get(row["definition_id"], ())
        if source == "task":
            waiting[element].add(number)
            for event in model:
                if event.attached_to == element and event.trigger == "timer" and row["has_timer"]:
                    waiting[event.element_id].add(number)
        elif source == "failed":
            waiting[element].add(number)
        elif source == "idle":
            for event in model:
                timer_running = event.trigger != "timer" or bool(row["has_timer"])
                if event.attached_to is None and element in event.after and timer_running:
                    waiting[event.element_id].add(number)
    return {
        element: ElementFigures(
            open_count=len(waiting.get(element, ())),
            avg_seconds=totals[element][0] / totals[element][1] if element in totals else None,
            ticket_numbers=tuple(sorted(waiting.get(element, ()))),
        )
        for element in sorted(set(waiting) | set(totals))
    }


def _ensure_sees_all_clients(person: Person) -> None:
    if person.client_id is not None or person.role not in COCKPIT_ROLES:
        raise PermissionDenied(
            f"{person.username} ({person.role.value}) cannot see the process figures of all clients"
        )
