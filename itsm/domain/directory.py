"""Client companies, their sites and the people who report or work tickets."""

from __future__ import annotations

from dataclasses import dataclass

from itsm.domain.calendar import BusinessCalendar
from itsm.domain.people import Role
from itsm.domain.sla import ServiceType, SlaTier


@dataclass(frozen=True)
class Client:
    id: int
    code: str
    name: str
    sla_tier: SlaTier
    default_service_type: ServiceType
    language: str
    calendar: BusinessCalendar
    coordinator_id: int | None


@dataclass(frozen=True)
class Site:
    id: int
    client_id: int
    name: str
    address: str


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    full_name: str
    email: str | None
    phone: str | None
    role: Role
    client_id: int | None
    is_authorised: bool
    active: bool = True

    @property
    def works_for_provider(self) -> bool:
        return self.client_id is None
