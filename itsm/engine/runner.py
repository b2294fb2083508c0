"""Run process instances on SpiffWorkflow: start, complete a human task, fire due timers.

This is the only place engine objects live. Each call restores an instance from its stored
state, advances it to the next wait state and hands back plain data (``EngineRun``); the
caller persists it in the same transaction as everything the step changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from itsm.domain.errors import ConflictError, ItsmError, ProcessFailed
from itsm.engine import migration, positions, sandbox
from itsm.engine.loader import (
    HUMAN_TASK_TYPES,
    ParsedProcess,
    SpecCache,
    parse_source,
    user_task_spec,
)
from itsm.engine.serialization import StateSerializer
from itsm.services.ports import (
    CatchEvent,
    Clock,
    ElementFailure,
    EngineRun,
    InstancePath,
    JsonDict,
    MigrationCheck,
    PassedElement,
    ProcessModel,
    ProcessSource,
    ServiceInvoker,
    StepObserver,
    WaitingTask,
)

# Elements that only do something (a call, a computation, a table lookup): skipping one leaves
# its result unset. A gateway or an event decides the path and cannot be skipped.
_SKIPPABLE_KINDS = frozenset({"ServiceTask", "ScriptTask", "BusinessRuleTask"})


class _SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Any = None
    ) -> Any:
        variables = {**context, **external_context} if external_context else context
        return sandbox.evaluate(expression, variables)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        sandbox.execute(script, context)
        return True


class _ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Binds one engine run to the application's clock and service-task invoker."""

    def __init__(self, clock: Clock, invoke: ServiceInvoker) -> None:
        super().__init__(environment=_SandboxedEnvironment())
        self.clock = clock
        self._invoke = invoke

    def call_service(
        self, task: Any, operation_name: str, operation_params: dict[str, Any], **_: Any
    ) -> str:
        # Overridden: the library's own error path raises NameError instead of the cause.
        parameters = {name: spec["value"] for name, spec in operation_params.items()}
        return json.dumps(self._invoke(operation_name, parameters))


MAX_ELEMENTS_PER_RUN = 500
"""Elements one engine run may pass before it is taken for an endless loop (one run of the
lifecycle passes at most about 40). SpiffWorkflow itself gives up on such a loop silently
after about 1000, leaving an instance that neither waits nor ends."""


class _StepRecorder:
    """Collects the BPMN elements a run passes and tells the observer before each one runs,
    so whatever a service task records appears after the step that caused it."""

    def __init__(self, observe: StepObserver | None) -> None:
        self.passed: list[PassedElement] = []
        self.current: Any = None
        """The task last handed to the engine to run (the one that raised, on a failure)."""
        self._observe = observe

    @property
    def running(self) -> str:
        return self.passed[-1].element_id if self.passed else "?"

    def __call__(self, task: Any) -> None:
        self.current = task
        spec = task.task_spec
        if len(self.passed) >= MAX_ELEMENTS_PER_RUN:
            # A loop with no wait state would keep the worker forever: stop it here and let
            # the element fail like any other (an incident, which an admin can skip).
            task.error()
            raise ProcessFailed(
                str(spec.bpmn_id or spec.name),
                f"the process passed {MAX_ELEMENTS_PER_RUN} elements without waiting for a "
                "person, a timer or a message: a loop without a wait state?",
            )
        if spec.bpmn_id is not None:
            element = PassedElement(
                spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, type(spec).__name__
            )
            self.passed.append(element)
            if self._observe is not None:
                self._observe(element)


