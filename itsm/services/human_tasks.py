"""Engineers', coordinators' and requesters' work: inbox, claim, release, reassign, complete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsm.domain.directory import Person
from itsm.domain.errors import ConflictError, PermissionDenied
from itsm.domain.people import Role
from itsm.domain.process import HumanTask, TaskStatus
from itsm.domain.tickets import Ticket
from itsm.services.forms import process_variables, ticket_fields, validate_submission
from itsm.services.permissions import (
    SUPERVISORS,
    ensure_can_see_task,
    ensure_can_work,
    groups_of,
)
from itsm.services.ports import JsonDict, UnitOfWork
from itsm.services.steps import InstanceMover, InstanceStep


@dataclass(frozen=True)
class InboxItem:
    task: HumanTask
    ticket: Ticket


@dataclass(frozen=True)
class OpenTask:
    task: HumanTask
    ticket: Ticket
    form: JsonDict | None


@dataclass(frozen=True)
class Completion:
    ticket_number: str
    next_tasks: list[HumanTask]
    held_up: str | None = None
    """The name of the automatic step that failed after the completion was saved (it is
    retried or became an incident for the admins and the lead), else None."""


class HumanTaskService(InstanceMover):
    def inbox(
        self,
        actor: str,
        *,
        group: str | None = None,
        mine: bool = False,
        filters: dict[str, list[str]] | None = None,
        limit: int = 200,
    ) -> list[InboxItem]:
        """Open tasks the actor may see, most urgent first. ``filters`` keys: client,
        sla_tier, priority, category, channel."""
        with self._uow(read_only=True) as uow:
            person: Person = uow.directory.person_by_username(actor)
            groups = groups_of(person)
            if group is not None:
                if group not in groups:
                    raise PermissionDenied(f"{actor} cannot see the '{group}' queue")
                groups = frozenset({group})
            tasks = uow.tasks.inbox(
                groups=None if mine else groups,
                assignee=actor if mine or person.role is Role.REQUESTER else None,
                client_id=person.client_id,
                ticket_filters=filters,
                limit=limit,
            )
            tickets = uow.tickets.get_many(task.ticket_id for task in tasks)
            return [InboxItem(task, tickets[task.ticket_id]) for task in tasks]

    def open(self, task_id: str, actor: str) -> OpenTask:
        """The task, its ticket and its form, for a task page."""
        with self._uow(read_only=True) as uow:
            task: HumanTask = uow.tasks.get(task_id)
            ticket: Ticket = uow.tickets.get(task.ticket_id)
            ensure_can_see_task(uow.directory.person_by_username(actor), task, ticket)
            instance = uow.processes.instance(task.instance_id)
            definition = self._processes.definition(instance.definition_id, uow)
            form = definition.forms.get(task.form_key) if task.form_key else None
            return OpenTask(task, ticket, form)

    def task(self, task_id: str, actor: str) -> HumanTask:
        with self._uow(read_only=True) as uow:
            task: HumanTask = uow.tasks.get(task_id)
            ensure_can_see_task(uow.directory.person_by_username(actor), task)
            return task

    def form(self, task_id: str, actor: str) -> JsonDict | None:
        with self._uow(read_only=True) as uow:
            task: HumanTask = uow.tasks.get(task_id)
            ensure_can_see_task(uow.directory.person_by_username(actor), task)
            instance = uow.processes.instance(task.instance_id)
            definition = self._processes.definition(instance.definition_id, uow)
            return definition.forms.get(task.form_key) if task.form_key else None

    def claim(self, task_id: str, actor: str) -> None:
        with self._uow() as uow:
            person, task = self._workable(uow, task_id, actor, claiming=True)
            step = self._runtime.step(uow, actor)
            uow.tasks.assign(task_id, actor, step.now, only_if_unclaimed_by=actor)
            self._note_engineer_response(uow, step, person, task)
            if person.client_id is None:
                uow.tickets.update(task.ticket_id, step.now, assignee_id=person.id)
            step.audit(
                task.ticket_id,
                "task_claimed",
                f"{task.name} claimed by {actor}",
                task_id=task_id,
                element_id=task.element_id,
            )
            step.flush(task.instance_id)
            uow.commit()

    def release(self, task_id: str, actor: str) -> None:
        with self._uow() as uow:
            task: HumanTask = uow.tasks.get(task_id)
            person: Person = uow.directory.person_by_username(actor)
            ensure_can_see_task(person, task)
            if task.assignee != actor and person.role not in SUPERVISORS:
                raise PermissionDenied("only the assignee or the service desk lead can release it")
            step = self._runtime.step(uow, actor)
            uow.tasks.assign(task_id, None, step.now, only_if_unclaimed_by=task.assignee)
            step.audit(
                task.ticket_id,
                "task_released",
                f"{task.name} released by {actor}",
                task_id=task_id,
                element_id=task.element_id,
            )
            step.flush_audit(task.instance_id)
            uow.commit()

    def reassign(self, task_id: str, to: str, actor: str) -> None:
        with self._uow() as uow:
            lead: Person = uow.directory.person_by_username(actor)
            if lead.role not in SUPERVISORS:
                raise PermissionDenied("only the service desk lead can reassign tasks")
            task: HumanTask = uow.tasks.get(task_id)
            target: Person = uow.directory.person_by_username(to)
            if task.candidate_group not in groups_of(target):
                raise PermissionDenied(f"{to} cannot work tasks of group '{task.candidate_group}'")
            step = self._runtime.step(uow, actor)
            uow.tasks.assign(task_id, to, step.now, only_if_unclaimed_by=None)
            if target.client_id is None:
                uow.tickets.update(task.ticket_id, step.now, assignee_id=target.id)
            step.audit(
                task.ticket_id,
                "task_reassigned",
                f"{task.name} reassigned to {to}",
                task_id=task_id,
                element_id=task.element_id,
                payload={"from": task.assignee, "to": to},
            )
            step.flush_audit(task.instance_id)
            uow.commit()

    def complete(self, task_id: str, data: Any, actor: str) -> Completion:
        with self._uow() as uow:
            result = self._complete(uow, task_id, data, actor)
            uow.commit()
        return result

    def _complete(self, uow: UnitOfWork, task_id: str, data: Any, actor: str) -> Completion:
        person, task = self._workable(uow, task_id, actor, claiming=False)
        instance = uow.processes.instance(task.instance_id)
        definition = self._processes.definition(instance.definition_id, uow)
        schema = definition.forms.get(task.form_key) if task.form_key else None
        submitted = validate_submission(schema, data)

        step = self._runtime.step(uow, actor)
        uow.tasks.complete(task_id, actor, step.now)
        ticket: Ticket = uow.tickets.get(task.ticket_id)
        changes = ticket_fields(schema, submitted)
        if person.client_id is None and ticket.responded_at is None:
            changes["responded_at"] = step.now  # the first engineer response (reaction SLA)
        if changes:
            uow.tickets.update(ticket.id, step.now, **changes)
        minutes = submitted.get("time_spent_minutes")
        if isinstance(minutes, int) and minutes > 0:
            uow.work.add_time_entry(
                ticket_id=ticket.id,
                person_id=person.id,
                task_id=task_id,
                minutes=minutes,
                service_type=ticket.service_type,
                recorded_at=step.now,
            )
        step.audit(
            ticket.id,
            "task_completed",
            f"{task.name} completed by {actor}",
            instance_id=instance.id,
            task_id=task_id,
            element_id=task.element_id,
            payload={"data": submitted},
        )
        variables = {**process_variables(schema, submitted), "last_actor": actor}
        run = self._engine.complete_task(
            self._processes.source(instance.definition_id, uow),
            definition.content_hash,
            instance.state,
            task_id,
            variables,
            step.invoke,
            step.observer_for(ticket.id),
        )
        open_tasks = step.apply(ticket.id, instance.id, instance.version, run)
        return Completion(ticket.number, open_tasks, run.failure.name if run.failure else None)

    @staticmethod
    def _workable(
        uow: UnitOfWork, task_id: str, actor: str, *, claiming: bool
    ) -> tuple[Person, HumanTask]:
        task: HumanTask = uow.tasks.get(task_id)
        person: Person = uow.directory.person_by_username(actor)
        ensure_can_see_task(person, task)
        if task.status is not TaskStatus.OPEN:
            by = f" by {task.completed_by}" if task.completed_by else ""
            raise ConflictError(f"'{task.name}' is already {task.status.value}{by}")
        if claiming and task.assignee not in (None, actor):
            raise ConflictError(f"'{task.name}' is already claimed by {task.assignee}")
        ensure_can_work(person, task if not claiming else _unassigned(task))
        return person, task

    @staticmethod
    def _note_engineer_response(
        uow: UnitOfWork, step: InstanceStep, person: Person, task: HumanTask
    ) -> None:
        if person.client_id is not None:
            return
        ticket: Ticket = uow.tickets.get(task.ticket_id)
        if ticket.responded_at is None:
            uow.tickets.update(ticket.id, step.now, responded_at=step.now)


def _unassigned(task: HumanTask) -> HumanTask:
    from dataclasses import replace

    return replace(task, assignee=None)
