"""In-app notices for staff (SLA warnings and breaches): what the bell on a page lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from itsm.storage import tables as t

_NOTICES = t.notifications


class NoticeBoard:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_many(self, notices: Sequence[dict[str, Any]]) -> None:
        if notices:
            self._db.execute(
                insert(_NOTICES),
                [{**notice, "summary": str(notice["summary"])[:400]} for notice in notices],
            )

    def for_person(
        self, person_id: int, *, unread_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = (
            select(_NOTICES, t.tickets.c.number.label("ticket_number"))
            .outerjoin(t.tickets, t.tickets.c.id == _NOTICES.c.ticket_id)
            .where(_NOTICES.c.person_id == person_id)
            .order_by(_NOTICES.c.id.desc())
            .limit(limit)
        )
        if unread_only:
            query = query.where(_NOTICES.c.read_at.is_(None))
        return [dict(row) for row in self._db.execute(query).mappings()]

    def unread_count(self, person_id: int) -> int:
        return int(
            self._db.execute(
                select(func.count()).where(
                    _NOTICES.c.person_id == person_id, _NOTICES.c.read_at.is_(None)
                )
            ).scalar_one()
        )

    def mark_read(self, person_id: int, notice_ids: Iterable[int], at: datetime) -> int:
        ids = list(notice_ids)
        if not ids:
            return 0
        result = self._db.execute(
            update(_NOTICES)
            .where(
                _NOTICES.c.person_id == person_id,
                _NOTICES.c.id.in_(ids),
                _NOTICES.c.read_at.is_(None),
            )
            .values(read_at=at)
        )
        return int(result.rowcount)
