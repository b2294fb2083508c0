"""SLA storage: the status history the clock is computed from, and the alarms it leaves.

An alarm is one threshold (warning, breach) of one clock (reaction, resolution) of one
ticket. Recomputing the clock replaces the ticket's unfired alarms; the monitor fires due
ones with a single ``UPDATE … WHERE fired_at IS NULL``, so each fires once however often and
however concurrently scans run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from itsm.domain.people import Role
from itsm.domain.sla_clock import SlaClockKind, StatusChange, Threshold
from itsm.domain.tickets import TicketStatus
from itsm.storage import tables as t

_CHANGES = t.ticket_status_changes
_ALARMS = t.sla_alarms

AlarmKey = tuple[SlaClockKind, Threshold]

_HISTORY = (
    select(_CHANGES.c.at, _CHANGES.c.status)
    .where(_CHANGES.c.ticket_id == bindparam("key"))
    .order_by(_CHANGES.c.at, _CHANGES.c.id)
)
_ALARMS_OF_TICKET = select(
    _ALARMS.c.id, _ALARMS.c.clock, _ALARMS.c.threshold, _ALARMS.c.due_at, _ALARMS.c.fired_at
).where(_ALARMS.c.ticket_id == bindparam("key"))
# Copies the ticket's current status and line, so the history can never disagree with it.
RECORD_STATUS_CHANGE = insert(_CHANGES).from_select(
    ["ticket_id", "at", "status", "support_line"],
    select(t.tickets.c.id, bindparam("at"), t.tickets.c.status, t.tickets.c.support_line).where(
        t.tickets.c.id == bindparam("ticket_id")
    ),
)


_DELETE_ALARMS = delete(_ALARMS).where(_ALARMS.c.id.in_(bindparam("ids", expanding=True)))
_INSERT_ALARM = insert(_ALARMS)
_MOVE_ALARM = (
    update(_ALARMS).where(_ALARMS.c.id == bindparam("b_id")).values(due_at=bindparam("b_due"))
)


class SlaRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def record_status(self, ticket_id: int, at: datetime) -> None:
        self._db.execute(RECORD_STATUS_CHANGE, {"ticket_id": ticket_id, "at": at})

    def add_status_change(
        self, ticket_id: int, at: datetime, status: TicketStatus, support_line: str | None
    ) -> None:
        """A change learnt late (e.g. recorded after the fact): the clock sorts by time."""
        self._db.execute(
            insert(_CHANGES).values(
                ticket_id=ticket_id, at=at, status=status.value, support_line=support_line
            )
        )

    def history(self, ticket_id: int) -> list[StatusChange]:
        rows = self._db.execute(_HISTORY, {"key": ticket_id}).all()
        return [StatusChange(at, TicketStatus(status)) for at, status in rows]

    def history_rows(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(_CHANGES).where(_CHANGES.c.ticket_id == ticket_id).order_by(_CHANGES.c.at)
        ).mappings()
        return [dict(row) for row in rows]

    def alarms(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(_ALARMS_OF_TICKET, {"key": ticket_id}).mappings()
        return [dict(row) for row in rows]

    def replace_pending(
        self,
        ticket_id: int,
        pending: Mapping[AlarmKey, datetime],
        current: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Make the ticket's unfired alarms exactly ``pending``; fired ones are history.
        ``current``: the ticket's alarms as the caller just read them (saves a query)."""
        existing = {
            (SlaClockKind(row["clock"]), Threshold(row["threshold"])): row
            for row in (self.alarms(ticket_id) if current is None else current)
        }
        stale = [
            row["id"]
            for key, row in existing.items()
            if row["fired_at"] is None and key not in pending
        ]
        if stale:
            self._db.execute(_DELETE_ALARMS, {"ids": stale})
        new, moved = [], []
        for (clock, threshold), due_at in pending.items():
            row = existing.get((clock, threshold))
            if row is None:
                new.append(
                    {
                        "ticket_id": ticket_id,
                        "clock": clock.value,
                        "threshold": threshold.value,
                        "due_at": due_at,
                    }
                )
            elif row["fired_at"] is None and row["due_at"] != due_at:
                moved.append({"b_id": row["id"], "b_due": due_at})
        if new:
            self._db.execute(_INSERT_ALARM, new)
        if moved:
            self._db.execute(_MOVE_ALARM, moved)

    def fire_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Mark up to ``limit`` due, unfired alarms as fired now and return them.

        One statement: a concurrent scan either waits for this one's row locks and then
        finds ``fired_at`` set (PostgreSQL re-checks the condition), or is serialised
        behind it (SQLite's single writer) — never both fire the same alarm."""
        due = (
            select(_ALARMS.c.id)
            .where(_ALARMS.c.fired_at.is_(None), _ALARMS.c.due_at <= now)
            .order_by(_ALARMS.c.due_at)
            .limit(limit)
        )
        fired = self._db.execute(
            update(_ALARMS)
            .where(and_(_ALARMS.c.id.in_(due.scalar_subquery()), _ALARMS.c.fired_at.is_(None)))
            .values(fired_at=now)
            .returning(
                _ALARMS.c.id,
                _ALARMS.c.ticket_id,
                _ALARMS.c.clock,
                _ALARMS.c.threshold,
                _ALARMS.c.due_at,
            )
        ).mappings()
        return sorted((dict(row) for row in fired), key=lambda row: (row["due_at"], row["id"]))

    def alarm_subjects(self, ticket_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """What a warning or breach message needs about each ticket, in one query."""
        ids = sorted(set(ticket_ids))
        if not ids:
            return {}
        assignee = t.people.alias("assignee")
        rows = self._db.execute(
            select(
                t.tickets.c.id,
                t.tickets.c.number,
                t.tickets.c.subject,
                t.tickets.c.priority,
                t.tickets.c.status,
                t.tickets.c.assignee_id,
                t.tickets.c.reaction_due_at,
                t.tickets.c.resolution_due_at,
                t.clients.c.code.label("client_code"),
                t.clients.c.name.label("client_name"),
                t.clients.c.sla_tier,
                t.clients.c.language,
                assignee.c.full_name.label("assignee_name"),
                assignee.c.email.label("assignee_email"),
                assignee.c.phone.label("assignee_phone"),
            )
            .join(t.clients, t.clients.c.id == t.tickets.c.client_id)
            .outerjoin(assignee, assignee.c.id == t.tickets.c.assignee_id)
            .where(t.tickets.c.id.in_(ids))
        ).mappings()
        return {row["id"]: dict(row) for row in rows}

    def raise_priority(self, ticket_ids: Iterable[int], at: datetime) -> dict[int, str]:
        """One step more urgent (P4 → P3 … P1 stays), set-based; returns the new values."""
        ids = sorted(set(ticket_ids))
        if not ids:
            return {}
        raised: dict[int, str] = {}
        for before, after in (("P2", "P1"), ("P3", "P2"), ("P4", "P3")):
            changed = self._db.execute(
                update(t.tickets)
                .where(t.tickets.c.id.in_(ids), t.tickets.c.priority == before)
                .values(priority=after, updated_at=at, version=t.tickets.c.version + 1)
                .returning(t.tickets.c.id)
            ).scalars()
            for ticket_id in changed:
                raised[int(ticket_id)] = after
            ids = [each for each in ids if each not in raised]
        return raised

    def lead_contacts(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(t.people.c.id, t.people.c.full_name, t.people.c.email, t.people.c.phone)
            .where(t.people.c.role == Role.SERVICE_DESK_LEAD.value, t.people.c.active.is_(True))
            .order_by(t.people.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def fired_alarms(
        self, *, since: datetime | None = None, client_id: int | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Fired warnings and breaches, newest first, with their ticket (dashboard)."""
        query = (
            select(
                _ALARMS.c.clock,
                _ALARMS.c.threshold,
                _ALARMS.c.due_at,
                _ALARMS.c.fired_at,
                t.tickets.c.id.label("ticket_id"),
                t.tickets.c.number,
                t.tickets.c.subject,
                t.tickets.c.status,
                t.tickets.c.client_id,
            )
            .join(t.tickets, t.tickets.c.id == _ALARMS.c.ticket_id)
            .where(_ALARMS.c.fired_at.is_not(None))
            .order_by(_ALARMS.c.fired_at.desc(), _ALARMS.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(_ALARMS.c.fired_at >= since)
        if client_id is not None:
            query = query.where(t.tickets.c.client_id == client_id)
        return [dict(row) for row in self._db.execute(query).mappings()]
