"""Staff's in-app notices: what the SLA monitor (and later others) told each person."""

from __future__ import annotations

from typing import Any

from itsm.domain.directory import Person
from itsm.services.ports import Clock, UnitOfWorkFactory


class NoticeService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def mine(self, actor: str, *, unread_only: bool = False, limit: int = 100) -> list[Any]:
        """The actor's own notices, newest first: nobody reads another person's."""
        with self._uow(read_only=True) as uow:
            person: Person = uow.directory.person_by_username(actor)
            rows: list[Any] = uow.notices.for_person(
                person.id, unread_only=unread_only, limit=limit
            )
            return rows

    def unread(self, actor: str) -> int:
        with self._uow(read_only=True) as uow:
            person: Person = uow.directory.person_by_username(actor)
            return int(uow.notices.unread_count(person.id))

    def mark_read(self, actor: str, notice_ids: list[int]) -> int:
        with self._uow() as uow:
            person: Person = uow.directory.person_by_username(actor)
            changed = int(uow.notices.mark_read(person.id, notice_ids, self._clock.now()))
            uow.commit()
        return changed
