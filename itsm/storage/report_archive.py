"""The archive of monthly client reports: one row per client and month, files by hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from itsm.storage import tables as t

_REPORTS = t.monthly_reports


class ReportArchive:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def find(self, client_id: int, month: str) -> dict[str, Any] | None:
        row = (
            self._db.execute(
                select(_REPORTS).where(_REPORTS.c.client_id == client_id, _REPORTS.c.month == month)
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def get(self, report_id: int) -> dict[str, Any] | None:
        row = self._db.execute(select(_REPORTS).where(_REPORTS.c.id == report_id)).mappings()
        found = row.first()
        return None if found is None else dict(found)

    def store(self, **report: Any) -> int:
        """Keep this month's report; a regenerated one replaces the earlier (same key)."""
        self._db.execute(
            delete(_REPORTS).where(
                _REPORTS.c.client_id == report["client_id"], _REPORTS.c.month == report["month"]
            )
        )
        key = self._db.execute(insert(_REPORTS).values(**report)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def mark_sent(self, report_id: int, at: datetime) -> None:
        self._db.execute(update(_REPORTS).where(_REPORTS.c.id == report_id).values(sent_at=at))

    def listing(self, client_id: int | None = None, limit: int = 240) -> list[dict[str, Any]]:
        query = (
            select(
                _REPORTS.c.id,
                _REPORTS.c.client_id,
                _REPORTS.c.month,
                _REPORTS.c.generated_at,
                _REPORTS.c.generated_by,
                _REPORTS.c.ticket_count,
                _REPORTS.c.sent_at,
                t.clients.c.code.label("client_code"),
                t.clients.c.name.label("client_name"),
            )
            .join(t.clients, t.clients.c.id == _REPORTS.c.client_id)
            .order_by(_REPORTS.c.month.desc(), t.clients.c.code)
            .limit(limit)
        )
        if client_id is not None:
            query = query.where(_REPORTS.c.client_id == client_id)
        return [dict(row) for row in self._db.execute(query).mappings()]
