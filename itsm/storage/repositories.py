"""Repositories: the queries and writes each use case needs, one small class per aggregate.

All of them share the unit of work's connection, so everything a step changes commits or
rolls back together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from itsm.domain.calendar import BusinessCalendar
from itsm.domain.directory import Client, Person, Site
from itsm.domain.errors import ConflictError, NotFound
from itsm.domain.packages import PackageBalance
from itsm.domain.process import (
    CLIENT_GROUPS,
    HumanTask,
    InstanceFailure,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from itsm.domain.sla import ServiceType
from itsm.domain.tickets import Ticket
from itsm.faults import fault_point
from itsm.storage import tables as t
from itsm.storage.cockpit import element_figures
from itsm.storage.rows import (
    calendar_to_json,
    client_from_row,
    definition_from_row,
    failure_to_row,
    instance_from_row,
    person_from_row,
    site_from_row,
    task_from_row,
    ticket_from_row,
)
from itsm.storage.sla import RECORD_STATUS_CHANGE

# The hottest reads are built once: building a statement and its cache key on every call
# was the largest single cost of a task completion in the profile (docs/benchmarks.md).
_CLIENT_BY_ID = select(t.clients).where(t.clients.c.id == bindparam("key"))
_PERSON_BY_ID = select(t.people).where(t.people.c.id == bindparam("key"))
_PERSON_BY_USERNAME = select(t.people).where(t.people.c.username == bindparam("key"))
_TICKET_BY_ID = select(t.tickets).where(t.tickets.c.id == bindparam("key"))
_INSTANCE_BY_ID = select(t.process_instances).where(t.process_instances.c.id == bindparam("key"))
_TASK_BY_ID = select(t.human_tasks).where(t.human_tasks.c.id == bindparam("key"))
_OPEN_TASKS_OF_INSTANCE = select(t.human_tasks).where(
    t.human_tasks.c.instance_id == bindparam("key"),
    t.human_tasks.c.status == TaskStatus.OPEN.value,
)


_UPDATE_TICKET = (
    update(t.tickets)
    .where(t.tickets.c.id == bindparam("b_ticket_id"))
    .values(version=t.tickets.c.version + 1)
)  # the columns to set come as parameters at execution
_SAVE_INSTANCE = (
    update(t.process_instances)
    .where(
        t.process_instances.c.id == bindparam("b_instance_id"),
        t.process_instances.c.version == bindparam("b_expected_version"),
    )
    .values(version=t.process_instances.c.version + 1)
)
_COMPLETE_TASK = (
    update(t.human_tasks)
    .where(t.human_tasks.c.id == bindparam("b_task_id"), t.human_tasks.c.status == "open")
    .values(status="completed", version=t.human_tasks.c.version + 1)
)
_SET_STAFF_DUE = (
    update(t.human_tasks)
    .where(
        t.human_tasks.c.ticket_id == bindparam("b_ticket_id"),
        t.human_tasks.c.status == TaskStatus.OPEN.value,
        t.human_tasks.c.candidate_group.not_in(CLIENT_GROUPS),
    )
    .values(due_at=bindparam("b_due_at"))
)
_FAILED_STATUSES = (InstanceStatus.FAILING.value, InstanceStatus.INCIDENT.value)
_INSERT_AUDIT = insert(t.audit_events)
_INSERT_OUTBOX = insert(t.outbox)
_INSERT_TASKS = insert(t.human_tasks)
_INSERT_TIME = insert(t.time_entries)


def _one(connection: Connection, statement: Any, key: object) -> RowMapping | None:
    return connection.execute(statement, {"key": key}).mappings().first()


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "insert returned no primary key"
    return int(key[0])


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


class DirectoryRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        # One unit of work reads the same requester, engineer and client several times (the
        # step, each service task, the notices); people and clients are immutable values
        # and barely change, so each is read once per transaction.
        self._people: dict[int, Person] = {}
        self._clients: dict[int, Client] = {}

    def add_client(
        self,
        *,
        code: str,
        name: str,
        sla_tier: str,
        default_service_type: str,
        language: str,
        calendar: BusinessCalendar,
        created_at: datetime,
    ) -> int:
        return _new_id(
            self._db.execute(
                insert(t.clients).values(
                    code=code,
                    name=name,
                    sla_tier=_enum_value(sla_tier),
                    default_service_type=_enum_value(default_service_type),
                    language=language,
                    calendar=calendar_to_json(calendar),
                    created_at=created_at,
                )
            )
        )

    def set_coordinator(self, client_id: int, person_id: int) -> None:
        self._db.execute(
            update(t.clients).where(t.clients.c.id == client_id).values(coordinator_id=person_id)
        )
        self._clients.pop(client_id, None)

    def add_site(self, client_id: int, name: str, address: str) -> int:
        return _new_id(
            self._db.execute(
                insert(t.sites).values(client_id=client_id, name=name, address=address)
            )
        )

    def add_person(
        self,
        *,
        username: str,
        full_name: str,
        role: str,
        client_id: int | None,
        email: str | None = None,
        phone: str | None = None,
        is_authorised: bool = False,
        active: bool = True,
    ) -> int:
        return _new_id(
            self._db.execute(
                insert(t.people).values(
                    username=username,
                    full_name=full_name,
                    role=_enum_value(role),
                    client_id=client_id,
                    email=email,
                    phone=phone,
                    is_authorised=is_authorised,
                    active=active,
                )
            )
        )

    def client(self, client_id: int) -> Client:
        cached = self._clients.get(client_id)
        if cached is None:
            row = _one(self._db, _CLIENT_BY_ID, client_id)
            if row is None:
                raise NotFound(f"client {client_id} not found")
            cached = self._clients[client_id] = client_from_row(row)
        return cached

    def client_by_code(self, code: str) -> Client:
        row = self._db.execute(select(t.clients).where(t.clients.c.code == code)).mappings().first()
        if row is None:
            raise NotFound(f"client '{code}' not found")
        return client_from_row(row)

    def clients(self) -> list[Client]:
        rows = self._db.execute(select(t.clients).order_by(t.clients.c.code)).mappings()
        return [client_from_row(row) for row in rows]

    def sites(self, client_id: int) -> list[Site]:
        rows = self._db.execute(
            select(t.sites).where(t.sites.c.client_id == client_id).order_by(t.sites.c.id)
        ).mappings()
        return [site_from_row(row) for row in rows]

    def person(self, person_id: int) -> Person:
        cached = self._people.get(person_id)
        if cached is None:
            row = _one(self._db, _PERSON_BY_ID, person_id)
            if row is None:
                raise NotFound(f"person {person_id} not found")
            cached = self._people[person_id] = person_from_row(row)
        return cached

    def person_by_username(self, username: str) -> Person:
        for cached in self._people.values():
            if cached.username == username:
                return cached
        row = _one(self._db, _PERSON_BY_USERNAME, username)
        if row is None:
            raise NotFound(f"person '{username}' not found")
        person = self._people[row["id"]] = person_from_row(row)
        return person

    def people(self, *, role: str | None = None, client_id: int | None = None) -> list[Person]:
        query = select(t.people).where(t.people.c.active.is_(True)).order_by(t.people.c.id)
        if role is not None:
            query = query.where(t.people.c.role == _enum_value(role))
        if client_id is not None:
            query = query.where(t.people.c.client_id == client_id)
        return [person_from_row(row) for row in self._db.execute(query).mappings()]

    def any_client(self) -> bool:
        return self._db.execute(select(t.clients.c.id).limit(1)).first() is not None


# Changing any of these moves the SLA clock: the step recomputes it before committing.
_CLOCK_FIELDS = frozenset(
    {"status", "responded_at", "resolved_at", "reaction_target_hours", "resolution_target_hours"}
)
_HISTORY_FIELDS = frozenset({"status", "support_line"})


class TicketRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self.clock_touched: set[int] = set()
        """Tickets whose SLA clock inputs changed in this unit of work."""

    def next_sequence(self, counter: str) -> int:
        """Atomically the next number of ``counter`` (an upsert: concurrent first uses of a
        new counter, e.g. at New Year, cannot both insert it)."""
        dialect_insert = sqlite_insert if self._db.dialect.name == "sqlite" else postgres_insert
        statement = (
            dialect_insert(t.ticket_counters)
            .values(name=counter, value=1)
            .on_conflict_do_update(
                index_elements=[t.ticket_counters.c.name],
                set_={"value": t.ticket_counters.c.value + 1},
            )
            .returning(t.ticket_counters.c.value)
        )
        return int(self._db.execute(statement).scalar_one())

    def add(self, **values: Any) -> Ticket:
        values = {key: _enum_value(value) for key, value in values.items()}
        values.setdefault("updated_at", values["created_at"])
        values.setdefault("version", 1)
        values.setdefault("reopen_count", 0)
        ticket_id = _new_id(self._db.execute(insert(t.tickets).values(**values)))
        self._db.execute(RECORD_STATUS_CHANGE, {"ticket_id": ticket_id, "at": values["created_at"]})
        self.clock_touched.add(ticket_id)
        return self.get(int(ticket_id))

    def get(self, ticket_id: int) -> Ticket:
        row = _one(self._db, _TICKET_BY_ID, ticket_id)
        if row is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return ticket_from_row(row)

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        ids = sorted(set(ticket_ids))
        if not ids:
            return {}
        rows = self._db.execute(select(t.tickets).where(t.tickets.c.id.in_(ids))).mappings()
        return {row["id"]: ticket_from_row(row) for row in rows}

    def get_by_number(self, number: str) -> Ticket:
        row = (
            self._db.execute(select(t.tickets).where(t.tickets.c.number == number))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"ticket {number} not found")
        return ticket_from_row(row)

    def update(self, ticket_id: int, at: datetime, **changes: Any) -> None:
        values = {key: _enum_value(value) for key, value in changes.items()}
        self._db.execute(_UPDATE_TICKET, {"b_ticket_id": ticket_id, "updated_at": at, **values})
        # Every status or line change lands in the append-only history, in this transaction.
        if not _HISTORY_FIELDS.isdisjoint(values):
            self._db.execute(RECORD_STATUS_CHANGE, {"ticket_id": ticket_id, "at": at})
        if not _CLOCK_FIELDS.isdisjoint(values):
            self.clock_touched.add(ticket_id)

    def recent(self, *, client_id: int | None = None, limit: int = 50) -> list[Ticket]:
        query = select(t.tickets).order_by(t.tickets.c.id.desc()).limit(limit)
        if client_id is not None:
            query = query.where(t.tickets.c.client_id == client_id)
        return [ticket_from_row(row) for row in self._db.execute(query).mappings()]

    def count(self) -> int:
        return int(self._db.execute(select(func.count()).select_from(t.tickets)).scalar_one())

    def open_ids(self) -> list[int]:
        query = (
            select(t.tickets.c.id)
            .where(t.tickets.c.status.not_in(["closed", "rejected"]))
            .order_by(t.tickets.c.id)
        )
        return [int(each) for each in self._db.execute(query).scalars()]


class ProcessRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_definition(
        self,
        *,
        key: str,
        content_hash: str,
        bpmn_xml: str,
        dmn_xml: dict[str, str],
        forms: dict[str, Any],
        deployed_by: str,
        deployed_at: datetime,
        comment: str,
        scenarios_json: str | None = None,
    ) -> ProcessDefinition:
        latest = self._db.execute(
            select(func.max(t.process_definitions.c.version)).where(
                t.process_definitions.c.key == key
            )
        ).scalar()
        definition_id = _new_id(
            self._db.execute(
                insert(t.process_definitions).values(
                    key=key,
                    version=(latest or 0) + 1,
                    content_hash=content_hash,
                    bpmn_xml=bpmn_xml,
                    dmn_json=json.dumps(dmn_xml),
                    forms_json=json.dumps(forms),
                    deployed_by=deployed_by,
                    deployed_at=deployed_at,
                    comment=comment,
                    scenarios_json=scenarios_json,
                )
            )
        )
        return self.definition(int(definition_id))

    def set_scenarios(self, definition_id: int, scenarios_json: str) -> None:
        """Keep the scenarios a redeployed, unchanged version passed (its model stays)."""
        self._db.execute(
            update(t.process_definitions)
            .where(t.process_definitions.c.id == definition_id)
            .values(scenarios_json=scenarios_json)
        )

    def definition(self, definition_id: int) -> ProcessDefinition:
        row = (
            self._db.execute(
                select(t.process_definitions).where(t.process_definitions.c.id == definition_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"process definition {definition_id} not found")
        return definition_from_row(row)

    def latest_definition_id(self, key: str) -> int | None:
        found = self._db.execute(
            select(t.process_definitions.c.id)
            .where(t.process_definitions.c.key == key)
            .order_by(t.process_definitions.c.version.desc())
            .limit(1)
        ).scalar()
        return None if found is None else int(found)

    def definition_ids(self, key: str | None = None) -> list[int]:
        query = select(t.process_definitions.c.id).order_by(
            t.process_definitions.c.key, t.process_definitions.c.version
        )
        if key is not None:
            query = query.where(t.process_definitions.c.key == key)
        return [int(each) for each in self._db.execute(query).scalars()]

    def add_instance(
        self,
        *,
        ticket_id: int,
        definition_id: int,
        state: str,
        status: str,
        next_timer_at: datetime | None,
        at: datetime,
    ) -> int:
        return _new_id(
            self._db.execute(
                insert(t.process_instances).values(
                    ticket_id=ticket_id,
                    definition_id=definition_id,
                    state=state,
                    status=status,
                    next_timer_at=next_timer_at,
                    started_at=at,
                    updated_at=at,
                    version=1,
                )
            )
        )

    def instance(self, instance_id: int) -> ProcessInstance:
        row = _one(self._db, _INSTANCE_BY_ID, instance_id)
        if row is None:
            raise NotFound(f"process instance {instance_id} not found")
        return instance_from_row(row)

    def instance_for_ticket(self, ticket_id: int) -> ProcessInstance | None:
        row = (
            self._db.execute(
                select(t.process_instances).where(t.process_instances.c.ticket_id == ticket_id)
            )
            .mappings()
            .first()
        )
        return None if row is None else instance_from_row(row)

    def save_instance(
        self,
        instance_id: int,
        *,
        expected_version: int,
        state: str,
        status: str,
        next_timer_at: datetime | None,
        at: datetime,
        failure: InstanceFailure | None = None,
    ) -> int:
        """Write new engine state only if nobody else did since it was read; ``failure``
        None clears what an earlier failed step recorded."""
        fault_point("instance.before_save")
        result = self._db.execute(
            _SAVE_INSTANCE,
            {
                "b_instance_id": instance_id,
                "b_expected_version": expected_version,
                "state": state,
                "status": status,
                "next_timer_at": next_timer_at,
                "updated_at": at,
                **failure_to_row(failure),
            },
        )
        if result.rowcount != 1:
            raise ConflictError(
                "the ticket's process was changed by someone else in the meantime; "
                "reload and try again"
            )
        return expected_version + 1

    def due_instance_ids(self, now: datetime, limit: int) -> list[int]:
        query = (
            select(t.process_instances.c.id)
            .where(
                t.process_instances.c.status == "running",
                t.process_instances.c.next_timer_at <= now,
            )
            .order_by(t.process_instances.c.next_timer_at)
            .limit(limit)
        )
        return [int(each) for each in self._db.execute(query).scalars()]

    def retry_due_instance_ids(self, now: datetime, limit: int) -> list[int]:
        """Failing instances whose next automatic attempt is due, oldest due first."""
        query = (
            select(t.process_instances.c.id)
            .where(
                t.process_instances.c.status == InstanceStatus.FAILING.value,
                t.process_instances.c.next_retry_at <= now,
            )
            .order_by(t.process_instances.c.next_retry_at)
            .limit(limit)
        )
        return [int(each) for each in self._db.execute(query).scalars()]

    def failed_instances(
        self, *, client_ids: Iterable[int] | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Failing and incident instances with their ticket, incidents first, oldest first."""
        instances, tickets = t.process_instances, t.tickets
        query = (
            select(
                instances.c.id.label("instance_id"),
                instances.c.status,
                instances.c.version,
                instances.c.failed_element,
                instances.c.last_error,
                instances.c.attempts,
                instances.c.failed_since,
                instances.c.next_retry_at,
                tickets.c.id.label("ticket_id"),
                tickets.c.number.label("ticket_number"),
                tickets.c.subject.label("ticket_subject"),
                t.clients.c.code.label("client_code"),
            )
            .join(tickets, tickets.c.id == instances.c.ticket_id)
            .join(t.clients, t.clients.c.id == tickets.c.client_id)
            .where(instances.c.status.in_(_FAILED_STATUSES))
            .order_by(
                (instances.c.status == InstanceStatus.INCIDENT.value).desc(),
                instances.c.failed_since,
                instances.c.id,
            )
            .limit(limit)
        )
        if client_ids is not None:
            query = query.where(tickets.c.client_id.in_(list(client_ids)))
        return [dict(row) for row in self._db.execute(query).mappings()]

    def incident_count(self, *, client_ids: Iterable[int] | None = None) -> int:
        """Instances in an incident right now (waiting for a person, not for a retry)."""
        instances = t.process_instances
        query = (
            select(func.count())
            .select_from(instances)
            .where(instances.c.status == InstanceStatus.INCIDENT.value)
        )
        if client_ids is not None:
            query = query.join(t.tickets, t.tickets.c.id == instances.c.ticket_id).where(
                t.tickets.c.client_id.in_(list(client_ids))
            )
        return int(self._db.execute(query).scalar_one())

    # Instance migration and the process cockpit (itsm.services.instance_migration, …cockpit).

    def unfinished_instances(self, definition_id: int) -> list[dict[str, Any]]:
        """Instances of the version not completed yet, with their ticket, oldest first."""
        instances, tickets = t.process_instances, t.tickets
        query = (
            select(
                instances.c.id.label("instance_id"),
                instances.c.ticket_id,
                tickets.c.number.label("ticket_number"),
                instances.c.status,
                instances.c.version,
                instances.c.state,
                instances.c.next_timer_at,
            )
            .join(tickets, tickets.c.id == instances.c.ticket_id)
            .where(
                instances.c.definition_id == definition_id,
                instances.c.status != InstanceStatus.COMPLETED.value,
            )
            .order_by(instances.c.id)
        )
        return [dict(row) for row in self._db.execute(query).mappings()]

    def set_definition(self, instance_id: int, definition_id: int) -> None:
        """Move the instance to another version; the caller saved its state with the
        version check in the same transaction."""
        self._db.execute(
            update(t.process_instances)
            .where(t.process_instances.c.id == instance_id)
            .values(definition_id=definition_id)
        )

    def element_figures(
        self, definition_ids: Sequence[int], catch_elements: Iterable[str]
    ) -> list[dict[str, Any]]:
        return element_figures(self._db, definition_ids, set(catch_elements))


class HumanTaskRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_many(self, tasks: Sequence[HumanTask]) -> None:
        if tasks:
            self._db.execute(
                _INSERT_TASKS, [{**vars(task), "status": task.status.value} for task in tasks]
            )

    def get(self, task_id: str) -> HumanTask:
        row = _one(self._db, _TASK_BY_ID, task_id)
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return task_from_row(row)

    def open_for_instance(self, instance_id: int) -> list[HumanTask]:
        rows = self._db.execute(_OPEN_TASKS_OF_INSTANCE, {"key": instance_id}).mappings()
        return [task_from_row(row) for row in rows]

    def for_ticket(self, ticket_id: int) -> list[HumanTask]:
        rows = self._db.execute(
            select(t.human_tasks)
            .where(t.human_tasks.c.ticket_id == ticket_id)
            .order_by(t.human_tasks.c.created_at)
        ).mappings()
        return [task_from_row(row) for row in rows]

    def complete(self, task_id: str, actor: str, at: datetime) -> None:
        result = self._db.execute(
            _COMPLETE_TASK, {"b_task_id": task_id, "completed_at": at, "completed_by": actor}
        )
        if result.rowcount != 1:
            raise ConflictError(f"task {task_id} was completed by someone else in the meantime")

    def cancel(self, task_ids: Iterable[str], at: datetime) -> None:
        ids = list(task_ids)
        if ids:
            self._db.execute(
                update(t.human_tasks)
                .where(t.human_tasks.c.id.in_(ids))
                .values(status=TaskStatus.CANCELLED.value, completed_at=at)
            )

    def set_staff_due(self, ticket_id: int, due_at: datetime | None) -> None:
        """Move the due time of the ticket's open staff tasks (client decisions have none)."""
        self._db.execute(_SET_STAFF_DUE, {"b_ticket_id": ticket_id, "b_due_at": due_at})

    def assign(
        self, task_id: str, assignee: str | None, at: datetime, *, only_if_unclaimed_by: str | None
    ) -> None:
        """Set the assignee; with ``only_if_unclaimed_by`` it succeeds only for a free task."""
        conditions = [
            t.human_tasks.c.id == task_id,
            t.human_tasks.c.status == TaskStatus.OPEN.value,
        ]
        if only_if_unclaimed_by is not None:
            conditions.append(
                or_(
                    t.human_tasks.c.assignee.is_(None),
                    t.human_tasks.c.assignee == only_if_unclaimed_by,
                )
            )
        result = self._db.execute(
            update(t.human_tasks)
            .where(and_(*conditions))
            .values(
                assignee=assignee,
                claimed_at=at if assignee else None,
                version=t.human_tasks.c.version + 1,
            )
        )
        if result.rowcount != 1:
            raise ConflictError(f"task {task_id} was claimed or completed by someone else")

    def inbox(
        self,
        *,
        groups: Iterable[str] | None = None,
        assignee: str | None = None,
        client_id: int | None = None,
        ticket_filters: dict[str, Iterable[str]] | None = None,
        limit: int = 200,
    ) -> list[HumanTask]:
        """Open tasks, most urgent due time first; ``ticket_filters`` narrows by ticket
        columns (priority, category, channel) and by ``sla_tier`` of the client."""
        query = (
            select(t.human_tasks)
            .where(t.human_tasks.c.status == TaskStatus.OPEN.value)
            .order_by(t.human_tasks.c.due_at.nulls_last(), t.human_tasks.c.created_at)
            .limit(limit)
        )
        if groups is not None:
            query = query.where(t.human_tasks.c.candidate_group.in_(list(groups)))
        if assignee is not None:
            query = query.where(t.human_tasks.c.assignee == assignee)
        if client_id is not None:
            query = query.where(t.human_tasks.c.client_id == client_id)
        filters = {key: list(values) for key, values in (ticket_filters or {}).items() if values}
        if filters:
            matching = select(t.tickets.c.id).join(
                t.clients, t.clients.c.id == t.tickets.c.client_id
            )
            for key, values in filters.items():
                column = (
                    t.clients.c.sla_tier
                    if key == "sla_tier"
                    else (t.clients.c.code if key == "client" else t.tickets.c[key])
                )
                matching = matching.where(column.in_(values))
            query = query.where(t.human_tasks.c.ticket_id.in_(matching))
        return [task_from_row(row) for row in self._db.execute(query).mappings()]

    def refresh_open(
        self, task_id: str, *, name: str, candidate_group: str, form_key: str | None
    ) -> None:
        """What the model says about an open task (after its instance moved to another
        version); who claimed it stays."""
        self._db.execute(
            update(t.human_tasks)
            .where(t.human_tasks.c.id == task_id, t.human_tasks.c.status == TaskStatus.OPEN.value)
            .values(
                name=name,
                candidate_group=candidate_group,
                form_key=form_key,
                version=t.human_tasks.c.version + 1,
            )
        )

    def open_load(self, usernames: Iterable[str]) -> dict[str, int]:
        names = list(usernames)
        rows = self._db.execute(
            select(t.human_tasks.c.assignee, func.count())
            .where(
                t.human_tasks.c.status == TaskStatus.OPEN.value,
                t.human_tasks.c.assignee.in_(names),
            )
            .group_by(t.human_tasks.c.assignee)
        ).all()
        load = dict.fromkeys(names, 0)
        load.update({name: int(count) for name, count in rows})
        return load