class SpiffProcessEngine:
    """Implements ``ProcessEngine`` on SpiffWorkflow."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._specs = SpecCache()
        self._states = StateSerializer()

    def inspect(self, source: ProcessSource, *, validate: bool = True) -> ProcessModel:
        return parse_source(source, validate=validate).model

    def start(
        self,
        source: ProcessSource,
        content_hash: str,
        data: JsonDict,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        parsed = self._specs.get(source, content_hash)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
        workflow.script_engine = _ScriptEngine(self._clock, invoke)
        # Scripts and service parameters read the start task's data, not workflow.data.
        start_task = workflow.get_tasks(state=TaskState.READY)[0]
        start_task.data.update(data)
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def complete_task(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        task_id: str,
        variables: JsonDict,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        workflow = self._restore(source, content_hash, state, invoke)
        task = _open_user_task(workflow, task_id)
        task.data.update(variables)
        _guarded(task.run, lambda: str(task.task_spec.bpmn_id))
        # The completed task itself is recorded by the caller, with who did it and what.
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def fire_due_timers(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        workflow = self._restore(source, content_hash, state, invoke)
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def deliver_message(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        message: str,
        payload: JsonDict,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun | None:
        workflow = self._restore(source, content_hash, state, invoke)
        # Event definitions match by class as well as name: use the parser's own class.
        definition = next(
            (
                task.task_spec.event_definition
                for task in workflow.event_manager.tasks.values()
                if isinstance(task.task_spec.event_definition, MessageEventDefinition)
                and task.task_spec.event_definition.name == message
            ),
            None,
        )
        if definition is None:
            return None  # nothing in this instance waits for it right now
        event = BpmnEvent(definition, payload)
        _guarded(lambda: workflow.event_manager.catch(event, internal=False), lambda: message)
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def retry_failed(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        workflow = self._restore(source, content_hash, state, invoke)
        for task in _failed_tasks(workflow):
            # Back to where it stood just before it ran: its data is what it inherited (a
            # service task writes its result only on success), so running it again is the
            # same call with the same parameters.
            task._set_state(TaskState.READY)
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def skip_failed(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        workflow = self._restore(source, content_hash, state, invoke)
        for task in _failed_tasks(workflow):
            spec = task.task_spec
            kind = type(spec).__name__
            if kind not in _SKIPPABLE_KINDS:
                raise ConflictError(
                    f"'{spec.bpmn_name or spec.bpmn_id}' is a {kind}: it decides what comes "
                    "next, so it cannot be skipped; fix the model and retry"
                )
            result_variable = getattr(spec, "result_variable", None)
            if result_variable:
                task.data[result_variable] = None  # "no result", for the model to test
            element_id = str(spec.bpmn_id)
            _guarded(task.complete, lambda: element_id)  # noqa: B023 (called right here)
        return self._run_to_wait(workflow, _StepRecorder(observe))

    def set_variables(
        self, source: ProcessSource, content_hash: str, state: str, variables: JsonDict
    ) -> str:
        workflow = self._restore(source, content_hash, state, _no_service_calls)
        # A task inherits its parent's data when it becomes ready, and every task that can
        # still run descends from an unfinished one: setting them all reaches the future.
        # A failed task (ERROR) runs again with its own data on retry, so it is set too.
        for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK | TaskState.ERROR):
            task.data.update(variables)
        return str(self._states.dump(workflow))

    # Versions (itsm.engine.migration, itsm.engine.positions): nothing here runs a step.

    def migration_check(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        target: ProcessSource,
        target_hash: str,
    ) -> MigrationCheck:
        workflow = self._restore(source, content_hash, state, _no_service_calls)
        return migration.check(workflow, self._specs.get(target, target_hash))

    def migrate(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        target: ProcessSource,
        target_hash: str,
    ) -> EngineRun:
        workflow = self._restore(source, content_hash, state, _no_service_calls)
        migration.move(workflow, self._specs.get(target, target_hash))
        # Loaded back on the new version: what is stored is what the next step will read.
        moved = self._restore(target, target_hash, self._states.dump(workflow), _no_service_calls)
        return self._engine_run(moved, moved.get_tasks(state=TaskState.READY), (), None)

    def instance_path(self, source: ProcessSource, content_hash: str, state: str) -> InstancePath:
        return positions.path(self._restore(source, content_hash, state, _no_service_calls))

    def catch_events(self, source: ProcessSource, content_hash: str) -> tuple[CatchEvent, ...]:
        return positions.catch_events(self._specs.get(source, content_hash).spec)

    def _restore(
        self, source: ProcessSource, content_hash: str, state: str, invoke: ServiceInvoker
    ) -> Any:
        parsed: ParsedProcess = self._specs.get(source, content_hash)
        workflow = self._states.load(state, parsed.spec, parsed.subprocess_specs)
        workflow.script_engine = _ScriptEngine(self._clock, invoke)
        return workflow

    def _run_to_wait(self, workflow: Any, recorder: _StepRecorder) -> EngineRun:
        # Timers that are already due (a replayed history, a late timer run) fire now, so
        # keep stepping until nothing automatic is left.
        failure: ElementFailure | None = None
        while True:
            try:
                workflow.do_engine_steps(will_complete_task=recorder)
            except Exception as err:
                failure = _contained(err, recorder)
            ready = workflow.get_tasks(state=TaskState.READY)
            if failure is not None or all(t.task_spec.manual for t in ready):
                break
        return self._engine_run(workflow, ready, tuple(recorder.passed), failure)

    def _engine_run(
        self,
        workflow: Any,
        ready: list[Any],
        passed: tuple[PassedElement, ...],
        failure: ElementFailure | None,
    ) -> EngineRun:
        """What the caller persists: ``ready`` is the workflow's READY tasks, as just read."""
        last = workflow.last_task
        return EngineRun(
            state=self._states.dump(workflow),
            waiting_tasks=tuple(
                _waiting_task(t) for t in ready if isinstance(t.task_spec, HUMAN_TASK_TYPES)
            ),
            passed=passed,
            next_timer_at=_next_timer_at(workflow.event_manager.tasks.values()),
            completed=bool(workflow.completed) and failure is None,
            data=dict(last.data) if last is not None else {},
            failure=failure,
        )


