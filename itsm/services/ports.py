"""The ports the service layer depends on: clock, process engine and unit of work.

Adapters (``itsm.engine``, ``itsm.storage``) implement these; services and tests only
see the protocols, so an engine or database swap never touches a use case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
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
class EngineRun:
    """The outcome of running an instance to its next wait state."""

    state: str
    waiting_tasks: tuple[WaitingTask, ...]
    passed: tuple[PassedElement, ...]
    next_timer_at: datetime | None
    completed: bool
    data: Mapping[str, Any]


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

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; a read-only one never blocks writers and cannot commit."""
        ...
