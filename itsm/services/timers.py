"""Firing due BPMN timers (auto-close, follow-up checks) and retrying failed service tasks
whose backoff has passed: what a scheduler calls every minute."""

from __future__ import annotations

from dataclasses import dataclass, field

from itsm.domain.errors import ConflictError, ItsmError
from itsm.domain.process import InstanceStatus
from itsm.services.steps import InstanceMover

SYSTEM_ACTOR = "system:timers"


@dataclass
class TimerRun:
    advanced: int = 0
    skipped: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    retried: int = 0
    """Failed service tasks run again, whatever came of it (counted below)."""
    recovered: int = 0
    incidents: int = 0
    """Retries that used up the last attempt: the instance now waits for a person."""


class TimerService(InstanceMover):
    def run_due(self) -> TimerRun:
        """Advance every instance whose earliest timer is due, then retry every failed service
        task whose next attempt is due; each instance in its own transaction."""
        report = TimerRun()
        with self._uow(read_only=True) as uow:
            now, batch = self._clock.now(), self._policy.timer_batch_size
            due = uow.processes.due_instance_ids(now, batch)
            retries = uow.processes.retry_due_instance_ids(now, batch)
        for instance_id in due:
            try:
                if self._advance(instance_id):
                    report.advanced += 1
                else:
                    report.skipped += 1
            except ConflictError:
                report.skipped += 1  # someone else advanced it; it will be looked at again
            except ItsmError as err:
                report.failed.append((instance_id, str(err)))
        for instance_id in retries:
            try:
                status = self._retry(instance_id)
            except ConflictError:
                report.skipped += 1  # a person retried or skipped it meanwhile
                continue
            except ItsmError as err:
                report.failed.append((instance_id, str(err)))
                continue
            if status is None:
                report.skipped += 1
                continue
            report.retried += 1
            report.recovered += not status.is_failed
            report.incidents += status is InstanceStatus.INCIDENT
        return report

    def _retry(self, instance_id: int) -> InstanceStatus | None:
        """Run the failed element again; the new status, or None if it was not due."""
        with self._uow() as uow:
            step = self._runtime.step(uow, SYSTEM_ACTOR)
            instance = uow.processes.instance(instance_id)
            failure = instance.failure
            if (
                instance.status is not InstanceStatus.FAILING
                or failure is None
                or failure.next_retry_at is None
                or failure.next_retry_at > step.now
            ):
                return None
            self._run_failed_element(uow, step, instance, skip=False, previous_failure=failure)
            status: InstanceStatus = uow.processes.instance(instance_id).status
            uow.commit()
        return status

    def _advance(self, instance_id: int) -> bool:
        with self._uow() as uow:
            step = self._runtime.step(uow, SYSTEM_ACTOR)
            instance = uow.processes.instance(instance_id)
            if (
                instance.status is not InstanceStatus.RUNNING
                or instance.next_timer_at is None
                or instance.next_timer_at > step.now
            ):
                return False
            definition = self._processes.definition(instance.definition_id, uow)
            run = self._engine.fire_due_timers(
                self._processes.source(instance.definition_id, uow),
                definition.content_hash,
                instance.state,
                step.invoke,
                step.observer_for(instance.ticket_id),
            )
            step.apply(instance.ticket_id, instance.id, instance.version, run)
            uow.commit()
        return True
