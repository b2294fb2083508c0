"""The ports the service layer depends on: clock, process engine and unit of work.

Adapters (``itsm.engine``, ``itsm.storage``) implement these; services and tests only
see the protocols, so an engine or database swap never touches a use case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

JsonDict = dict[str, Any]

ServiceInvoker = Callable[[str, JsonDict], JsonDict]
"""Runs a BPMN service task: (operation name, evaluated parameters) -> JSON-able result."""

StepObserver = Callable[["PassedElement"], None]
"""Told about each BPMN element just before the engine runs it, in execution order."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


@dataclass(frozen=True)
class ProcessSource:
    """Everything one deployment consists of: the BPMN, the DMN it calls and its forms."""

    bpmn_xml: str
    dmn_xml: Mapping[str, str] = field(default_factory=dict)
    forms: Mapping[str, JsonDict] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Identifies the deployment: equal sources share one parsed spec and one version."""
        digest = hashlib.sha256(self.bpmn_xml.encode("utf-8"))
        for name, xml in sorted(self.dmn_xml.items()):
            digest.update(b"\0dmn\0" + name.encode() + b"\0" + xml.encode("utf-8"))
        for name, form in sorted(self.forms.items()):
            canonical = json.dumps(form, sort_keys=True, separators=(",", ":"))
            digest.update(b"\0form\0" + name.encode() + b"\0" + canonical.encode("utf-8"))
        return digest.hexdigest()


@dataclass(frozen=True)
class ProcessModel:
    """What a parsed, valid process source tells the application."""

    process_key: str
    process_name: str
    content_hash: str
    user_tasks: Mapping[str, UserTaskSpec]
    service_operations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UserTaskSpec:
    element_id: str
    name: str
    lane: str | None
    candidate_group: str
    form_key: str | None
    ticket_status: str | None
    support_line: str | None


@dataclass(frozen=True)
class WaitingTask:
    """A human task the instance is waiting for, as the inbox needs it."""

    task_id: str
    spec: UserTaskSpec
    assignee: str | None


@dataclass(frozen=True)
class PassedElement:
    """A BPMN element the instance completed during one engine run (for the timeline)."""

    element_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class ElementFailure:
    """An automatic element (service task, script, business rule, gateway) that raised.

    The state of the run holds it as failed: ``retry_failed`` runs it again,
    ``skip_failed`` completes it without running it."""

    element_id: str
    name: str
    kind: str
    reason: str


@dataclass(frozen=True)
class EngineRun:
    """The outcome of running an instance to its next wait state (or to a failed element)."""

    state: str
    waiting_tasks: tuple[WaitingTask, ...]
    passed: tuple[PassedElement, ...]
    next_timer_at: datetime | None
    completed: bool
    data: Mapping[str, Any]
    failure: ElementFailure | None = None
    """Set when the run stopped at an element that failed after the step's trigger (the
    completed task, the timer, the message) had been applied."""


class ProcessEngine(Protocol):
    def inspect(self, source: ProcessSource, *, validate: bool = True) -> ProcessModel:
        """Parse and check a source; raises InvalidProcess with readable reasons."""
        ...

    def start(
        self,
        source: ProcessSource,
        content_hash: str,
        data: JsonDict,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun: ...

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
        """Merge already-validated variables into the task, complete it, run to the next wait."""
        ...

    def fire_due_timers(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun: ...

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
        """Hand a BPMN message to the instance; None when nothing in it waits for one."""
        ...

    def retry_failed(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        """Run the failed element again, then on to the next wait state."""
        ...

    def skip_failed(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        invoke: ServiceInvoker,
        observe: StepObserver | None = None,
    ) -> EngineRun:
        """Complete the failed element without running it (a service task's result variable
        is set to None), then run on; a gateway cannot be skipped (ConflictError)."""
        ...

    def set_variables(
        self, source: ProcessSource, content_hash: str, state: str, variables: JsonDict
    ) -> str:
        """The state with ``variables`` set in every unfinished task, so what runs later sees
        them (a fact the instance started with changed, e.g. the verified requester);
        nothing runs and the waiting tasks stay as they are."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Repositories are typed loosely here; ``itsm.storage`` defines them."""

    directory: Any
    tickets: Any
    processes: Any
    tasks: Any
    audit: Any
    outbox: Any
    knowledge: Any
    work: Any
    sessions: Any
    comments: Any
    attachments: Any
    api_tokens: Any
    inbound: Any
    sla: Any
    notices: Any
    reporting: Any
    reports: Any
    drafts: Any

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: what runs inside it is undone on an exception (which
        propagates), the rest of the unit of work stays."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; a read-only one never blocks writers and cannot commit."""
        ...


@dataclass(frozen=True)
class WaitingElement:
    """A BPMN element an instance waits at: a human task, a timer, a message catch."""

    element_id: str
    name: str
    kind: str
    """The element's type, for a catching event with its trigger: "UserTask",
    "BoundaryEvent:timer", "IntermediateCatchEvent:message"."""


@dataclass(frozen=True)
class MigrationCheck:
    """Whether one instance can move to another version of its process, and why not."""

    waiting: tuple[WaitingElement, ...]
    problems: tuple[str, ...]

    @property
    def migratable(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class InstancePath:
    """The elements an instance completed, in order (repeats for loops), and where it waits."""

    visited: tuple[str, ...]
    waiting: tuple[str, ...]


@dataclass(frozen=True)
class CatchEvent:
    """A catching event of a model, as the cockpit places waiting instances on it."""

    element_id: str
    trigger: str
    """"timer", "message", "signal", ... (the event definition's kind)."""
    attached_to: str | None
    """The activity of a boundary event; None for an intermediate event."""
    after: frozenset[str]
    """The recorded elements (not gateways) whose completion leads straight to it."""


class VersionedEngine(Protocol):
    """Moving instances between deployed versions and reading where they stand."""

    def migration_check(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        target: ProcessSource,
        target_hash: str,
    ) -> MigrationCheck:
        """Where the instance waits and what keeps it from moving to ``target``; the stored
        state is not changed."""
        ...

    def migrate(
        self,
        source: ProcessSource,
        content_hash: str,
        state: str,
        target: ProcessSource,
        target_hash: str,
    ) -> EngineRun:
        """The instance moved onto ``target`` (nothing runs); ConflictError when the check
        finds problems."""
        ...

    def instance_path(
        self, source: ProcessSource, content_hash: str, state: str
    ) -> InstancePath: ...

    def catch_events(self, source: ProcessSource, content_hash: str) -> tuple[CatchEvent, ...]: ...
