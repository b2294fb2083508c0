"""The bridge from BPMN service tasks to the functions registered for them in ``tasks/``.

A service task runs inside the step that reached it: its function gets a ``TaskContext``
with the step's unit of work, so whatever it writes commits atomically with the engine state.
Each call runs in a savepoint of that unit of work, so a call that fails takes back only its
own writes and the step can still commit what came before it (see docs/architecture.md,
"Incidents").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsm.domain.errors import ItsmError
from itsm.services.policy import DeskPolicy
from itsm.services.ports import Clock, JsonDict, ServiceInvoker, UnitOfWork


@dataclass
class TaskContext:
    uow: UnitOfWork
    now: datetime
    clock: Clock
    policy: DeskPolicy
    actor: str
    events: list[JsonDict] = field(default_factory=list)

    def audit(self, ticket_id: int, kind: str, summary: str, **payload: Any) -> None:
        self.events.append(
            {"ticket_id": ticket_id, "kind": kind, "summary": summary[:400], "payload": payload}
        )


ServiceFunction = Callable[..., JsonDict]


class UnknownOperation(ItsmError):
    """A model names a service-task operation nothing is registered for."""


class ServiceRegistry:
    def __init__(self, functions: Mapping[str, ServiceFunction]) -> None:
        self._functions = dict(functions)

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._functions)

    def invoker(self, context: TaskContext) -> ServiceInvoker:
        def invoke(operation: str, parameters: JsonDict) -> JsonDict:
            function = self._functions.get(operation)
            if function is None:
                raise UnknownOperation(f"no service task function is registered as '{operation}'")
            # Each call in its own savepoint: a function that fails halfway leaves none of
            # its writes (nor its audit events) behind, and the step keeps everything before.
            recorded = len(context.events)
            try:
                with context.uow.savepoint():
                    return function(context, **parameters)
            except BaseException:
                del context.events[recorded:]
                raise

        return invoke
