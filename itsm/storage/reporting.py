"""Set-based reads for reports and dashboards: the facts the KPI functions compute from.

A handful of statements per call, whatever the number of tickets: one for the tickets with
their people, clients and sites, and one grouped query each for support lines reached,
field visits, minutes worked, package deductions and balances.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select

from itsm.domain.kpis import PackageFacts, TicketFacts, UsageFacts
from itsm.domain.sla import ServiceType
from itsm.storage import tables as t

# A monitoring ticket's subject is the alert's summary: "DiskSpaceLow at FS01: 95 % used".
# Only what the facts carry: descriptions and engine fields would be read for nothing.
_FACT_COLUMNS = (
    "id",
    "number",
    "subject",
    "category",
    "channel",
    "priority",
    "service_type",
    "status",
    "created_at",
    "responded_at",
    "resolved_at",
    "closed_at",
    "closure",
    "reaction_due_at",
    "resolution_due_at",
    "reopen_count",
    "vendor_name",
)
_ALERT_SUBJECT = re.compile(r"^(?P<name>[^:]+?)(?: at (?P<where>[^:]+))?: ")


class ReportQueries:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def ticket_facts(
        self, *, start: datetime, end: datetime, client_ids: Iterable[int] | None = None
    ) -> list[TicketFacts]:
        """Tickets that matter to [start, end): created in it, or still open when it began,
        or resolved or closed in it."""
        tickets = t.tickets
        relevant = and_(
            tickets.c.created_at < end,
            or_(tickets.c.closed_at.is_(None), tickets.c.closed_at >= start),
        )
        if client_ids is not None:
            relevant = and_(relevant, tickets.c.client_id.in_(list(client_ids)))
        requester = t.people.alias("requester")
        assignee = t.people.alias("assignee")
        wanted = [tickets.c[name] for name in _FACT_COLUMNS]
        query: Select[Any] = (
            select(
                *wanted,
                t.clients.c.code.label("client_code"),
                t.clients.c.sla_tier,
                requester.c.full_name.label("requester_name"),
                requester.c.username.label("requester_username"),
                assignee.c.full_name.label("assignee_name"),
                t.sites.c.name.label("site_name"),
            )
            .join(t.clients, t.clients.c.id == tickets.c.client_id)
            .join(requester, requester.c.id == tickets.c.requester_id)
            .outerjoin(assignee, assignee.c.id == tickets.c.assignee_id)
            .outerjoin(t.sites, t.sites.c.id == tickets.c.site_id)
            .where(relevant)
            .order_by(tickets.c.created_at, tickets.c.id)
        )
        rows = [dict(row) for row in self._db.execute(query).mappings()]
        # The same condition as a subquery: no id lists, whatever the number of tickets.
        ids = select(tickets.c.id).where(relevant).scalar_subquery()
        lines = self._lines_reached(ids)
        visits = self._grouped(func.count(), t.field_visits.c.ticket_id, ids)
        minutes = self._grouped(func.sum(t.time_entries.c.minutes), t.time_entries.c.ticket_id, ids)
        return [_facts(row, lines.get(row["id"], frozenset()), visits, minutes) for row in rows]

    def package_facts(self, client_id: int, start: datetime, end: datetime) -> list[PackageFacts]:
        """The client's packages bought before the period's end, with what the period used."""
        in_period = (
            select(
                t.package_deductions.c.package_id,
                func.sum(t.package_deductions.c.minutes).label("minutes"),
            )
            .where(
                t.package_deductions.c.deducted_at >= start,
                t.package_deductions.c.deducted_at < end,
            )
            .group_by(t.package_deductions.c.package_id)
            .subquery()
        )
        rows = self._db.execute(
            select(t.hour_packages, func.coalesce(in_period.c.minutes, 0).label("in_period"))
            .outerjoin(in_period, in_period.c.package_id == t.hour_packages.c.id)
            .where(t.hour_packages.c.client_id == client_id, t.hour_packages.c.purchased_at < end)
            .order_by(t.hour_packages.c.purchased_at, t.hour_packages.c.id)
        ).mappings()
        return [
            PackageFacts(
                package_id=row["id"],
                service_type=ServiceType(row["service_type"]),
                hours=row["hours"],
                price_pln=Decimal(row["price_pln"]),
                purchased_at=row["purchased_at"],
                expires_at=row["expires_at"],
                minutes_used=row["minutes_used"],
                minutes_used_in_period=int(row["in_period"]),
            )
            for row in rows
        ]

    def usage_facts(self, client_id: int, start: datetime, end: datetime) -> UsageFacts:
        entries = self._db.execute(
            select(t.time_entries.c.service_type, func.sum(t.time_entries.c.minutes))
            .join(t.tickets, t.tickets.c.id == t.time_entries.c.ticket_id)
            .where(
                t.tickets.c.client_id == client_id,
                t.time_entries.c.recorded_at >= start,
                t.time_entries.c.recorded_at < end,
            )
            .group_by(t.time_entries.c.service_type)
        ).all()
        deductions = self._db.execute(
            select(
                t.package_deductions.c.package_id,
                t.tickets.c.service_type,
                func.sum(t.package_deductions.c.minutes),
            )
            .join(t.tickets, t.tickets.c.id == t.package_deductions.c.ticket_id)
            .where(
                t.tickets.c.client_id == client_id,
                t.package_deductions.c.deducted_at >= start,
                t.package_deductions.c.deducted_at < end,
            )
            .group_by(t.package_deductions.c.package_id, t.tickets.c.service_type)
        ).all()
        covered: dict[int, int] = {}
        uncovered: dict[ServiceType, int] = defaultdict(int)
        for package_id, service_type, total in deductions:
            if package_id is None:
                uncovered[ServiceType(service_type)] += int(total)
            else:
                covered[int(package_id)] = covered.get(int(package_id), 0) + int(total)
        return UsageFacts(
            minutes_by_service={ServiceType(kind): int(total) for kind, total in entries},
            covered_minutes_by_package=covered,
            uncovered_minutes_by_service=dict(uncovered),
        )

    def open_task_load(self) -> list[dict[str, Any]]:
        """Open staff tasks per assignee and group (engineer workload)."""
        rows = self._db.execute(
            select(
                t.human_tasks.c.assignee,
                t.human_tasks.c.candidate_group,
                func.count().label("tasks"),
            )
            .where(
                t.human_tasks.c.status == "open",
                t.human_tasks.c.candidate_group.not_in(["requester", "coordinator"]),
            )
            .group_by(t.human_tasks.c.assignee, t.human_tasks.c.candidate_group)
        ).mappings()
        return [dict(row) for row in rows]

    def _lines_reached(self, ticket_ids: Any) -> dict[int, frozenset[str]]:
        reached: dict[int, set[str]] = defaultdict(set)
        changes = t.ticket_status_changes
        rows = self._db.execute(
            select(changes.c.ticket_id, changes.c.support_line)
            .where(changes.c.ticket_id.in_(ticket_ids), changes.c.support_line.is_not(None))
            .distinct()
        ).all()
        for ticket_id, line in rows:
            reached[int(ticket_id)].add(str(line))
        return {ticket_id: frozenset(lines) for ticket_id, lines in reached.items()}

    def _grouped(self, aggregate: Any, key: Any, ticket_ids: Any) -> dict[int, int]:
        rows = self._db.execute(
            select(key, aggregate).where(key.in_(ticket_ids)).group_by(key)
        ).all()
        return {int(ticket_id): int(value or 0) for ticket_id, value in rows}


def _facts(
    row: dict[str, Any], lines: frozenset[str], visits: dict[int, int], minutes: dict[int, int]
) -> TicketFacts:
    alert_name: str | None = None
    site = row["site_name"]
    if row["channel"] == "monitoring":
        match = _ALERT_SUBJECT.match(row["subject"])
        if match is not None:
            alert_name = match["name"].strip()
            site = site or (match["where"] or "").strip() or None
    if row["vendor_name"]:
        lines = lines | {"vendor"}
    return TicketFacts(
        id=row["id"],
        number=row["number"],
        client_code=row["client_code"],
        sla_tier=row["sla_tier"],
        subject=row["subject"],
        category=row["category"],
        channel=row["channel"],
        priority=row["priority"],
        service_type=ServiceType(row["service_type"]),
        status=row["status"],
        requester=row["requester_name"],
        requester_username=row["requester_username"],
        assignee=row["assignee_name"],
        site=site,
        created_at=row["created_at"],
        responded_at=row["responded_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        closure=row["closure"],
        reaction_due_at=row["reaction_due_at"],
        resolution_due_at=row["resolution_due_at"],
        reopen_count=row["reopen_count"],
        lines_reached=lines,
        vendor_name=row["vendor_name"],
        field_visits=visits.get(row["id"], 0),
        minutes_spent=minutes.get(row["id"], 0),
        alert_name=alert_name,
    )
