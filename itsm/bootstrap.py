"""Composition root: builds the services from settings. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from itsm.blob_store import FileBlobStore
from itsm.catalog import Catalog, load_catalog
from itsm.channels.email_message import parse_email
from itsm.channels.imap_mailbox import ImapMailbox
from itsm.channels.rendering import TemplateRenderer
from itsm.channels.senders import HttpSmsSender, SmtpSender
from itsm.clock import SystemClock
from itsm.domain.inbound_email import ParsedEmail, Rejected
from itsm.engine.runner import SpiffProcessEngine
from itsm.passwords import Argon2PasswordHasher
from itsm.reporting import MonthlyReportRenderer
from itsm.scenario_desk import ScenarioDesk
from itsm.services.accounts import AccountService, LoginThrottle
from itsm.services.alert_intake import AlertIntake
from itsm.services.api_access import ApiAccess
from itsm.services.collaboration import Collaboration
from itsm.services.dashboard import ManagerDashboard
from itsm.services.delivery import OutboxDelivery, Sender
from itsm.services.designer import DesignerService
from itsm.services.email_intake import EmailIntake
from itsm.services.human_tasks import HumanTaskService
from itsm.services.incidents import IncidentService
from itsm.services.instance_migration import InstanceMigrationService
from itsm.services.intake import IntakeService
from itsm.services.mail_polling import Mailbox, MailPoller
from itsm.services.notices import NoticeService
from itsm.services.policy import DeskPolicy
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from itsm.services.process_cockpit import ProcessCockpit
from itsm.services.process_messages import ProcessMessages
from itsm.services.processes import ProcessService
from itsm.services.quarantine import QuarantineReview
from itsm.services.reports import MonthlyReports
from itsm.services.requester_verification import RequesterVerification
from itsm.services.service_tasks import ServiceFunction, ServiceRegistry
from itsm.services.sla_clock import SlaClockKeeper, SlaRecompute
from itsm.services.sla_monitor import SlaMonitor
from itsm.services.sms_intake import SmsIntake
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
    email: EmailIntake
    delivery: OutboxDelivery
    api_access: ApiAccess
    alerts: AlertIntake
    sms: SmsIntake
    quarantine: QuarantineReview
    verification: RequesterVerification
    sla_monitor: SlaMonitor
    sla_recompute: SlaRecompute
    notices: NoticeService
    reports: MonthlyReports
    dashboard: ManagerDashboard
    incidents: IncidentService
    designer: DesignerService
    migrations: InstanceMigrationService
    cockpit: ProcessCockpit
    mail_poller: MailPoller | None = None

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(self.database, read_only=read_only)

    def close(self) -> None:
        self.database.dispose()


def _delivery(
    settings: Settings, uow: UnitOfWorkFactory, clock: Clock, blobs: FileBlobStore
) -> OutboxDelivery:
    senders: dict[str, Sender] = {
        "email": SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    }
    if settings.sms_gateway_url:
        senders["sms"] = HttpSmsSender(settings.sms_gateway_url, settings.sms_gateway_token)
    return OutboxDelivery(
        uow,
        clock,
        TemplateRenderer(),
        senders,
        max_attempts=settings.outbox_max_attempts,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        blobs=blobs,
    )


def _email_intake(
    settings: Settings,
    uow: UnitOfWorkFactory,
    intake: IntakeService,
    blobs: FileBlobStore,
    clock: Clock,
) -> EmailIntake:
    def parse(raw: bytes) -> ParsedEmail | Rejected:
        # One attachment over the limit is cut out before parsing (never decoded): the
        # intake would refuse it anyway, and decoding costs several times its size.
        return parse_email(
            raw,
            max_bytes=settings.max_email_bytes,
            max_attachment_bytes=settings.max_email_bytes,
            max_part_bytes=settings.max_attachment_bytes,
        )

    return EmailIntake(
        uow,
        intake,
        blobs,
        clock,
        parse,
        ticket_prefix=settings.ticket_prefix,
        tickets_per_sender_per_hour=settings.email_tickets_per_sender_per_hour,
        max_attachment_bytes=settings.max_attachment_bytes,
    )


def _mail_poller(settings: Settings, email: EmailIntake) -> MailPoller | None:
    host = settings.imap_host
    if not host:
        return None

    def open_mailbox() -> Mailbox:
        return ImapMailbox.open(
            host,
            settings.imap_port,
            settings.imap_user,
            settings.imap_password,
            settings.imap_folder,
            use_ssl=settings.imap_ssl,
            starttls=settings.imap_starttls,
            ca_file=settings.imap_ca_file,
        )

    return MailPoller(open_mailbox, email)


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
    catalog = load_catalog(settings.config_dir)

    def uow(*, read_only: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(database, read_only=read_only)

    policy = DeskPolicy(
        ticket_prefix=settings.ticket_prefix,
        auto_close_after=settings.auto_close_after,
        follow_up_after=settings.follow_up_after,
        service_task_retries=settings.service_task_retries,
        service_task_backoff_seconds=settings.service_task_backoff_seconds,
    )
    engine = SpiffProcessEngine(clock)
    registry = ServiceRegistry(functions)
    # Scenarios run on throw-away desks built like this one (bootstrap.build itself).
    scenarios = ScenarioDesk(settings, functions, build)
    processes = ProcessService(uow, engine, registry, clock, scenarios=scenarios)
    sla_clock = SlaClockKeeper(catalog.clock_rules)
    runtime = ProcessRuntime(uow, engine, processes, registry, clock, policy, sla_clock)
    intake = IntakeService(runtime)
    blobs = FileBlobStore(settings.attachments_dir)
    email = _email_intake(settings, uow, intake, blobs, clock)
    sms = SmsIntake(uow, intake, clock, blobs)
    return Services(
        settings=settings,
        catalog=catalog,
        clock=clock,
        database=database,
        processes=processes,
        intake=intake,
        tasks=HumanTaskService(runtime),
        timers=TimerService(runtime),
        tickets=TicketViews(uow),
        accounts=AccountService(
            uow,
            Argon2PasswordHasher(fast=fast_password_hashing),
            clock,
            LoginThrottle(
                settings.login_max_failures,
                timedelta(minutes=settings.login_failure_window_minutes),
            ),
        ),
        delivery=_delivery(settings, uow, clock, blobs),
        api_access=ApiAccess(uow, clock),
        alerts=AlertIntake(
            uow,
            intake,
            clock,
            ProcessMessages(runtime) if settings.close_incident_when_alerts_resolve else None,
        ),
        sms=sms,
        quarantine=QuarantineReview(uow, blobs, clock, email, sms),
        verification=RequesterVerification(runtime),
        collaboration=Collaboration(uow, blobs, clock, settings.max_attachment_bytes),
        email=email,
        sla_monitor=SlaMonitor(
            uow,
            clock,
            catalog.escalation,
            warning_percent=round(catalog.clock_rules.warning_fraction * 100),
        ),
        sla_recompute=SlaRecompute(uow, sla_clock, clock),
        notices=NoticeService(uow, clock),
        reports=MonthlyReports(
            uow,
            blobs,
            MonthlyReportRenderer(),
            clock,
            catalog.package_offer,
            settings.provider_name,
        ),
        dashboard=ManagerDashboard(uow, clock),
        incidents=IncidentService(runtime),
        designer=DesignerService(uow, processes, clock, bundled_dir=settings.bpmn_dir),
        migrations=InstanceMigrationService(runtime, engine),
        cockpit=ProcessCockpit(uow, processes, engine),
        mail_poller=_mail_poller(settings, email),
    )