class AuditLog:
    """Append-only: events are inserted, never updated or deleted."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def record(
        self,
        *,
        ticket_id: int | None,
        actor: str,
        kind: str,
        summary: str,
        at: datetime,
        **payload: Any,
    ) -> None:
        """One event outside a process step (comments, attachments, channel messages)."""
        self.record_many(
            [
                {
                    "occurred_at": at,
                    "actor": actor,
                    "kind": kind,
                    "ticket_id": ticket_id,
                    "summary": summary[:400],
                    "payload": payload,
                }
            ]
        )

    def record_many(self, events: Sequence[dict[str, Any]]) -> None:
        if events:
            self._db.execute(
                _INSERT_AUDIT,
                [
                    {**event, "payload": json.dumps(event.get("payload") or {}, default=str)}
                    for event in events
                ],
            )

    def for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.audit_events)
            .where(t.audit_events.c.ticket_id == ticket_id)
            .order_by(t.audit_events.c.id)
        ).mappings()
        return [{**row, "payload": json.loads(row["payload"])} for row in rows]


class Outbox:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, **message: Any) -> None:
        self.add_many([message])

    def add_many(self, messages: Sequence[dict[str, Any]]) -> None:
        if messages:
            self._db.execute(
                _INSERT_OUTBOX,
                [
                    {**message, "context": json.dumps(message["context"], default=str)}
                    for message in messages
                ],
            )

    def for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.outbox).where(t.outbox.c.ticket_id == ticket_id).order_by(t.outbox.c.id)
        ).mappings()
        return [{**row, "context": json.loads(row["context"])} for row in rows]

    def lease_due(
        self, *, now: datetime, until: datetime, worker: str, limit: int
    ) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due messages to ``worker``; a lease another worker still
        holds is left alone, an expired one is taken over."""
        free = or_(t.outbox.c.leased_until.is_(None), t.outbox.c.leased_until < now)
        candidates = (
            select(t.outbox.c.id)
            .where(t.outbox.c.status == "pending", t.outbox.c.next_attempt_at <= now, free)
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        if self._db.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = [int(each) for each in self._db.execute(candidates).scalars()]
        if not ids:
            return []
        self._db.execute(
            update(t.outbox)
            .where(t.outbox.c.id.in_(ids), free)
            .values(leased_until=until, leased_by=worker)
        )
        rows = self._db.execute(
            select(t.outbox)
            .where(
                t.outbox.c.id.in_(ids),
                t.outbox.c.leased_by == worker,
                t.outbox.c.leased_until == until,
            )
            .order_by(t.outbox.c.id)
        ).mappings()
        return [{**row, "context": json.loads(row["context"])} for row in rows]

    def mark_sent(self, message_id: int, worker: str, at: datetime) -> None:
        self._db.execute(
            update(t.outbox)
            .where(t.outbox.c.id == message_id, t.outbox.c.leased_by == worker)
            .values(
                status="sent",
                sent_at=at,
                attempts=t.outbox.c.attempts + 1,
                leased_until=None,
                last_error=None,
            )
        )

    def mark_failed(
        self,
        message_id: int,
        worker: str,
        error: str,
        *,
        attempts: int,
        next_attempt_at: datetime,
        give_up: bool,
    ) -> None:
        self._db.execute(
            update(t.outbox)
            .where(t.outbox.c.id == message_id, t.outbox.c.leased_by == worker)
            .values(
                status="failed" if give_up else "pending",
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                last_error=error,
                leased_until=None,
            )
        )

    def counts(self) -> dict[str, int]:
        rows = self._db.execute(
            select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status)
        ).all()
        return {str(status): int(count) for status, count in rows}


