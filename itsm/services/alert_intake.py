"""Monitoring alerts → incidents: one per alert occurrence, linked per group, never twice.

Alertmanager repeats a notification until the alert resolves and resends after a restart, so
each alert occurrence (fingerprint + start) is recorded once in ``inbound_messages``; alerts of
one group at one client join the group's open incident instead of opening their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsm.domain.alerts import Alert, AlertNotification
from itsm.domain.commands import NewTicket
from itsm.domain.directory import Client
from itsm.domain.errors import FieldError, NotFound, ValidationFailed
from itsm.domain.inbound_email import DuplicateMessage
from itsm.domain.tickets import Channel, Ticket
from itsm.services.intake import IntakeService
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from itsm.services.process_messages import ProcessMessages

MONITORING_ACTOR = "system:monitoring"
CHANNEL = "alert"
RESOLVED_MESSAGE = "alert_resolved"
_FIRING_OUTCOMES = frozenset({"ticket_created", "linked"})


@dataclass(frozen=True)
class AlertOutcome:
    alert: str
    outcome: str  # ticket_created | linked | resolved | duplicate | ignored
    ticket_number: str | None


class AlertIntake:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        intake: IntakeService,
        clock: Clock,
        messages: ProcessMessages | None = None,
    ) -> None:
        """With ``messages``, an incident whose alerts have all resolved is told so (the
        model may then close it); without, resolutions are only recorded."""
        self._uow = uow
        self._intake = intake
        self._clock = clock
        self._messages = messages

    def receive(
        self, notification: AlertNotification, *, client_code: str | None
    ) -> list[AlertOutcome]:
        outcomes = []
        for alert in notification.alerts:
            code = alert.labels.get("client") or client_code
            if not code:
                raise ValidationFailed(
                    [
                        FieldError(
                            "labels.client",
                            "say which client: a 'client' label or ?client= in the URL",
                        )
                    ]
                )
            outcomes.append(self._one(alert, code, notification.group_key))
        return outcomes

    def _one(self, alert: Alert, client_code: str, group_key: str) -> AlertOutcome:
        try:
            with self._uow() as uow:
                try:
                    client: Client = uow.directory.client_by_code(client_code)
                except NotFound as err:
                    raise ValidationFailed([FieldError("client", str(err))]) from err
                if alert.status == "resolved":
                    outcome = self._resolved(uow, alert, client)
                else:
                    outcome = self._firing(uow, alert, client, group_key)
                uow.commit()
                return outcome
        except DuplicateMessage:
            return AlertOutcome(alert.name, "duplicate", None)

    def _firing(
        self, uow: UnitOfWork, alert: Alert, client: Client, group_key: str
    ) -> AlertOutcome:
        seen = uow.inbound.find(CHANNEL, alert.identity)
        if seen is not None:
            return AlertOutcome(alert.name, "duplicate", _number(uow, seen["ticket_id"]))
        group = f"{client.code}|{group_key or alert.identity}"
        incident = _open_ticket(uow, uow.inbound.latest_ticket_for_subject(CHANNEL, group))
        now = self._clock.now()
        if incident is None:
            if client.coordinator_id is None:
                raise ValidationFailed([FieldError("client", "client has no IT coordinator")])
            requester = uow.directory.person(client.coordinator_id)
            command = NewTicket.model_validate(
                {
                    "client_code": client.code,
                    "requester": requester.username,
                    "channel": Channel.MONITORING,
                    "category": alert.category,
                    "subject": alert.summary()[:300],
                    "description": alert.details(),
                    "impact": alert.severity,
                    "urgency": alert.severity,
                }
            )
            incident = self._intake.register_within(uow, command, MONITORING_ACTOR)
            outcome = "ticket_created"
        else:
            outcome = "linked"
        uow.inbound.add(
            channel=CHANNEL,
            external_id=alert.identity,
            sender=client.code,
            subject=group,
            received_at=now,
            outcome=outcome,
            reason=alert.summary(),
            ticket_id=incident.id,
            size=0,
        )
        uow.audit.record(
            ticket_id=incident.id,
            actor=MONITORING_ACTOR,
            kind="alert",
            summary=f"Firing: {alert.summary()}",
            at=now,
            labels=alert.labels,
            identity=alert.identity,
        )
        return AlertOutcome(alert.name, outcome, incident.number)

    def _resolved(self, uow: UnitOfWork, alert: Alert, client: Client) -> AlertOutcome:
        firing = uow.inbound.find(CHANNEL, alert.identity)
        now = self._clock.now()
        if firing is None or firing["ticket_id"] is None:
            uow.inbound.add(
                channel=CHANNEL,
                external_id=f"{alert.identity}:resolved",
                sender=client.code,
                subject="",
                received_at=now,
                outcome="ignored",
                reason="resolved before it was ever seen firing",
                size=0,
            )
            return AlertOutcome(alert.name, "ignored", None)
        uow.inbound.add(
            channel=CHANNEL,
            external_id=f"{alert.identity}:resolved",
            sender=client.code,
            subject=firing["subject"],
            received_at=now,
            outcome="resolved",
            reason=alert.summary(),
            ticket_id=firing["ticket_id"],
            size=0,
        )
        ended = alert.ends_at.isoformat() if alert.ends_at else "now"
        uow.audit.record(
            ticket_id=firing["ticket_id"],
            actor=MONITORING_ACTOR,
            kind="alert_resolved",
            at=now,
            identity=alert.identity,
            summary=f"Resolved at source ({ended}): {alert.summary()}",
        )
        if self._messages is not None and _all_resolved(uow, firing["ticket_id"]):
            self._messages.deliver_within(
                uow,
                firing["ticket_id"],
                RESOLVED_MESSAGE,
                {"alert": alert.name, "ended_at": ended},
                MONITORING_ACTOR,
            )
        return AlertOutcome(alert.name, "resolved", _number(uow, firing["ticket_id"]))


def _all_resolved(uow: UnitOfWork, ticket_id: int) -> bool:
    """Every alert linked to the incident has cleared (a group stays open while one fires)."""
    rows = uow.inbound.for_ticket(CHANNEL, ticket_id)
    firing = {row["external_id"] for row in rows if row["outcome"] in _FIRING_OUTCOMES}
    resolved = {
        row["external_id"].removesuffix(":resolved") for row in rows if row["outcome"] == "resolved"
    }
    return bool(firing) and firing <= resolved


def _open_ticket(uow: UnitOfWork, ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    ticket: Ticket = uow.tickets.get(ticket_id)
    return None if ticket.status.is_final else ticket


def _number(uow: UnitOfWork, ticket_id: int | None) -> str | None:
    return None if ticket_id is None else str(uow.tickets.get(ticket_id).number)