def _no_service_calls(operation: str, parameters: JsonDict) -> JsonDict:
    raise ItsmError(f"service task '{operation}' called while only setting variables")


def _guarded(step: Any, running: Callable[[], str]) -> None:
    """Run an engine step, turning every failure into a domain error naming the element.

    Conflicts pass through unchanged: they mean "someone else was faster", not a broken model.
    """
    try:
        step()
    except Exception as err:
        raise _domain_error(err, running) from err


def _domain_error(err: Exception, running: Callable[[], str]) -> ItsmError:
    if isinstance(err, SpiffWorkflowException):
        cause = _cause(err)
        if isinstance(cause, ConflictError):
            return cause
        element = getattr(getattr(err, "task_spec", None), "bpmn_id", None) or running()
        return ProcessFailed(element, _reason(err))
    if isinstance(err, ConflictError | ProcessFailed):
        return err
    # A bug in a service-task function must not look like success either.
    return ProcessFailed(running(), _reason(err))


def _cause(err: SpiffWorkflowException) -> BaseException | None:
    """What went wrong inside the engine (the library wraps it)."""
    cause: BaseException | None = getattr(err, "exception", None)
    return cause or err.__cause__ or err.__context__


def _reason(err: Exception) -> str:
    if isinstance(err, SpiffWorkflowException):
        cause = _cause(err)
        return str(cause) if isinstance(cause, ItsmError) else str(err)
    if isinstance(err, ItsmError):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _contained(err: Exception, recorder: _StepRecorder) -> ElementFailure:
    """The failure of the element being run, when the engine left it in ERROR (so it can be
    run again or skipped later); anything else is raised as before, and the step rolls back.
    """
    error = _domain_error(err, lambda: recorder.running)
    task = recorder.current
    if isinstance(error, ConflictError) or task is None or task.state != TaskState.ERROR:
        raise error from err
    spec = task.task_spec
    element_id = str(spec.bpmn_id or spec.name)
    if recorder.passed and recorder.passed[-1].element_id == element_id:
        recorder.passed.pop()  # it was about to run, but it did not pass
    return ElementFailure(
        element_id=element_id,
        name=str(spec.bpmn_name or element_id),
        kind=type(spec).__name__,
        reason=_reason(err),
    )


def _failed_tasks(workflow: Any) -> list[Any]:
    failed = workflow.get_tasks(state=TaskState.ERROR)
    if not failed:
        raise ConflictError("no step of this process is failing any more")
    return list(failed)


def _open_user_task(workflow: Any, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, SpiffWorkflowException):
        task = None
    if (
        task is None
        or task.state != TaskState.READY
        or not isinstance(task.task_spec, HUMAN_TASK_TYPES)
    ):
        raise ConflictError(f"task {task_id} is no longer open in this process instance")
    return task


def _waiting_task(task: Any) -> WaitingTask:
    spec = user_task_spec(task.task_spec)
    expression = (task.task_spec.extensions.get("properties") or {}).get("assign_to")
    assignee = None
    if expression:
        try:
            value = sandbox.evaluate(expression, task.data)
            assignee = str(value) if value else None
        except Exception:  # an unassignable task stays in its group's queue
            assignee = None
    return WaitingTask(task_id=str(task.id), spec=spec, assignee=assignee)


def _next_timer_at(waiting: Iterable[Any]) -> datetime | None:
    due: list[datetime] = []
    for task in waiting:
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, str):
            due.append(TimerEventDefinition.get_datetime(value))
        elif isinstance(value, dict) and value.get("cycles") != 0 and "next" in value:
            due.append(datetime.fromisoformat(value["next"]))  # a cycle timer's next firing
    return min(due, default=None)