class KnowledgeBase:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_article(self, **article: Any) -> int:
        return _new_id(self._db.execute(insert(t.kb_articles).values(**article)))

    def articles(
        self, *, category: str | None = None, client_id: int | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Newest first; ``client_id`` limits to that client's and general articles."""
        query = select(t.kb_articles).order_by(t.kb_articles.c.id.desc()).limit(limit)
        if category is not None:
            query = query.where(t.kb_articles.c.category == category)
        if client_id is not None:
            query = query.where(
                or_(t.kb_articles.c.client_id == client_id, t.kb_articles.c.client_id.is_(None))
            )
        return [dict(row) for row in self._db.execute(query).mappings()]

    def article_for_ticket(self, ticket_id: int) -> dict[str, Any] | None:
        row = (
            self._db.execute(select(t.kb_articles).where(t.kb_articles.c.ticket_id == ticket_id))
            .mappings()
            .first()
        )
        return None if row is None else dict(row)


class WorkLog:
    """Time spent, prepaid hour packages and field visits."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_time_entry(self, **entry: Any) -> None:
        entry = {key: _enum_value(value) for key, value in entry.items()}
        self._db.execute(_INSERT_TIME, entry)

    def time_entries_for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.time_entries, t.people.c.full_name.label("person_name"))
            .join(t.people, t.people.c.id == t.time_entries.c.person_id)
            .where(t.time_entries.c.ticket_id == ticket_id)
            .order_by(t.time_entries.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def minutes_for_ticket(self, ticket_id: int) -> int:
        total = self._db.execute(
            select(func.coalesce(func.sum(t.time_entries.c.minutes), 0)).where(
                t.time_entries.c.ticket_id == ticket_id
            )
        ).scalar_one()
        return int(total)

    def add_package(
        self,
        *,
        client_id: int,
        service_type: ServiceType,
        hours: int,
        price_pln: Decimal,
        purchased_at: datetime,
        expires_at: datetime,
    ) -> int:
        return _new_id(
            self._db.execute(
                insert(t.hour_packages).values(
                    client_id=client_id,
                    service_type=service_type.value,
                    hours=hours,
                    price_pln=price_pln,
                    purchased_at=purchased_at,
                    expires_at=expires_at,
                    minutes_used=0,
                )
            )
        )

    def package_balances(self, client_id: int) -> list[PackageBalance]:
        rows = self._db.execute(
            select(t.hour_packages).where(t.hour_packages.c.client_id == client_id)
        ).mappings()
        return [
            PackageBalance(
                package_id=row["id"],
                service_type=ServiceType(row["service_type"]),
                purchased_at=row["purchased_at"],
                expires_at=row["expires_at"],
                minutes_total=row["hours"] * 60,
                minutes_used=row["minutes_used"],
            )
            for row in rows
        ]

    def deduct(self, ticket_id: int, package_id: int | None, minutes: int, at: datetime) -> None:
        if package_id is not None:
            self._db.execute(
                update(t.hour_packages)
                .where(t.hour_packages.c.id == package_id)
                .values(minutes_used=t.hour_packages.c.minutes_used + minutes)
            )
        self._db.execute(
            insert(t.package_deductions).values(
                ticket_id=ticket_id, package_id=package_id, minutes=minutes, deducted_at=at
            )
        )

    def deductions_for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.package_deductions).where(t.package_deductions.c.ticket_id == ticket_id)
        ).mappings()
        return [dict(row) for row in rows]

    def add_field_visit(self, **visit: Any) -> int:
        return _new_id(self._db.execute(insert(t.field_visits).values(**visit)))

    def open_field_visit_id(self, ticket_id: int) -> int | None:
        found = self._db.execute(
            select(t.field_visits.c.id)
            .where(t.field_visits.c.ticket_id == ticket_id, t.field_visits.c.status == "ordered")
            .order_by(t.field_visits.c.id.desc())
            .limit(1)
        ).scalar()
        return None if found is None else int(found)

    def report_field_visit(self, visit_id: int, **report: Any) -> None:
        self._db.execute(
            update(t.field_visits).where(t.field_visits.c.id == visit_id).values(**report)
        )

    def field_visits_for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.field_visits).where(t.field_visits.c.ticket_id == ticket_id)
        ).mappings()
        return [dict(row) for row in rows]


class SessionRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(
        self,
        *,
        token_hash: str,
        person_id: int,
        created_at: datetime,
        expires_at: datetime,
        method: str,
    ) -> None:
        self._db.execute(
            insert(t.login_sessions).values(
                id=token_hash,
                person_id=person_id,
                created_at=created_at,
                expires_at=expires_at,
                method=method,
            )
        )

    def active_person_id(
        self, token_hash: str, now: datetime, method: str | None = None
    ) -> int | None:
        query = select(t.login_sessions.c.person_id).where(
            t.login_sessions.c.id == token_hash,
            t.login_sessions.c.revoked_at.is_(None),
            t.login_sessions.c.expires_at > now,
        )
        if method is not None:
            query = query.where(t.login_sessions.c.method == method)
        found = self._db.execute(query).scalar()
        return None if found is None else int(found)

    def revoke(self, token_hash: str, at: datetime) -> bool:
        result = self._db.execute(
            update(t.login_sessions)
            .where(t.login_sessions.c.id == token_hash, t.login_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return result.rowcount == 1

    def set_password_hash(self, person_id: int, password_hash: str) -> None:
        self._db.execute(
            update(t.people).where(t.people.c.id == person_id).values(password_hash=password_hash)
        )

    def record_failure(self, username: str, at: datetime) -> None:
        self._db.execute(insert(t.login_failures).values(username=username, failed_at=at))

    def failures_since(self, username: str, since: datetime) -> list[datetime]:
        """When ``username`` failed to log in after ``since``, oldest first."""
        rows = self._db.execute(
            select(t.login_failures.c.failed_at)
            .where(t.login_failures.c.username == username, t.login_failures.c.failed_at > since)
            .order_by(t.login_failures.c.failed_at)
        )
        return [row[0] for row in rows]

    def forget_failures(self, username: str, *, before: datetime | None = None) -> None:
        """After a good login (all of them), or the ones too old to count (``before``)."""
        query = delete(t.login_failures).where(t.login_failures.c.username == username)
        if before is not None:
            query = query.where(t.login_failures.c.failed_at <= before)
        self._db.execute(query)

    def password_hash(self, username: str) -> tuple[int, str | None] | None:
        row = self._db.execute(
            select(t.people.c.id, t.people.c.password_hash).where(
                t.people.c.username == username, t.people.c.active.is_(True)
            )
        ).first()
        return None if row is None else (int(row[0]), row[1])


class CommentRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, **comment: Any) -> int:
        return _new_id(self._db.execute(insert(t.comments).values(**comment)))

    def for_ticket(self, ticket_id: int, *, include_internal: bool) -> list[dict[str, Any]]:
        query = (
            select(t.comments, t.people.c.full_name.label("author_name"))
            .join(t.people, t.people.c.id == t.comments.c.author_id)
            .where(t.comments.c.ticket_id == ticket_id)
            .order_by(t.comments.c.id)
        )
        if not include_internal:
            query = query.where(t.comments.c.internal.is_(False))
        return [dict(row) for row in self._db.execute(query).mappings()]


class AttachmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, **attachment: Any) -> int:
        return _new_id(self._db.execute(insert(t.attachments).values(**attachment)))

    def get(self, attachment_id: int) -> dict[str, Any]:
        row = (
            self._db.execute(select(t.attachments).where(t.attachments.c.id == attachment_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"attachment {attachment_id} not found")
        return dict(row)

    def for_ticket(self, ticket_id: int, *, include_internal: bool) -> list[dict[str, Any]]:
        query = (
            select(t.attachments)
            .where(t.attachments.c.ticket_id == ticket_id)
            .order_by(t.attachments.c.id)
        )
        if not include_internal:
            query = query.where(t.attachments.c.internal.is_(False))
        return [dict(row) for row in self._db.execute(query).mappings()]


class ApiTokenRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(
        self, *, name: str, token_hash: str, client_id: int, created_at: datetime, created_by: str
    ) -> int:
        return _new_id(
            self._db.execute(
                insert(t.api_tokens).values(
                    name=name,
                    token_hash=token_hash,
                    client_id=client_id,
                    created_at=created_at,
                    created_by=created_by,
                )
            )
        )

    def active_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        row = (
            self._db.execute(
                select(t.api_tokens).where(
                    t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def revoke(self, token_id: int, at: datetime) -> None:
        self._db.execute(
            update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(revoked_at=at)
        )

    def idempotent_ticket(self, token_id: int, key: str) -> tuple[str, int] | None:
        row = self._db.execute(
            select(t.idempotency_keys.c.request_sha256, t.idempotency_keys.c.ticket_id).where(
                t.idempotency_keys.c.token_id == token_id, t.idempotency_keys.c.key == key
            )
        ).first()
        return None if row is None else (str(row[0]), int(row[1]))

    def remember(
        self, *, token_id: int, key: str, request_sha256: str, ticket_id: int, at: datetime
    ) -> None:
        """Raises ConflictError when a concurrent request stored the same key first; the
        caller's transaction (and the ticket it made) is then rolled back."""
        try:
            self._db.execute(
                insert(t.idempotency_keys).values(
                    token_id=token_id,
                    key=key,
                    request_sha256=request_sha256,
                    ticket_id=ticket_id,
                    created_at=at,
                )
            )
        except IntegrityError as err:
            raise ConflictError(
                "a request with this Idempotency-Key is being processed; retry shortly"
            ) from err
