"""Composition root: builds the services from settings. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from itsm.blob_store import FileBlobStore
from itsm.catalog import Catalog, load_catalog
from itsm.clock import SystemClock
from itsm.engine.runner import SpiffProcessEngine
from itsm.passwords import Argon2PasswordHasher
from itsm.services.accounts import AccountService
from itsm.services.collaboration import Collaboration
from itsm.services.human_tasks import HumanTaskService
from itsm.services.intake import IntakeService
from itsm.services.policy import DeskPolicy
from itsm.services.ports import Clock, UnitOfWork
from itsm.services.processes import ProcessService
from itsm.services.service_tasks import ServiceFunction, ServiceRegistry
from itsm.services.steps import ProcessRuntime
from itsm.services.ticket_views import TicketViews
from itsm.services.timers import TimerService
from itsm.settings import Settings
from itsm.storage.database import create_database_engine
from itsm.storage.unit_of_work import SqlUnitOfWork


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    clock: Clock
    database: Engine
    processes: ProcessService
    intake: IntakeService
    tasks: HumanTaskService
    timers: TimerService
    tickets: TicketViews
    accounts: AccountService
    collaboration: Collaboration

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(self.database, read_only=read_only)

    def close(self) -> None:
        self.database.dispose()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    functions: Mapping[str, ServiceFunction] | None = None,
    fast_password_hashing: bool = False,
) -> Services:
    settings = settings or Settings()
    clock = clock or SystemClock()
    if functions is None:
        from tasks import service_functions

        functions = service_functions()
    database = create_database_engine(settings.database_url)

    def uow(*, read_only: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(database, read_only=read_only)

    policy = DeskPolicy(
        ticket_prefix=settings.ticket_prefix,
        auto_close_after=settings.auto_close_after,
        follow_up_after=settings.follow_up_after,
    )
    engine = SpiffProcessEngine(clock)
    registry = ServiceRegistry(functions)
    processes = ProcessService(uow, engine, registry, clock)
    runtime = ProcessRuntime(uow, engine, processes, registry, clock, policy)
    return Services(
        settings=settings,
        catalog=load_catalog(settings.config_dir),
        clock=clock,
        database=database,
        processes=processes,
        intake=IntakeService(runtime),
        tasks=HumanTaskService(runtime),
        timers=TimerService(runtime),
        tickets=TicketViews(uow),
        accounts=AccountService(uow, Argon2PasswordHasher(fast=fast_password_hashing), clock),
        collaboration=Collaboration(
            uow, FileBlobStore(settings.attachments_dir), clock, settings.max_attachment_bytes
        ),
    )
