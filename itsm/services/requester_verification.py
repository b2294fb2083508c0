"""Tickets from a contact nobody could be matched to, and staff verifying who reported them.

Such a ticket's requester is its client's stand-in ("Unverified requester", one per client,
made on first use): a person without e-mail or phone, so no notification ever reaches the
unknown sender, and inactive, so nobody can log in as it. A 1st-line engineer, the service
desk lead or an admin who learns who wrote (e.g. by calling the number back) names the real
person of the same client; the ticket, its process and its waiting tasks then belong to them.
"""

from __future__ import annotations

from itsm.domain.directory import Client, Person
from itsm.domain.errors import (
    ConflictError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from itsm.domain.people import Role
from itsm.domain.process import HumanTask, InstanceStatus
from itsm.domain.tickets import Ticket
from itsm.services.ports import UnitOfWork
from itsm.services.steps import InstanceMover, InstanceStep

STAND_IN_NAME = "Unverified requester"
VERIFIERS = frozenset({Role.L1, Role.SERVICE_DESK_LEAD, Role.ADMIN})
REQUESTER_VARIABLE = "requester_username"
"""The process variable the lifecycle's requester tasks are assigned by (``assign_to``)."""


def stand_in_username(client_code: str) -> str:
    return f"unverified.{client_code.lower()}"


def unverified_requester(uow: UnitOfWork, client: Client) -> Person:
    """The client's stand-in requester, created in the caller's transaction on first use."""
    username = stand_in_username(client.code)
    try:
        person: Person = uow.directory.person_by_username(username)
    except NotFound:
        person_id = uow.directory.add_person(
            username=username,
            full_name=STAND_IN_NAME,
            role=Role.REQUESTER,
            client_id=client.id,
            active=False,  # no login (password and sessions need an active person)
        )
        created: Person = uow.directory.person(person_id)
        return created
    if not is_stand_in(person) or person.client_id != client.id:
        raise ConflictError(
            f"username '{username}' belongs to a real person; rename them so that reports "
            f"from unknown numbers to {client.code} can be registered"
        )
    return person


def is_stand_in(person: Person) -> bool:
    return (
        person.username.startswith("unverified.")
        and person.client_id is not None
        and not person.email
        and not person.phone
        and not person.active
    )


class RequesterVerification(InstanceMover):
    def candidates(self, number: str, actor: str) -> list[Person]:
        """The people the requester of an unverified ticket can be: its client's, active."""
        with self._uow(read_only=True) as uow:
            self._ensure_verifier(uow.directory.person_by_username(actor))
            ticket: Ticket = uow.tickets.get_by_number(number)
            people: list[Person] = uow.directory.people(client_id=ticket.client_id)
        return people

    def verify(self, number: str, username: str, actor: str) -> Ticket:
        """Make ``username`` the ticket's verified requester, in one transaction."""
        with self._uow() as uow:
            self._ensure_verifier(uow.directory.person_by_username(actor))
            ticket: Ticket = uow.tickets.get_by_number(number)
            if ticket.requester_verified:
                raise ConflictError(f"the requester of {number} is verified already")
            person = self._real_person_of_client(uow, username, ticket)
            stand_in: Person = uow.directory.person(ticket.requester_id)
            step = self._runtime.step(uow, actor)
            uow.tickets.update(ticket.id, step.now, requester_id=person.id, requester_verified=True)
            instance_id, moved = self._hand_over_process(uow, step, ticket, stand_in, person)
            step.audit(
                ticket.id,
                "requester_verified",
                f"Requester verified by {actor}: {person.full_name} ({person.username}), "
                f"reported from {ticket.reported_contact or 'an unknown contact'}",
                payload={
                    "requester": person.username,
                    "verified_by": actor,
                    "replaces": stand_in.username,
                    "reported_contact": ticket.reported_contact,
                    "tasks_moved": [task.id for task in moved],
                },
            )
            step.flush_audit(instance_id)
            verified: Ticket = uow.tickets.get(ticket.id)
            uow.commit()
        return verified

    def _hand_over_process(
        self, uow: UnitOfWork, step: InstanceStep, ticket: Ticket, stand_in: Person, person: Person
    ) -> tuple[int | None, list[HumanTask]]:
        """Point the process's requester variable at the real person (tasks it creates later
        go to them) and move the requester tasks already waiting for the stand-in."""
        instance = uow.processes.instance_for_ticket(ticket.id)
        if instance is None or instance.status is InstanceStatus.COMPLETED:
            return None, []
        definition = self._processes.definition(instance.definition_id, uow)
        state = self._engine.set_variables(
            self._processes.source(instance.definition_id, uow),
            definition.content_hash,
            instance.state,
            {REQUESTER_VARIABLE: person.username},
        )
        uow.processes.save_instance(
            instance.id,
            expected_version=instance.version,
            state=state,
            status=instance.status.value,
            next_timer_at=instance.next_timer_at,
            at=step.now,
            failure=instance.failure,  # a failing step stays failing, now with the new data
        )
        moved = []
        for task in uow.tasks.open_for_instance(instance.id):
            if task.candidate_group != "requester" or task.assignee != stand_in.username:
                continue
            uow.tasks.assign(
                task.id, person.username, step.now, only_if_unclaimed_by=stand_in.username
            )
            step.audit(
                ticket.id,
                "task_reassigned",
                f"{task.name} reassigned to {person.username}",
                task_id=task.id,
                element_id=task.element_id,
                payload={"from": stand_in.username, "to": person.username},
            )
            moved.append(task)
        return instance.id, moved

    @staticmethod
    def _real_person_of_client(uow: UnitOfWork, username: str, ticket: Ticket) -> Person:
        client: Client = uow.directory.client(ticket.client_id)
        try:
            person: Person | None = uow.directory.person_by_username(username)
        except NotFound:
            person = None
        # Inactive people include the stand-in itself: verifying it would verify nothing.
        if person is None or person.client_id != client.id or not person.active:
            raise ValidationFailed(
                [FieldError("requester", f"'{username}' is not a person of client {client.code}")]
            )
        return person

    @staticmethod
    def _ensure_verifier(person: Person) -> None:
        if person.client_id is not None:
            raise PermissionDenied("only the service desk verifies who reported a ticket")
        if person.role not in VERIFIERS:
            raise PermissionDenied(
                "only 1st-line engineers, the service desk lead or an admin verify requesters"
            )
