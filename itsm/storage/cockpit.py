"""The process cockpit's figures per BPMN element, in one set-based statement.

Where instances wait comes from the inbox rows (open human tasks), the instance rows (failed
elements, due timers) and, for instances waiting at an intermediate event, the element the
audit log recorded last. Time spent comes from finished task rows (created → completed or
cancelled) and, for catching events, from the audit log: every element of one engine run is
recorded at the same instant, so an event's wait is the time between the step recorded
before it and its own step.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    String,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)

from itsm.domain.process import InstanceStatus, TaskStatus
from itsm.storage import tables as t

RECORDED_KINDS = ("step", "task_completed")
"""Audit kinds naming an element the instance completed (gateways are not recorded)."""

_FAILED = (InstanceStatus.FAILING.value, InstanceStatus.INCIDENT.value)
_FINISHED_TASKS = (TaskStatus.COMPLETED.value, TaskStatus.CANCELLED.value)


def _seconds_between(end: Any, start: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # instants are stored as ISO text
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def element_figures(
    db: Connection, definition_ids: Sequence[int], catch_elements: Collection[str]
) -> list[dict[str, Any]]:
    """Rows of ``source``: "task" (an open human task), "failed" (a failing instance at its
    element), "idle" (a running instance without open tasks, at the element it recorded
    last) — each with ticket_number, definition_id and has_timer — and "task_time" /
    "event_time" (avg ``seconds`` and ``samples`` per element)."""
    instances, tasks, tickets, audit = t.process_instances, t.human_tasks, t.tickets, t.audit_events
    dialect = db.dialect.name
    on_version = instances.c.definition_id.in_(list(definition_ids))
    has_timer = case((instances.c.next_timer_at.is_(None), 0), else_=1).label("has_timer")
    no_ticket = cast(null(), String).label("ticket_number")
    no_figures = (cast(null(), Float).label("seconds"), cast(null(), Integer).label("samples"))
    no_position = (cast(null(), Integer).label("definition_id"), literal(0).label("has_timer"))
    with_ticket = instances.join(tickets, tickets.c.id == instances.c.ticket_id)

    open_tasks = (
        select(
            literal("task").label("source"),
            tasks.c.element_id,
            tickets.c.number.label("ticket_number"),
            instances.c.definition_id,
            has_timer,
            *no_figures,
        )
        .select_from(with_ticket.join(tasks, tasks.c.instance_id == instances.c.id))
        .where(on_version, tasks.c.status == TaskStatus.OPEN.value)
    )
    failed = (
        select(
            literal("failed"),
            instances.c.failed_element,
            tickets.c.number,
            instances.c.definition_id,
            has_timer,
            *no_figures,
        )
        .select_from(with_ticket)
        .where(on_version, instances.c.status.in_(_FAILED))
    )
    last_recorded = (
        select(audit.c.element_id)
        .where(
            audit.c.ticket_id == instances.c.ticket_id,  # the (ticket_id, id) index
            audit.c.instance_id == instances.c.id,
            audit.c.kind.in_(RECORDED_KINDS),
        )
        .order_by(audit.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    waits_for_a_person = exists().where(
        tasks.c.instance_id == instances.c.id, tasks.c.status == TaskStatus.OPEN.value
    )
    idle = (
        select(
            literal("idle"),
            last_recorded,
            tickets.c.number,
            instances.c.definition_id,
            has_timer,
            *no_figures,
        )
        .select_from(with_ticket)
        .where(
            on_version,
            instances.c.status == InstanceStatus.RUNNING.value,
            ~waits_for_a_person,
        )
    )
    task_times = (
        select(
            literal("task_time"),
            tasks.c.element_id,
            no_ticket,
            *no_position,
            func.avg(_seconds_between(tasks.c.completed_at, tasks.c.created_at, dialect)).label(
                "seconds"
            ),
            func.count().label("samples"),
        )
        .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id))
        .where(
            on_version,
            tasks.c.status.in_(_FINISHED_TASKS),
            tasks.c.completed_at.is_not(None),
        )
        .group_by(tasks.c.element_id)
    )
    before = audit.alias("before")
    waited_since = (
        select(before.c.occurred_at)
        .where(
            before.c.ticket_id == audit.c.ticket_id,
            before.c.instance_id == audit.c.instance_id,
            before.c.id < audit.c.id,
            before.c.kind.in_(RECORDED_KINDS),
        )
        .order_by(before.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    event_times = (
        select(
            literal("event_time"),
            audit.c.element_id,
            no_ticket,
            *no_position,
            func.avg(_seconds_between(audit.c.occurred_at, waited_since, dialect)).label("seconds"),
            func.count().label("samples"),
        )
        .select_from(audit.join(instances, instances.c.id == audit.c.instance_id))
        .where(
            on_version,
            audit.c.kind == "step",
            audit.c.element_id.in_(sorted(catch_elements)),
        )
        .group_by(audit.c.element_id)
    )
    statement = union_all(open_tasks, failed, idle, task_times, event_times)
    return [dict(row) for row in db.execute(statement).mappings()]
