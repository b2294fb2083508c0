"""One step of one ticket's process: run the engine, then write everything it changed.

Every use case that moves an instance (intake, task completion, timers) goes through
``InstanceStep`` so the same rules hold everywhere: engine state saved with a version check,
task rows synchronised with what the engine waits for, the ticket's status following the
model, and an audit event for each thing that happened — all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from itsm.domain.people import Role
from itsm.domain.process import (
    CLIENT_GROUPS,
    HumanTask,
    InstanceFailure,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from itsm.domain.tickets import Ticket, TicketStatus
from itsm.services.policy import DeskPolicy
from itsm.services.ports import (
    Clock,
    ElementFailure,
    EngineRun,
    JsonDict,
    PassedElement,
    ProcessEngine,
    ProcessSource,
    ServiceInvoker,
    StepObserver,
    UnitOfWork,
    UnitOfWorkFactory,
)
from itsm.services.service_tasks import ServiceRegistry, TaskContext
from itsm.services.sla_clock import SlaClockKeeper

if TYPE_CHECKING:
    from itsm.services.processes import ProcessService

_UNRECORDED_KINDS = frozenset({"ExclusiveGateway", "ParallelGateway", "InclusiveGateway"})
RETRIED_KINDS = frozenset({"ServiceTask"})
"""Elements retried automatically when they fail: calls to systems that may recover."""
INCIDENT_WATCHERS = (Role.ADMIN, Role.SERVICE_DESK_LEAD)
"""Who is told (in-app notice) when an instance becomes an incident."""
MAX_ERROR_CHARS = 2000


def source_of(definition: ProcessDefinition) -> ProcessSource:
    return ProcessSource(definition.bpmn_xml, definition.dmn_xml, definition.forms)


@dataclass(frozen=True)
class ProcessRuntime:
    """What every use case that moves a process instance needs, built once by bootstrap."""

    uow: UnitOfWorkFactory
    engine: ProcessEngine
    processes: ProcessService
    registry: ServiceRegistry
    clock: Clock
    policy: DeskPolicy
    sla: SlaClockKeeper

    def step(self, uow: UnitOfWork, actor: str) -> InstanceStep:
        return InstanceStep(uow, self.clock, self.registry, self.policy, self.sla, actor)


class InstanceMover:
    """Base of the use cases that advance instances: the runtime's parts, named once."""

    def __init__(self, runtime: ProcessRuntime) -> None:
        self._runtime = runtime
        self._uow = runtime.uow
        self._engine = runtime.engine
        self._processes = runtime.processes
        self._clock = runtime.clock
        self._policy = runtime.policy
        self._sla = runtime.sla

    def _run_failed_element(
        self,
        uow: UnitOfWork,
        step: InstanceStep,
        instance: ProcessInstance,
        *,
        skip: bool,
        previous_failure: InstanceFailure | None,
    ) -> list[HumanTask]:
        """Run a failing instance's failed element again (or complete it without running
        it), on to the next wait state, and persist that with the version check."""
        definition = self._processes.definition(instance.definition_id, uow)
        run_again = self._engine.skip_failed if skip else self._engine.retry_failed
        run = run_again(
            self._processes.source(instance.definition_id, uow),
            definition.content_hash,
            instance.state,
            step.invoke,
            step.observer_for(instance.ticket_id),
        )
        return step.apply(
            instance.ticket_id,
            instance.id,
            instance.version,
            run,
            previous_failure=previous_failure,
        )


