"""Monthly client reports and the figures behind dashboards, from one KPI implementation.

A report is computed from set-based facts (``uow.reporting``) by the pure KPI functions
(``itsm.domain.kpis``), rendered to HTML, PDF and CSV, stored by content hash, archived per
client and month, and e-mailed to the client's IT coordinator through the outbox — all in
one transaction, so a run that is repeated (a retried flow) finds the month done.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from itsm.domain.directory import Client, Person
from itsm.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from itsm.domain.kpis import Period, PeriodFigures, month_period, period_figures
from itsm.domain.packages import PackageOffer
from itsm.domain.people import Role
from itsm.domain.report import RenderedReport, ReportHeader, parse_month
from itsm.services.collaboration import BlobStore, Download
from itsm.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

REPORT_READERS = frozenset({Role.MANAGER, Role.SERVICE_DESK_LEAD, Role.ADMIN})
_FILES = {
    "html": ("html_sha256", "text/html", "html"),
    "pdf": ("pdf_sha256", "application/pdf", "pdf"),
    "csv": ("csv_sha256", "text/csv", "csv"),
}


class ReportRenderer(Protocol):
    def render(
        self, header: ReportHeader, figures: PeriodFigures, time_zone: str = "UTC"
    ) -> RenderedReport:
        """``time_zone``: the client's, for the times people read."""
        ...

    def csv(self, figures: PeriodFigures) -> bytes:
        """The ticket list of ``figures`` as the report's CSV (same columns, same defusing)."""
        ...


@dataclass(frozen=True)
class StoredReport:
    id: int
    client_code: str
    month: str
    ticket_count: int
    generated_at: datetime
    created: bool  # False: the month's report existed and was left as it was
    emailed_to: str | None


