"""The SLA monitor: fire every due warning and breach once, tell people, escalate.

What is due is one set-based statement over the alarm index (``SlaRepository.fire_due``),
never a loop over tickets; everything the firing causes — audit events, in-app notices,
e-mails in the outbox, a raised priority — is written in that same transaction, so a crash
either keeps all of it or none, and a second, overlapping run finds nothing left to fire.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsm.domain.sla import EscalationPolicy
from itsm.domain.sla_clock import SlaClockKind, Threshold
from itsm.services.ports import Clock, JsonDict, UnitOfWork, UnitOfWorkFactory

SYSTEM_ACTOR = "system:sla-monitor"
_CLOCK_NAMES_PL = {SlaClockKind.REACTION: "reakcję", SlaClockKind.RESOLUTION: "rozwiązanie"}


@dataclass
class SlaScan:
    fired: Counter[str] = field(default_factory=Counter)  # "reaction warning": 3, …
    escalated: int = 0
    notices: int = 0
    messages: int = 0

    @property
    def warnings(self) -> int:
        return sum(n for key, n in self.fired.items() if key.endswith(Threshold.WARNING.value))

    @property
    def breaches(self) -> int:
        return sum(n for key, n in self.fired.items() if key.endswith(Threshold.BREACH.value))


@dataclass(frozen=True)
class _Recipient:
    person_id: int
    name: str
    email: str | None
    phone: str | None


class SlaMonitor:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        escalation: EscalationPolicy,
        *,
        warning_percent: int,
        batch_size: int = 1000,
    ) -> None:
        self._uow = uow
        self._warning_percent = warning_percent
        self._clock = clock
        self._escalation = escalation
        self._batch_size = batch_size

    def scan(self) -> SlaScan:
        """Fire what is due now, batch by batch, each batch one transaction."""
        report = SlaScan()
        while True:
            with self._uow() as uow:
                now = self._clock.now()
                fired = uow.sla.fire_due(now, self._batch_size)
                if fired:
                    self._act(uow, fired, now, report)
                uow.commit()
            if len(fired) < self._batch_size:
                return report

    def _act(
        self, uow: UnitOfWork, fired: Sequence[dict[str, Any]], now: datetime, report: SlaScan
    ) -> None:
        tickets = uow.sla.alarm_subjects(row["ticket_id"] for row in fired)
        leads = [
            _Recipient(lead["id"], lead["full_name"], lead["email"], lead["phone"])
            for lead in uow.sla.lead_contacts()
        ]
        breached = [row["ticket_id"] for row in fired if row["threshold"] == Threshold.BREACH.value]
        raised = (
            uow.sla.raise_priority(breached, now)
            if self._escalation.raise_priority_on_breach
            else {}
        )
        events: list[JsonDict] = []
        notices: list[JsonDict] = []
        messages: list[JsonDict] = []
        for alarm in fired:
            ticket = tickets[alarm["ticket_id"]]
            clock = SlaClockKind(alarm["clock"])
            threshold = Threshold(alarm["threshold"])
            report.fired[f"{clock.value} {threshold.value}"] += 1
            priority = raised.get(ticket["id"], ticket["priority"])
            summary = _summary(clock, threshold, ticket, alarm["due_at"])
            events.append(_event(ticket["id"], f"sla_{threshold.value}", summary, now, alarm))
            if ticket["id"] in raised and threshold is Threshold.BREACH:
                events.append(
                    _event(
                        ticket["id"],
                        "priority_raised",
                        f"Priority {ticket['priority']} → {priority} after the SLA breach",
                        now,
                        {"from": ticket["priority"], "to": priority},
                    )
                )
            for person in self._recipients(ticket, threshold, leads):
                notices.append(
                    {
                        "person_id": person.person_id,
                        "ticket_id": ticket["id"],
                        "kind": f"sla_{threshold.value}",
                        "summary": summary,
                        "created_at": now,
                    }
                )
                percent = 100 if threshold is Threshold.BREACH else self._warning_percent
                message = _message(person, ticket, clock, alarm, priority, percent, now)
                if message is not None:
                    messages.append(message)
        report.escalated += sum(1 for ticket_id in breached if ticket_id in raised)
        report.notices += len(notices)
        report.messages += len(messages)
        uow.audit.record_many(events)
        uow.notices.add_many(notices)
        uow.outbox.add_many(messages)

    def _recipients(
        self, ticket: dict[str, Any], threshold: Threshold, leads: list[_Recipient]
    ) -> list[_Recipient]:
        assignee = (
            []
            if ticket["assignee_id"] is None
            else [
                _Recipient(
                    ticket["assignee_id"],
                    ticket["assignee_name"],
                    ticket["assignee_email"],
                    ticket["assignee_phone"],
                )
            ]
        )
        if threshold is Threshold.WARNING and not self._escalation.warn_lead:
            return assignee
        seen = {person.person_id for person in assignee}
        return assignee + [lead for lead in leads if lead.person_id not in seen]


def _summary(
    clock: SlaClockKind, threshold: Threshold, ticket: dict[str, Any], due_at: datetime
) -> str:
    what = "warning" if threshold is Threshold.WARNING else "breached"
    when = "due" if threshold is Threshold.WARNING else "was due"
    return (
        f"SLA {clock.value} {what}: {ticket['number']} ({ticket['client_code']}) "
        f"{when} {due_at:%Y-%m-%d %H:%M} UTC"
    )


def _event(
    ticket_id: int, kind: str, summary: str, now: datetime, payload: dict[str, Any]
) -> JsonDict:
    return {
        "occurred_at": now,
        "actor": SYSTEM_ACTOR,
        "kind": kind,
        "ticket_id": ticket_id,
        "instance_id": None,
        "task_id": None,
        "element_id": None,
        "summary": summary[:400],
        "payload": payload,
    }


def _message(
    person: _Recipient,
    ticket: dict[str, Any],
    clock: SlaClockKind,
    alarm: dict[str, Any],
    priority: str | None,
    percent: int,
    now: datetime,
) -> JsonDict | None:
    channel, address = ("email", person.email) if person.email else ("sms", person.phone)
    if not address:
        return None
    return {
        # Stable per alarm and person: a resend after a crash is recognisable as the same.
        "message_id": f"<sla.{alarm['id']}.{person.person_id}.{ticket['number']}@itsm.invalid>",
        "ticket_id": ticket["id"],
        "channel": channel,
        "recipient": address,
        "template": "sla_breach" if percent >= 100 else "sla_warning",
        "language": ticket["language"],
        "context": {
            "ticket_number": ticket["number"],
            "subject": ticket["subject"],
            "recipient_name": person.name,
            "client_name": ticket["client_name"],
            "sla_tier": ticket["sla_tier"],
            "priority": priority or "–",
            "clock": clock.value,
            "clock_pl": _CLOCK_NAMES_PL[clock],
            "percent": percent,
            "due_at": f"{alarm['due_at']:%Y-%m-%d %H:%M}",
            "engineer_name": ticket["assignee_name"] or "–",
        },
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
