"""Registering a ticket from any channel and starting its process on the latest version."""

from __future__ import annotations

from dataclasses import dataclass

from itsm.domain.commands import NewTicket
from itsm.domain.directory import Person
from itsm.domain.errors import (
    ConflictError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from itsm.domain.people import Role
from itsm.domain.process import InstanceStatus
from itsm.domain.tickets import Ticket, TicketStatus, format_ticket_number
from itsm.services.ports import UnitOfWork
from itsm.services.steps import InstanceMover


@dataclass(frozen=True)
class IdempotencyClaim:
    token_id: int
    key: str
    request_sha256: str


class IntakeService(InstanceMover):
    def register(self, command: NewTicket, actor: str) -> Ticket:
        with self._uow() as uow:
            ticket = self._register(uow, command, actor)
            uow.commit()
        return ticket

    def register_once(
        self, command: NewTicket, actor: str, claim: IdempotencyClaim
    ) -> tuple[Ticket, bool]:
        """Register unless this key already did; (ticket, created). The key is stored in the
        ticket's own transaction, so a retry after any crash finds either both or neither."""
        with self._uow() as uow:
            earlier = uow.api_tokens.idempotent_ticket(claim.token_id, claim.key)
            if earlier is not None:
                if earlier[0] != claim.request_sha256:
                    raise ConflictError(
                        "this Idempotency-Key was already used with a different request body"
                    )
                return uow.tickets.get(earlier[1]), False
            ticket = self._register(uow, command, actor)
            uow.api_tokens.remember(
                token_id=claim.token_id,
                key=claim.key,
                request_sha256=claim.request_sha256,
                ticket_id=ticket.id,
                at=self._clock.now(),
            )
            uow.commit()
        return ticket, True

    def register_within(self, uow: UnitOfWork, command: NewTicket, actor: str) -> Ticket:
        """Register inside the caller's unit of work; the caller commits (e-mail intake)."""
        return self._register(uow, command, actor)

    def _register(self, uow: UnitOfWork, command: NewTicket, actor: str) -> Ticket:
        step = self._runtime.step(uow, actor)
        client = uow.directory.client_by_code(command.client_code)
        self._ensure_own_client(uow, actor, command.client_code, client.id)
        requester = self._requester(uow, command, client.id)
        self._ensure_may_report_for(uow, actor, requester)
        site_id = self._site(uow, command, client.id)
        definition_id = uow.processes.latest_definition_id(self._policy.process_key)
        if definition_id is None:
            raise NotFound(
                f"no version of process '{self._policy.process_key}' is deployed; "
                "run `itsm process deploy bpmn/ticket_lifecycle.bpmn`"
            )
        definition = self._processes.definition(definition_id, uow)
        counter = f"{self._policy.ticket_prefix}-{step.now.year}"
        number = format_ticket_number(
            self._policy.ticket_prefix, step.now.year, uow.tickets.next_sequence(counter)
        )
        service_type = command.service_type or client.default_service_type
        ticket: Ticket = uow.tickets.add(
            number=number,
            client_id=client.id,
            site_id=site_id,
            requester_id=requester.id,
            channel=command.channel,
            category=command.category,
            subject=command.subject,
            description=command.description,
            impact=command.impact,
            urgency=command.urgency,
            service_type=service_type,
            change_type=command.change_type,
            status=TicketStatus.NEW,
            created_at=step.now,
        )
        step.audit(
            ticket.id,
            "ticket_registered",
            f"Registered via {command.channel.value} by {actor}",
            payload={"channel": command.channel.value, "subject": command.subject},
        )
        start_data = {
            "ticket_id": ticket.id,
            "ticket_number": number,
            "client_id": client.id,
            "sla_tier": client.sla_tier.value,
            "service_type": service_type.value,
            "category": command.category.value,
            "impact": command.impact.value,
            "urgency": command.urgency.value,
            "change_type": command.change_type.value,
            "requester_username": requester.username,
            "auto_close_after": self._policy.auto_close_after,
            "follow_up_after": self._policy.follow_up_after,
        }
        step.audit(
            ticket.id,
            "process_started",
            f"Process {definition.key} v{definition.version} started",
            payload={"definition_id": definition_id},
        )
        source = self._processes.source(definition_id, uow)
        run = self._engine.start(
            source, definition.content_hash, start_data, step.invoke, step.observer_for(ticket.id)
        )
        instance_id = uow.processes.add_instance(
            ticket_id=ticket.id,
            definition_id=definition_id,
            state=run.state,
            status=(InstanceStatus.COMPLETED if run.completed else InstanceStatus.RUNNING).value,
            next_timer_at=run.next_timer_at,
            at=step.now,
        )
        step.apply(ticket.id, instance_id, None, run)
        return uow.tickets.get(ticket.id)  # type: ignore[no-any-return]

    @staticmethod
    def _requester(uow: UnitOfWork, command: NewTicket, client_id: int) -> Person:
        person: Person | None
        try:
            person = uow.directory.person_by_username(command.requester)
        except NotFound:
            person = None
        if person is None or person.client_id != client_id:
            raise ValidationFailed(
                [
                    FieldError(
                        "requester",
                        f"'{command.requester}' is not a person of client {command.client_code}",
                    )
                ]
            )
        return person

    @staticmethod
    def _ensure_own_client(uow: UnitOfWork, actor: str, client_code: str, client_id: int) -> None:
        """Client people report for their own company only, and another company looks
        nonexistent to them: the answer an unknown code gets, whoever is named as requester
        (tests/security/test_tenant_isolation.py)."""
        if actor.startswith("system:"):
            return  # an integration of ours, for the client the message came in for
        reporter: Person = uow.directory.person_by_username(actor)
        if reporter.client_id is not None and reporter.client_id != client_id:
            raise NotFound(f"client '{client_code}' not found")

    @staticmethod
    def _ensure_may_report_for(uow: UnitOfWork, actor: str, requester: Person) -> None:
        """Staff record reports for anyone (phone intake); client people only for themselves,
        except the IT coordinator, who may report for colleagues."""
        if actor == requester.username or actor.startswith("system:"):
            return  # the person themself, or an integration of ours (monitoring)
        reporter: Person = uow.directory.person_by_username(actor)
        if reporter.client_id is None:
            return
        if reporter.client_id == requester.client_id and reporter.role is Role.COORDINATOR:
            return
        raise PermissionDenied("you can only report tickets for yourself")

    @staticmethod
    def _site(uow: UnitOfWork, command: NewTicket, client_id: int) -> int | None:
        if command.site_id is None:
            return None
        if command.site_id not in {site.id for site in uow.directory.sites(client_id)}:
            raise ValidationFailed([FieldError("site_id", "not a site of this client")])
        return command.site_id
