"""Inbound messages: each external message recorded once, with what became of it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from itsm.domain.directory import Person
from itsm.domain.errors import ConflictError
from itsm.domain.inbound_email import DuplicateMessage
from itsm.storage import tables as t
from itsm.storage.rows import person_from_row

_INBOUND = t.inbound_messages


class InboundMessages:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def find(self, channel: str, external_id: str) -> dict[str, Any] | None:
        row = (
            self._db.execute(
                select(_INBOUND).where(
                    _INBOUND.c.channel == channel, _INBOUND.c.external_id == external_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def add(self, **message: Any) -> int:
        """Record a message; raises DuplicateMessage when its external id is known already.

        The insert runs in a savepoint, so a lost race leaves the transaction usable."""
        try:
            with self._db.begin_nested():
                result = self._db.execute(insert(_INBOUND).values(**message))
        except IntegrityError as err:
            raise DuplicateMessage(
                f"{message.get('channel')} message {message.get('external_id')!r} is known"
            ) from err
        key = result.inserted_primary_key
        assert key is not None, "insert returned no primary key"
        return int(key[0])

    def people_by_email(self, address: str) -> list[Person]:
        """Active people whose e-mail address is ``address`` (compared case-insensitively)."""
        rows = self._db.execute(
            select(t.people)
            .where(func.lower(t.people.c.email) == address.lower(), t.people.c.active.is_(True))
            .order_by(t.people.c.id)
        ).mappings()
        return [person_from_row(row) for row in rows]

    def ticket_for_external_ids(self, channel: str, external_ids: Iterable[str]) -> int | None:
        """The ticket of the newest recorded message among ``external_ids``, if any."""
        ids = [each for each in external_ids if each]
        if not ids:
            return None
        value = self._db.execute(
            select(_INBOUND.c.ticket_id)
            .where(
                _INBOUND.c.channel == channel,
                _INBOUND.c.external_id.in_(ids),
                _INBOUND.c.ticket_id.is_not(None),
            )
            .order_by(_INBOUND.c.id.desc())
            .limit(1)
        ).scalar()
        return None if value is None else int(value)

    def ticket_for_outbox_ids(self, message_ids: Iterable[str]) -> int | None:
        """The ticket of a notification we sent whose Message-ID (with or without <>) matches."""
        ids = [each for each in message_ids if each]
        if not ids:
            return None
        candidates = ids + [f"<{each}>" for each in ids]
        value = self._db.execute(
            select(t.outbox.c.ticket_id)
            .where(t.outbox.c.message_id.in_(candidates), t.outbox.c.ticket_id.is_not(None))
            .order_by(t.outbox.c.id.desc())
            .limit(1)
        ).scalar()
        return None if value is None else int(value)

    def count_since(self, channel: str, sender: str, outcome: str, since: datetime) -> int:
        return int(
            self._db.execute(
                select(func.count())
                .select_from(_INBOUND)
                .where(
                    _INBOUND.c.channel == channel,
                    _INBOUND.c.sender == sender,
                    _INBOUND.c.outcome == outcome,
                    _INBOUND.c.received_at >= since,
                )
            ).scalar_one()
        )

    def count(self, channel: str | None = None) -> int:
        query = select(func.count()).select_from(_INBOUND)
        if channel is not None:
            query = query.where(_INBOUND.c.channel == channel)
        return int(self._db.execute(query).scalar_one())

    def recent(self, channel: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._db.execute(
            select(_INBOUND)
            .where(_INBOUND.c.channel == channel)
            .order_by(_INBOUND.c.id.desc())
            .limit(limit)
        ).mappings()
        return [dict(row) for row in rows]

    def latest_ticket_for_subject(self, channel: str, subject: str) -> int | None:
        """The ticket the newest message with this subject went to (alert groups)."""
        found = self._db.execute(
            select(_INBOUND.c.ticket_id)
            .where(
                _INBOUND.c.channel == channel,
                _INBOUND.c.subject == subject,
                _INBOUND.c.ticket_id.is_not(None),
            )
            .order_by(_INBOUND.c.id.desc())
            .limit(1)
        ).scalar()
        return None if found is None else int(found)

    def by_outcome(self, outcome: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first, every channel (the quarantine review)."""
        rows = self._db.execute(
            select(_INBOUND)
            .where(_INBOUND.c.outcome == outcome)
            .order_by(_INBOUND.c.id.desc())
            .limit(limit)
        ).mappings()
        return [dict(row) for row in rows]

    def get(self, message_id: int) -> dict[str, Any] | None:
        row = self._db.execute(select(_INBOUND).where(_INBOUND.c.id == message_id)).mappings()
        found = row.first()
        return None if found is None else dict(found)

    def for_ticket(self, channel: str, ticket_id: int) -> list[dict[str, Any]]:
        """Every message of ``channel`` recorded against the ticket, oldest first."""
        rows = self._db.execute(
            select(_INBOUND)
            .where(_INBOUND.c.channel == channel, _INBOUND.c.ticket_id == ticket_id)
            .order_by(_INBOUND.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def settle_quarantined(
        self,
        message_id: int,
        *,
        outcome: str,
        ticket_id: int | None,
        reviewed_by: str,
        reviewed_at: datetime,
        review_note: str,
    ) -> None:
        """Record what a reviewer made of a quarantined message, in its own row: the unique
        (channel, external_id) stays the one record of the message. Only a message still in
        quarantine changes, so two reviewers acting at once cannot both succeed."""
        result = self._db.execute(
            update(_INBOUND)
            .where(_INBOUND.c.id == message_id, _INBOUND.c.outcome == "quarantined")
            .values(
                outcome=outcome,
                ticket_id=ticket_id,
                reviewed_by=reviewed_by,
                reviewed_at=reviewed_at,
                review_note=review_note,
            )
        )
        if result.rowcount != 1:
            raise ConflictError(f"message {message_id} is no longer in quarantine")