class MonthlyReports:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        blobs: BlobStore,
        renderer: ReportRenderer,
        clock: Clock,
        offer: PackageOffer,
        provider_name: str,
    ) -> None:
        self._uow = uow
        self._blobs = blobs
        self._renderer = renderer
        self._clock = clock
        self._offer = offer
        self._provider_name = provider_name

    def client_codes(self) -> list[str]:
        with self._uow(read_only=True) as uow:
            return [client.code for client in uow.directory.clients()]

    def generate(
        self, client_code: str, month: str, actor: str, *, force: bool = False, send: bool = True
    ) -> StoredReport:
        """The client's report of ``month`` (YYYY-MM, in the client's time zone)."""
        try:
            year, number = parse_month(month)
        except ValueError as err:
            raise ValidationFailed([FieldError("month", str(err))]) from err
        with self._uow() as uow:
            self._ensure_may_generate(uow, actor)
            client: Client = uow.directory.client_by_code(client_code)
            earlier = uow.reports.find(client.id, month)
            if earlier is not None and not force:
                return _stored(earlier, client.code, created=False, emailed_to=None)
            period = month_period(year, number, client.calendar.timezone)
            now = self._clock.now()
            if period.end > now:
                raise ValidationFailed(
                    [FieldError("month", f"{month} is not over yet; its report comes after it")]
                )
            figures = self._figures(uow, client, period)
            coordinator = self._coordinator(uow, client)
            header = ReportHeader(
                client_name=client.name,
                client_code=client.code,
                sla_tier=client.sla_tier.value,
                coordinator_name=coordinator.full_name if coordinator else "–",
                provider_name=self._provider_name,
                generated_at=now,
                language=client.language,
            )
            rendered = self._renderer.render(header, figures, client.calendar.timezone)
            # Content-addressed files: one written before a rollback is harmless and reused.
            digests = {
                "html_sha256": self._blobs.put(rendered.html.encode("utf-8")),
                "pdf_sha256": self._blobs.put(rendered.pdf),
                "csv_sha256": self._blobs.put(rendered.csv),
            }
            report_id = uow.reports.store(
                client_id=client.id,
                month=month,
                generated_at=now,
                generated_by=actor,
                ticket_count=len(figures.tickets),
                figures=json.dumps(_summary(figures), default=str),
                sent_at=None,
                **digests,
            )
            emailed_to = None
            if send and coordinator is not None and coordinator.email:
                self._queue_email(uow, client, coordinator, month, report_id, digests, now)
                uow.reports.mark_sent(report_id, now)
                emailed_to = coordinator.email
            uow.audit.record(
                ticket_id=None,
                actor=actor,
                kind="monthly_report",
                summary=f"Monthly report {client.code} {month}: {len(figures.tickets)} tickets",
                at=now,
                report_id=report_id,
                emailed_to=emailed_to,
            )
            uow.commit()
            return StoredReport(
                report_id, client.code, month, len(figures.tickets), now, True, emailed_to
            )

    def archive(self, actor: str, client_code: str | None = None) -> list[dict[str, Any]]:
        with self._uow(read_only=True) as uow:
            client_id = self._visible_client(uow, actor, client_code)
            rows: list[dict[str, Any]] = uow.reports.listing(client_id)
            return rows

    def download(self, report_id: int, kind: str, actor: str) -> Download:
        if kind not in _FILES:
            raise ValidationFailed([FieldError("kind", "one of html, pdf, csv")])
        with self._uow(read_only=True) as uow:
            report = uow.reports.get(report_id)
            if report is None:
                raise NotFound(f"report {report_id} not found")
            person: Person = uow.directory.person_by_username(actor)
            if not _may_read(person, report["client_id"]):
                raise NotFound(f"report {report_id} not found")
            client: Client = uow.directory.client(report["client_id"])
        column, _, extension = _FILES[kind]
        name = f"report-{client.code}-{report['month']}.{extension}"
        return Download(name, self._blobs.get(report[column]))

    def ticket_list_csv(self, figures: PeriodFigures, actor: str) -> bytes:
        """Any selection of tickets (e.g. a dashboard drill-down) in the report's CSV format."""
        with self._uow(read_only=True) as uow:
            self._ensure_reader(uow.directory.person_by_username(actor))
        return self._renderer.csv(figures)

    def _figures(self, uow: UnitOfWork, client: Client, period: Period) -> PeriodFigures:
        return period_figures(
            period,
            uow.reporting.ticket_facts(start=period.start, end=period.end, client_ids=[client.id]),
            packages=uow.reporting.package_facts(client.id, period.start, period.end),
            usage=uow.reporting.usage_facts(client.id, period.start, period.end),
            hourly_rates=dict(self._offer.hourly_rates),
        )

    def _queue_email(
        self,
        uow: UnitOfWork,
        client: Client,
        coordinator: Person,
        month: str,
        report_id: int,
        digests: dict[str, str],
        now: datetime,
    ) -> None:
        base = f"report-{client.code}-{month}"
        uow.outbox.add(
            # One message per report version: a regenerated report is a new message.
            message_id=f"<report.{report_id}.{client.code}.{month}@itsm.invalid>",
            ticket_id=None,
            channel="email",
            recipient=coordinator.email,
            template="monthly_report",
            language=client.language,
            context={
                "recipient_name": coordinator.full_name,
                "client_name": client.name,
                "month": month,
                "attachments": [
                    {
                        "sha256": digests["pdf_sha256"],
                        "filename": f"{base}.pdf",
                        "media_type": "application/pdf",
                    },
                    {
                        "sha256": digests["csv_sha256"],
                        "filename": f"{base}.csv",
                        "media_type": "text/csv",
                    },
                    {
                        "sha256": digests["html_sha256"],
                        "filename": f"{base}.html",
                        "media_type": "text/html",
                    },
                ],
            },
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )

    @staticmethod
    def _coordinator(uow: UnitOfWork, client: Client) -> Person | None:
        if client.coordinator_id is None:
            return None
        coordinator: Person = uow.directory.person(client.coordinator_id)
        return coordinator

    @staticmethod
    def _ensure_may_generate(uow: UnitOfWork, actor: str) -> None:
        if actor.startswith("system:"):
            return  # the scheduled flow
        MonthlyReports._ensure_reader(uow.directory.person_by_username(actor))

    @staticmethod
    def _ensure_reader(person: Person) -> None:
        if person.role not in REPORT_READERS:
            raise PermissionDenied("reports are for managers, the service desk lead and admins")

    @staticmethod
    def _visible_client(uow: UnitOfWork, actor: str, client_code: str | None) -> int | None:
        person: Person = uow.directory.person_by_username(actor)
        if person.role is Role.COORDINATOR:
            return person.client_id  # a coordinator sees their own company's reports only
        MonthlyReports._ensure_reader(person)
        return None if client_code is None else uow.directory.client_by_code(client_code).id


def _may_read(person: Person, client_id: int) -> bool:
    if person.role is Role.COORDINATOR:
        return person.client_id == client_id
    return person.role in REPORT_READERS


def _stored(
    row: dict[str, Any], code: str, *, created: bool, emailed_to: str | None
) -> StoredReport:
    return StoredReport(
        row["id"], code, row["month"], row["ticket_count"], row["generated_at"], created, emailed_to
    )


def _summary(figures: PeriodFigures) -> dict[str, Any]:
    """The headline figures kept with the archived report (the files hold the rest)."""
    return {
        "period": figures.period.label,
        "opened": figures.opened,
        "resolved": figures.resolved,
        "closed": figures.closed,
        "backlog": figures.backlog,
        "reaction": asdict(figures.reaction),
        "resolution": asdict(figures.resolution),
        "first_contact_resolution": figures.first_contact_resolution,
        "mtta_hours": figures.mtta_hours,
        "mttr_hours": figures.mttr_hours,
    }
