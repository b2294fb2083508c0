"""Failed automatic steps (incidents): listed for admins and the lead, retried or skipped.

A service task that keeps failing leaves its instance waiting at it (status ``incident``;
``failing`` while automatic retries are still due). A supervisor runs it again now or skips
it with a note; either is one transaction with the instance's version check, so two people
acting on one incident at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import ConflictError, FieldError, PermissionDenied, ValidationFailed
from itsm.domain.process import HumanTask, InstanceFailure, InstanceStatus, ProcessInstance
from itsm.domain.tickets import Ticket
from itsm.services.permissions import SUPERVISORS
from itsm.services.ports import UnitOfWork
from itsm.services.steps import InstanceMover

MAX_NOTE_CHARS = 1000


@dataclass(frozen=True)
class Incident:
    instance_id: int
    version: int
    """The instance's version when listed: retry and skip refuse if it changed since."""
    status: InstanceStatus
    ticket_number: str
    ticket_subject: str
    client_code: str
    element_id: str
    error: str
    attempts: int
    failed_since: datetime
    next_retry_at: datetime | None


@dataclass(frozen=True)
class IncidentOutcome:
    """What became of a retried or skipped step: ``status`` running (or completed) means the
    process moved on; failing or incident means it failed again (``error``)."""

    ticket_number: str
    status: InstanceStatus
    error: str | None
    next_tasks: list[HumanTask]


class IncidentService(InstanceMover):
    def open_incidents(
        self, actor: str, *, client_codes: list[str] | None = None, limit: int = 500
    ) -> list[Incident]:
        """Incidents first, then instances still being retried; oldest first."""
        with self._uow(read_only=True) as uow:
            _ensure_handler(uow, actor)
            client_ids = (
                None
                if client_codes is None
                else [uow.directory.client_by_code(code).id for code in client_codes]
            )
            rows = uow.processes.failed_instances(client_ids=client_ids, limit=limit)
        return [
            Incident(
                instance_id=row["instance_id"],
                version=row["version"],
                status=InstanceStatus(row["status"]),
                ticket_number=row["ticket_number"],
                ticket_subject=row["ticket_subject"],
                client_code=row["client_code"],
                element_id=row["failed_element"] or "?",
                error=row["last_error"] or "",
                attempts=row["attempts"],
                failed_since=row["failed_since"],
                next_retry_at=row["next_retry_at"],
            )
            for row in rows
        ]

    def retry(self, instance_id: int, actor: str, *, version: int | None = None) -> IncidentOutcome:
        """Run the failed step again now. The attempts count starts afresh: if it fails
        again, the automatic retries follow as after a first failure."""
        return self._handle(
            instance_id,
            actor,
            version,
            skip=False,
            event="incident_retried",
            says=lambda failure: f"Failed step {failure.element_id} run again by {actor}",
            payload={},
        )

    def skip(
        self, instance_id: int, actor: str, note: str, *, version: int | None = None
    ) -> IncidentOutcome:
        """Complete the failed step without running it (its result stays empty) and let the
        process continue; ``note`` (required) says why, in the ticket's audit log."""
        note = note.strip()
        if not note:
            raise ValidationFailed([FieldError("note", "say why the step may be skipped")])
        return self._handle(
            instance_id,
            actor,
            version,
            skip=True,
            event="incident_skipped",
            says=lambda failure: f"Failed step {failure.element_id} skipped by {actor}: {note}",
            payload={"note": note[:MAX_NOTE_CHARS]},
        )

    def _handle(
        self,
        instance_id: int,
        actor: str,
        version: int | None,
        *,
        skip: bool,
        event: str,
        says: Callable[[InstanceFailure], str],
        payload: dict[str, Any],
    ) -> IncidentOutcome:
        """One transaction: check who and which version, audit the decision, run on."""
        with self._uow() as uow:
            _ensure_handler(uow, actor)
            instance, failure = _failing(uow, instance_id, version)
            step = self._runtime.step(uow, actor)
            step.audit(
                instance.ticket_id,
                event,
                says(failure),
                instance_id=instance.id,
                element_id=failure.element_id,
                payload={**payload, "attempts": failure.attempts, "error": failure.error},
            )
            next_tasks = self._run_failed_element(
                uow,
                step,
                instance,
                skip=skip,
                previous_failure=None if skip else replace(failure, attempts=0),
            )
            outcome = _outcome(uow, instance, next_tasks)
            uow.commit()
        return outcome


def _ensure_handler(uow: UnitOfWork, actor: str) -> None:
    person: Person = uow.directory.person_by_username(actor)
    if person.role not in SUPERVISORS:
        raise PermissionDenied("incidents are handled by admins and the service desk lead")


def _failing(
    uow: UnitOfWork, instance_id: int, version: int | None
) -> tuple[ProcessInstance, InstanceFailure]:
    instance: ProcessInstance = uow.processes.instance(instance_id)
    if version is not None and instance.version != version:
        raise ConflictError("this incident changed since it was shown; reload and look again")
    if not instance.status.is_failed or instance.failure is None:
        raise ConflictError("this ticket's process is not failing any more")
    return instance, instance.failure


def _outcome(
    uow: UnitOfWork, instance: ProcessInstance, next_tasks: list[HumanTask]
) -> IncidentOutcome:
    after: ProcessInstance = uow.processes.instance(instance.id)
    ticket: Ticket = uow.tickets.get(instance.ticket_id)
    return IncidentOutcome(
        ticket_number=ticket.number,
        status=after.status,
        error=after.failure.error if after.failure is not None else None,
        next_tasks=next_tasks,
    )
