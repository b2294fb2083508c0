"""Loading the provider, its clients and their people from the demo seed into the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from itsm.catalog import Catalog
from itsm.domain.packages import expiry_for, package_price
from itsm.services.ports import UnitOfWork


@dataclass
class SeededDirectory:
    client_ids: dict[str, int] = field(default_factory=dict)
    person_ids: dict[str, int] = field(default_factory=dict)


def seed_directory(uow: UnitOfWork, catalog: Catalog, now: datetime) -> SeededDirectory:
    seeded = SeededDirectory()
    seed = catalog.demo
    for member in seed.provider.staff:
        seeded.person_ids[member.username] = uow.directory.add_person(
            username=member.username,
            full_name=member.full_name,
            role=member.role,
            client_id=None,
            email=member.email,
            phone=member.phone,
        )
    for client in seed.clients:
        client_id = uow.directory.add_client(
            code=client.code,
            name=client.name,
            sla_tier=client.tier,
            default_service_type=client.default_service_type,
            language=client.language,
            calendar=client.business_hours.calendar(),
            created_at=now,
        )
        seeded.client_ids[client.code] = client_id
        for site in client.sites:
            uow.directory.add_site(client_id, site.name, site.address)
        for person in client.people:
            seeded.person_ids[person.username] = uow.directory.add_person(
                username=person.username,
                full_name=person.full_name,
                role=person.role,
                client_id=client_id,
                email=person.email,
                phone=person.phone,
                is_authorised=person.authorised,
            )
        uow.directory.set_coordinator(client_id, seeded.person_ids[client.coordinator.username])
        offer = catalog.package_offer
        for package in client.packages:
            purchased = package.purchased_at(now)
            uow.work.add_package(
                client_id=client_id,
                service_type=package.service_type,
                hours=package.hours,
                price_pln=package_price(offer, package.service_type, package.hours),
                purchased_at=purchased,
                expires_at=expiry_for(purchased, offer.validity_months),
            )
    return seeded