class InstanceStep:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        registry: ServiceRegistry,
        policy: DeskPolicy,
        sla: SlaClockKeeper,
        actor: str,
    ) -> None:
        self.uow = uow
        self._sla = sla
        self._policy = policy
        self.now: datetime = clock.now()
        self.actor = actor
        self.context = TaskContext(uow=uow, now=self.now, clock=clock, policy=policy, actor=actor)
        self.invoke: ServiceInvoker = registry.invoker(self.context)

    def observer_for(self, ticket_id: int) -> StepObserver:
        """Engine hook recording each element as it runs, before anything it does itself."""

        def observe(element: PassedElement) -> None:
            if element.kind not in _UNRECORDED_KINDS:
                self.audit(
                    ticket_id,
                    "step",
                    element.name,
                    element_id=element.element_id,
                    payload={"type": element.kind},
                )

        return observe

    def audit(
        self,
        ticket_id: int,
        kind: str,
        summary: str,
        *,
        instance_id: int | None = None,
        task_id: str | None = None,
        element_id: str | None = None,
        payload: JsonDict | None = None,
    ) -> None:
        event: JsonDict = {
            "ticket_id": ticket_id,
            "task_id": task_id,
            "element_id": element_id,
            "kind": kind,
            "summary": summary[:400],
            "payload": payload or {},
        }
        if instance_id is not None:  # else the instance known at flush time
            event["instance_id"] = instance_id
        self.context.events.append(event)

    def apply(
        self,
        ticket_id: int,
        instance_id: int,
        expected_version: int | None,
        run: EngineRun,
        *,
        previous_failure: InstanceFailure | None = None,
    ) -> list[HumanTask]:
        """Persist the run and return the open tasks; ``expected_version`` None means the
        instance row is new. ``previous_failure`` is what the instance recorded before a
        retry: a repeated failure of the same element counts on from its attempts."""
        ticket = self.uow.tickets.get(ticket_id)
        open_tasks = self._sync_tasks(ticket, instance_id, run)
        self._follow_model_status(ticket, run)
        failure = None
        status = InstanceStatus.COMPLETED if run.completed else InstanceStatus.RUNNING
        if run.failure is not None:
            failure = self._record_failure(ticket, instance_id, run.failure, previous_failure)
            status = InstanceStatus.FAILING if failure.next_retry_at else InstanceStatus.INCIDENT
        if expected_version is not None or failure is not None:
            self.uow.processes.save_instance(
                instance_id,
                # A new row (intake) was inserted as version 1 in this same transaction.
                expected_version=1 if expected_version is None else expected_version,
                state=run.state,
                status=status.value,
                next_timer_at=run.next_timer_at,
                at=self.now,
                failure=failure,
            )
        if run.completed:
            self.audit(ticket_id, "process_completed", "Process completed", instance_id=instance_id)
        self.flush(instance_id)
        return open_tasks

    def flush(self, instance_id: int | None = None) -> None:
        """End of a step outside the engine (claim, reassign): clocks, then audit events."""
        self._sla.refresh_touched(self.uow, self.now)
        self.flush_audit(instance_id)

    def flush_audit(self, instance_id: int | None = None) -> None:
        events = [
            {
                "occurred_at": self.now,
                "actor": self.actor,
                "instance_id": instance_id,
                "task_id": None,
                "element_id": None,
                **event,
            }
            for event in self.context.events
        ]
        self.context.events.clear()
        self.uow.audit.record_many(events)

    def _record_failure(
        self,
        ticket: Ticket,
        instance_id: int,
        failed: ElementFailure,
        previous: InstanceFailure | None,
    ) -> InstanceFailure:
        """The instance waits at the failed element: retried later if it is a service task
        with attempts left, else an incident that the admins and the lead are told about."""
        if previous is not None and previous.element_id == failed.element_id:
            attempts, failed_since = previous.attempts + 1, previous.failed_since
        else:
            attempts, failed_since = 1, self.now
        delay = (
            self._policy.retry_delay_seconds(attempts)
            if failed.kind in RETRIED_KINDS
            else None  # model code (script, condition, table) fails the same way every time
        )
        failure = InstanceFailure(
            element_id=failed.element_id,
            error=failed.reason[:MAX_ERROR_CHARS],
            attempts=attempts,
            failed_since=failed_since,
            next_retry_at=None if delay is None else self.now + timedelta(seconds=delay),
        )
        self._forget_step(failed.element_id)
        payload = {"kind": failed.kind, "attempts": attempts, "error": failure.error}
        if failure.next_retry_at is not None:
            self.audit(
                ticket.id,
                "element_failed",
                f"{failed.name} failed (attempt {attempts}), next attempt at "
                f"{failure.next_retry_at:%Y-%m-%d %H:%M} UTC: {failure.error}",
                instance_id=instance_id,
                element_id=failed.element_id,
                payload={**payload, "next_retry_at": failure.next_retry_at.isoformat()},
            )
            return failure
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        summary = f"Incident: {failed.name} failed{tries}: {failure.error}"
        self.audit(
            ticket.id,
            "incident",
            summary,
            instance_id=instance_id,
            element_id=failed.element_id,
            payload=payload,
        )
        self.uow.notices.add_many(
            [
                {
                    "person_id": person.id,
                    "ticket_id": ticket.id,
                    "kind": "incident",
                    "summary": f"{ticket.number}: {summary}",
                    "created_at": self.now,
                }
                for role in INCIDENT_WATCHERS
                for person in self.uow.directory.people(role=role)
            ]
        )
        return failure

    def _forget_step(self, element_id: str) -> None:
        """The observer recorded the failed element as a step before it ran; it did not pass."""
        for index in range(len(self.context.events) - 1, -1, -1):
            event = self.context.events[index]
            if event["kind"] == "step" and event.get("element_id") == element_id:
                del self.context.events[index]
                return

    def _sync_tasks(self, ticket: Ticket, instance_id: int, run: EngineRun) -> list[HumanTask]:
        open_rows = {task.id: task for task in self.uow.tasks.open_for_instance(instance_id)}
        waiting_ids = {waiting.task_id for waiting in run.waiting_tasks}
        vanished = [task for task_id, task in open_rows.items() if task_id not in waiting_ids]
        self.uow.tasks.cancel([task.id for task in vanished], self.now)
        for task in vanished:
            self.audit(
                ticket.id,
                "task_cancelled",
                f"{task.name} no longer needed",
                instance_id=instance_id,
                task_id=task.id,
                element_id=task.element_id,
            )
        new_rows = []
        for waiting in run.waiting_tasks:
            if waiting.task_id in open_rows:
                continue
            spec = waiting.spec
            client_facing = spec.candidate_group in CLIENT_GROUPS
            new_rows.append(
                HumanTask(
                    id=waiting.task_id,
                    instance_id=instance_id,
                    ticket_id=ticket.id,
                    client_id=ticket.client_id,
                    element_id=spec.element_id,
                    name=spec.name,
                    candidate_group=spec.candidate_group,
                    form_key=spec.form_key,
                    status=TaskStatus.OPEN,
                    created_at=self.now,
                    assignee=waiting.assignee,
                    claimed_at=self.now if waiting.assignee else None,
                    due_at=None
                    if client_facing
                    else (ticket.resolution_due_at or ticket.reaction_due_at),
                )
            )
            who = f" for {waiting.assignee}" if waiting.assignee else ""
            self.audit(
                ticket.id,
                "task_created",
                f"Waiting: {spec.name}{who}",
                instance_id=instance_id,
                task_id=waiting.task_id,
                element_id=spec.element_id,
                payload={"candidate_group": spec.candidate_group},
            )
        self.uow.tasks.add_many(new_rows)
        kept = [task for task_id, task in open_rows.items() if task_id in waiting_ids]
        return kept + new_rows

    def _follow_model_status(self, ticket: Ticket, run: EngineRun) -> None:
        if ticket.status.is_final:
            return
        changes: dict[str, Any] = {}
        for waiting in run.waiting_tasks:
            if waiting.spec.ticket_status and "status" not in changes:
                changes["status"] = TicketStatus(waiting.spec.ticket_status)
            if waiting.spec.support_line and "support_line" not in changes:
                changes["support_line"] = waiting.spec.support_line
        changes = {k: v for k, v in changes.items() if getattr(ticket, k) != v}
        if changes:
            self.uow.tickets.update(ticket.id, self.now, **changes)
            if "status" in changes:
                self.audit(
                    ticket.id,
                    "status_changed",
                    f"Status {ticket.status.label} → {changes['status'].label}",
                    payload={"from": ticket.status.value, "to": changes["status"].value},
                )
