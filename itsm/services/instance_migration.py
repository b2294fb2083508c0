"""Moving waiting tickets onto another deployed version of their process, after a dry run.

A ticket moves only when the engine can place every element it waits at (human tasks,
timers, message catches) on the new version as the same kind of element. Each ticket moves
in its own transaction, saved against the instance version read when the move was planned:
a ticket that took a step meanwhile is skipped ("changed meanwhile"), never overwritten.
Task rows keep their ids (the engine keeps the task UUIDs) and take the new model's name,
form and group; timers whose definition did not change keep their deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import ConflictError, FieldError, PermissionDenied, ValidationFailed
from itsm.domain.people import Role
from itsm.domain.process import ProcessDefinition
from itsm.services.ports import UnitOfWork, VersionedEngine
from itsm.services.steps import InstanceMover, ProcessRuntime, source_of

MIGRATION_ROLES = frozenset({Role.PROCESS_OWNER, Role.ADMIN})
CHANGED_MEANWHILE = "changed meanwhile: it took a step after the migration was planned"


@dataclass(frozen=True)
class MigrationItem:
    ticket_number: str
    instance_id: int
    waiting_elements: tuple[str, ...]
    migratable: bool
    reason: str
    """Why it cannot move ("" when it can)."""


@dataclass(frozen=True)
class MigrationPlan:
    key: str
    from_version: int
    to_version: int
    items: tuple[MigrationItem, ...]

    @property
    def migratable(self) -> tuple[MigrationItem, ...]:
        return tuple(item for item in self.items if item.migratable)

    @property
    def blocked(self) -> tuple[MigrationItem, ...]:
        return tuple(item for item in self.items if not item.migratable)


@dataclass(frozen=True)
class SkippedTicket:
    ticket_number: str
    reason: str


@dataclass(frozen=True)
class MigrationReport:
    key: str
    from_version: int
    to_version: int
    migrated: tuple[str, ...]
    skipped: tuple[SkippedTicket, ...]


@dataclass(frozen=True)
class _Candidate:
    row: dict[str, Any]
    item: MigrationItem


class InstanceMigrationService(InstanceMover):
    def __init__(self, runtime: ProcessRuntime, engine: VersionedEngine) -> None:
        super().__init__(runtime)
        self._versions = engine

    def plan(self, from_definition_id: int, to_definition_id: int, actor: str) -> MigrationPlan:
        """Every unfinished instance of the old version, checked against the new one;
        nothing is written."""
        old, new, candidates = self._candidates(from_definition_id, to_definition_id, actor)
        items = tuple(candidate.item for candidate in candidates)
        return MigrationPlan(old.key, old.version, new.version, items)

    def migrate(
        self,
        from_definition_id: int,
        to_definition_id: int,
        actor: str,
        ticket_numbers: Sequence[str] | None = None,
    ) -> MigrationReport:
        """Move the migratable instances (only those of ``ticket_numbers`` if given)."""
        old, new, candidates = self._candidates(from_definition_id, to_definition_id, actor)
        by_number = {candidate.item.ticket_number: candidate for candidate in candidates}
        wanted = list(by_number) if ticket_numbers is None else list(dict.fromkeys(ticket_numbers))
        migrated: list[str] = []
        skipped: list[SkippedTicket] = []
        for number in wanted:
            candidate = by_number.get(number)
            if candidate is None:
                skipped.append(SkippedTicket(number, f"not waiting on v{old.version}"))
            elif not candidate.item.migratable:
                skipped.append(SkippedTicket(number, candidate.item.reason))
            else:
                reason = self._move(candidate.row, old, new, actor)
                if reason is None:
                    migrated.append(number)
                else:
                    skipped.append(SkippedTicket(number, reason))
        return MigrationReport(old.key, old.version, new.version, tuple(migrated), tuple(skipped))

    def _candidates(
        self, from_definition_id: int, to_definition_id: int, actor: str
    ) -> tuple[ProcessDefinition, ProcessDefinition, list[_Candidate]]:
        with self._uow(read_only=True) as uow:
            _ensure_may_migrate(uow.directory.person_by_username(actor))
            old, new = self._pair(uow, from_definition_id, to_definition_id)
            rows = uow.processes.unfinished_instances(old.id)
        old_source, new_source = source_of(old), source_of(new)
        candidates = []
        for row in rows:
            check = self._versions.migration_check(
                old_source, old.content_hash, row["state"], new_source, new.content_hash
            )
            item = MigrationItem(
                ticket_number=row["ticket_number"],
                instance_id=row["instance_id"],
                waiting_elements=tuple(element.element_id for element in check.waiting),
                migratable=check.migratable,
                reason="; ".join(check.problems),
            )
            candidates.append(_Candidate(row, item))
        return old, new, candidates

    def _pair(
        self, uow: UnitOfWork, from_id: int, to_id: int
    ) -> tuple[ProcessDefinition, ProcessDefinition]:
        old = self._processes.definition(from_id, uow)
        new = self._processes.definition(to_id, uow)
        if new.key != old.key:
            raise ValidationFailed(
                [FieldError("to_definition_id", f"{new.key} is not a version of {old.key}")]
            )
        if new.id == old.id:
            raise ValidationFailed(
                [FieldError("to_definition_id", "the tickets are on this version already")]
            )
        return old, new

    def _move(
        self, row: dict[str, Any], old: ProcessDefinition, new: ProcessDefinition, actor: str
    ) -> str | None:
        """Move one instance in its own transaction; the reason it was skipped, or None."""
        try:
            run = self._versions.migrate(
                source_of(old), old.content_hash, row["state"], source_of(new), new.content_hash
            )
        except ConflictError as err:
            return str(err)
        ticket_id, instance_id = row["ticket_id"], row["instance_id"]
        try:
            with self._uow() as uow:
                step = self._runtime.step(uow, actor)
                step.audit(
                    ticket_id,
                    "instance_migrated",
                    f"Process moved from {old.key} v{old.version} to v{new.version} by {actor}",
                    instance_id=instance_id,
                    payload={
                        "from_version": old.version,
                        "to_version": new.version,
                        "from_definition_id": old.id,
                        "to_definition_id": new.id,
                    },
                )
                for waiting in run.waiting_tasks:  # rows created by apply below are new anyway
                    uow.tasks.refresh_open(
                        waiting.task_id,
                        name=waiting.spec.name,
                        candidate_group=waiting.spec.candidate_group,
                        form_key=waiting.spec.form_key,
                    )
                step.apply(ticket_id, instance_id, row["version"], run)
                uow.processes.set_definition(instance_id, new.id)
                uow.commit()
        except ConflictError:
            return CHANGED_MEANWHILE
        return None


def _ensure_may_migrate(person: Person) -> None:
    if person.client_id is not None or person.role not in MIGRATION_ROLES:
        raise PermissionDenied(
            f"{person.username} ({person.role.value}) cannot move tickets between process "
            "versions: process owners and admins only"
        )
