"""Where an instance stands in its model: the elements it passed, the ones it waits at, and
where a model's catching events make instances wait."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

from itsm.engine.loader import HUMAN_TASK_TYPES
from itsm.services.ports import CatchEvent, InstancePath, WaitingElement

# Not recorded in the audit log as steps (see itsm.services.steps): the cockpit looks through
# them to the element recorded before.
_UNRECORDED = (ExclusiveGateway, ParallelGateway, InclusiveGateway, EventBasedGateway)


def trigger_of(definition: Any) -> str:
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    if isinstance(definition, MessageEventDefinition):
        return "message"
    return type(definition).__name__.removesuffix("EventDefinition").lower() or "none"


def kind_of(task_spec: Any) -> str:
    """The element type, with the trigger of a catching event: "BoundaryEvent:timer"."""
    name = type(task_spec).__name__
    if isinstance(task_spec, CatchingEvent):
        return f"{name}:{trigger_of(task_spec.event_definition)}"
    return name


def _is_wait(task: Any) -> bool:
    spec = task.task_spec
    if spec.bpmn_id is None:
        return False
    if task.state == TaskState.READY:
        return isinstance(spec, HUMAN_TASK_TYPES)
    return isinstance(spec, CatchingEvent) and not isinstance(spec, EventBasedGateway)


def waiting_tasks(workflow: Any) -> list[Any]:
    """READY human tasks and WAITING catching events (timers, messages), in tree order."""
    return [
        task
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        if _is_wait(task)
    ]


def waiting_elements(workflow: Any) -> tuple[WaitingElement, ...]:
    return tuple(
        WaitingElement(
            element_id=str(task.task_spec.bpmn_id),
            name=str(task.task_spec.bpmn_name or task.task_spec.bpmn_id),
            kind=kind_of(task.task_spec),
        )
        for task in waiting_tasks(workflow)
    )


def path(workflow: Any) -> InstancePath:
    """Completed BPMN elements in the order they completed (the engine's internal tasks —
    root, start, end joins, boundary splits — have no BPMN id and are left out), and the
    elements the instance waits at, a failed one included."""
    completed = [
        task
        for task in workflow.get_tasks(state=TaskState.COMPLETED)
        if task.task_spec.bpmn_id is not None
    ]
    # The tree order breaks ties between tasks completed in the same instant.
    ordered = sorted(enumerate(completed), key=lambda pair: (pair[1].last_state_change, pair[0]))
    failed = [
        str(task.task_spec.bpmn_id)
        for task in workflow.get_tasks(state=TaskState.ERROR)
        if task.task_spec.bpmn_id is not None
    ]
    return InstancePath(
        visited=tuple(str(task.task_spec.bpmn_id) for _, task in ordered),
        waiting=tuple(element.element_id for element in waiting_elements(workflow)) + tuple(failed),
    )


def catch_events(spec: Any) -> tuple[CatchEvent, ...]:
    """The model's catching events an instance can wait at (start events excepted)."""
    found = []
    for task_spec in spec.task_specs.values():
        if (
            not isinstance(task_spec, CatchingEvent)
            or isinstance(task_spec, StartEvent | EventBasedGateway)
            or task_spec.bpmn_id is None
        ):
            continue
        attached_to = _attached_activity(task_spec)
        found.append(
            CatchEvent(
                element_id=str(task_spec.bpmn_id),
                trigger=trigger_of(task_spec.event_definition),
                attached_to=attached_to,
                after=frozenset() if attached_to else frozenset(_recorded_before(task_spec)),
            )
        )
    return tuple(sorted(found, key=lambda event: event.element_id))


def _attached_activity(task_spec: Any) -> str | None:
    if not isinstance(task_spec, BoundaryEvent):
        return None
    # A boundary event hangs off the engine's split in front of its activity.
    for split in task_spec.inputs:
        for sibling in split.outputs:
            if not isinstance(sibling, BoundaryEvent) and sibling.bpmn_id is not None:
                return str(sibling.bpmn_id)
    return None


def _recorded_before(task_spec: Any) -> Iterator[str]:
    seen: set[str] = set()
    pending = list(task_spec.inputs)
    while pending:
        before = pending.pop()
        if before.name in seen:
            continue
        seen.add(before.name)
        if before.bpmn_id is None or isinstance(before, _UNRECORDED):
            pending.extend(before.inputs)
        else:
            yield str(before.bpmn_id)
