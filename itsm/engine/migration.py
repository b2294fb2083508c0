"""Moving a waiting instance onto another deployed version of its process.

SpiffWorkflow's diff (``diff_workflow``'s parts) aligns the old spec with the new one by
BPMN id, and ``migrate_workflow`` puts every task on its aligned spec and resets the
READY/WAITING ones (same task UUIDs, so the inbox rows stay valid). Left to us:

* a finished task whose element is gone keeps its old spec, and the stored state then no
  longer loads on the new version — so such an instance does not move;
* a reset task re-inherits its parent's data, losing what was set on it while it waited
  (``set_variables``) — so the data of every waiting task is put back;
* a reset timer starts over from now — so a timer whose definition did not change keeps its
  deadline (an auto-close due tomorrow must not be pushed back by a model change).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from itsm.domain.errors import ConflictError
from itsm.engine.loader import ParsedProcess
from itsm.engine.positions import kind_of, waiting_elements, waiting_tasks
from itsm.services.ports import MigrationCheck

_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


@cache
def _registry() -> Any:
    # The diff compares specs through their serialized form: it needs the spiff extensions.
    return BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


@lru_cache(maxsize=16)
def _spec_diff(original: Any, new: Any) -> Any:
    # Parsed specs are cached per version for the life of the process, and comparing two
    # of them is most of a check's cost: once per pair of versions, not per instance.
    return SpecDiff(_registry(), original, new)


def _diff(workflow: Any, target: ParsedProcess) -> Any:
    """``diff_workflow`` for the top-level process (instances in subprocesses do not move)."""
    return WorkflowDiff(workflow, _spec_diff(workflow.spec, target.spec))


def _label(task_spec: Any) -> str:
    return f"'{task_spec.bpmn_name or task_spec.bpmn_id}' ({task_spec.bpmn_id})"


def _problems(workflow: Any, target: ParsedProcess) -> list[str]:
    problems = []
    if workflow.get_tasks(state=TaskState.ERROR):
        problems.append("a step is failing: retry or skip it before moving the instance")
    if workflow.subprocesses:
        problems.append("it is inside a subprocess or call activity, which cannot be moved yet")
    for task in waiting_tasks(workflow):
        spec = task.task_spec
        counterpart = target.spec.task_specs.get(spec.name)
        if counterpart is None:
            problems.append(f"waits at {_label(spec)}, which the new version does not have")
        elif kind_of(counterpart) != kind_of(spec):
            problems.append(
                f"waits at {_label(spec)}, a {kind_of(spec)}, which is a "
                f"{kind_of(counterpart)} in the new version"
            )
    if problems:
        return problems
    top = _diff(workflow, target)
    gone = sorted({_label(task.task_spec) for task in top.removed if task.has_state(_FINISHED)})
    if gone:
        problems.append(
            f"it passed {', '.join(gone)}, which the new version does not have: "
            "its history would not load there"
        )
    return problems


def _kept_deadline(task: Any, new_spec: Any) -> Any:
    """The timer's stored deadline if the new version times it the same way, else None."""
    old, new = task.task_spec, new_spec
    if not (isinstance(old, CatchingEvent) and isinstance(new, CatchingEvent)):
        return None
    old_timer, new_timer = old.event_definition, new.event_definition
    if not (
        isinstance(old_timer, TimerEventDefinition)
        and type(old_timer) is type(new_timer)
        and old_timer.expression == new_timer.expression
    ):
        return None
    return task._get_internal_data("event_value")


def check(workflow: Any, target: ParsedProcess) -> MigrationCheck:
    """Where the instance waits and what keeps it from moving to ``target``. It moves the
    given (throwaway) workflow to find out, so a check and a migration always agree."""
    waiting = waiting_elements(workflow)
    problems = _problems(workflow, target)
    if not problems:
        _move_checked(workflow, target)
        problems = _foreign_tasks(workflow, target)
    return MigrationCheck(waiting=waiting, problems=tuple(problems))


def move(workflow: Any, target: ParsedProcess) -> None:
    """Put the workflow on ``target``; ConflictError (nothing moved that will be kept)
    when the check finds problems."""
    problems = _problems(workflow, target)
    if not problems:
        _move_checked(workflow, target)
        problems = _foreign_tasks(workflow, target)
    if problems:
        raise ConflictError("the instance cannot move: " + "; ".join(problems))


def _move_checked(workflow: Any, target: ParsedProcess) -> None:
    top = _diff(workflow, target)
    kept = {
        task.id: (dict(task.data), _kept_deadline(task, top.alignment.get(task)))
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    }
    migrate_workflow(top, workflow, target.spec)
    workflow.subprocess_specs = target.subprocess_specs
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.id not in kept:
            continue
        data, deadline = kept[task.id]
        task.data = data
        if deadline is not None:
            task._set_internal_data(event_value=deadline)


def _foreign_tasks(workflow: Any, target: ParsedProcess) -> list[str]:
    """Tasks still on a spec the new version does not have (the state would not load)."""
    names = sorted(
        {
            _label(task.task_spec) if task.task_spec.bpmn_id else task.task_spec.name
            for task in workflow.get_tasks()
            if task.task_spec.name not in target.spec.task_specs
        }
    )
    if not names:
        return []
    return [f"the engine could not place {', '.join(names)} on the new version"]
