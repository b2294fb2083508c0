"""Keeping each ticket's stored SLA due times equal to what its status history says.

Called inside the transaction that changed a clock input (status, first response,
resolution, targets), so the columns the SLA monitor scans are never stale; `recompute_all`
re-reads every open ticket after a policy change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsm.domain.sla_clock import (
    ClockRules,
    SlaClockKind,
    SlaReading,
    Threshold,
    read_sla,
)
from itsm.domain.tickets import Ticket
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class SlaClockKeeper:
    rules: ClockRules

    def refresh_touched(self, uow: UnitOfWork, at: datetime) -> None:
        """Recompute every ticket whose clock inputs this unit of work changed."""
        touched: set[int] = uow.tickets.clock_touched
        while touched:
            self.refresh(uow, touched.pop(), at)

    def refresh(self, uow: UnitOfWork, ticket_id: int, at: datetime) -> SlaReading | None:
        ticket: Ticket = uow.tickets.get(ticket_id)
        if ticket.reaction_target_hours is None:
            return None  # not classified yet: no targets, no clock
        reading = self.read(uow, ticket)
        columns = _columns(reading)
        changed = {key: value for key, value in columns.items() if getattr(ticket, key) != value}
        if changed:
            uow.tickets.update(ticket_id, at, **changed)
            if {"reaction_due_at", "resolution_due_at"} & changed.keys():
                # The inbox orders engineers' tasks by the ticket's due time; tasks the step
                # just created took the old one.
                uow.tasks.set_staff_due(
                    ticket_id, columns["resolution_due_at"] or columns["reaction_due_at"]
                )
        alarms = uow.sla.alarms(ticket_id)
        fired = {
            (SlaClockKind(row["clock"]), Threshold(row["threshold"]))
            for row in alarms
            if row["fired_at"] is not None
        }
        pending = {
            (clock.kind, threshold): due
            for clock in reading.clocks()
            for threshold, due in clock.pending(
                threshold for kind, threshold in fired if kind is clock.kind
            ).items()
        }
        uow.sla.replace_pending(ticket_id, pending, alarms)
        return reading

    def read(self, uow: UnitOfWork, ticket: Ticket) -> SlaReading:
        client = uow.directory.client(ticket.client_id)
        return read_sla(
            uow.sla.history(ticket.id),
            reaction_hours=ticket.reaction_target_hours or 0.0,
            resolution_hours=ticket.resolution_target_hours,
            responded_at=ticket.responded_at,
            resolved_at=ticket.resolved_at,
            calendar=client.calendar,
            rules=self.rules,
        )


def _columns(reading: SlaReading) -> dict[str, Any]:
    resolution = reading.resolution
    paused = [clock.paused_since for clock in reading.clocks() if clock.paused_since]
    return {
        "reaction_due_at": reading.reaction.due_at,
        "reaction_warn_at": reading.reaction.warn_at,
        "resolution_due_at": None if resolution is None else resolution.due_at,
        "resolution_warn_at": None if resolution is None else resolution.warn_at,
        "sla_paused_since": min(paused) if paused else None,
    }


class SlaRecompute:
    """After a change of the pause rules or of a client's calendar: every open ticket again."""

    def __init__(self, uow: UnitOfWorkFactory, keeper: SlaClockKeeper, clock: Clock) -> None:
        self._uow = uow
        self._keeper = keeper
        self._clock = clock

    def recompute_open(self, batch: int = 500) -> int:
        with self._uow(read_only=True) as uow:
            ids: list[int] = uow.tickets.open_ids()
        for start in range(0, len(ids), batch):
            with self._uow() as uow:
                now = self._clock.now()
                for ticket_id in ids[start : start + batch]:
                    self._keeper.refresh(uow, ticket_id, now)
                uow.commit()
        return len(ids)
