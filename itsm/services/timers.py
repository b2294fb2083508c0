"""Firing due BPMN timers (auto-close, follow-up checks): what a scheduler calls every minute."""

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


class TimerService(InstanceMover):
    def run_due(self) -> TimerRun:
        """Advance every instance whose earliest timer is due, each in its own transaction."""
        report = TimerRun()
        with self._uow(read_only=True) as uow:
            due = uow.processes.due_instance_ids(self._clock.now(), self._policy.timer_batch_size)
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
        return report

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
