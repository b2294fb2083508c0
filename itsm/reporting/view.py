"""The report's content as labelled, formatted tables, built once for the HTML and the PDF.

Both documents walk the same ``ReportView``, so they cannot disagree on a figure or a label;
they differ only in layout. Every cell is plain text here: escaping is each renderer's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from itsm.domain.kpis import Compliance, HoursSummary, PeriodFigures, TicketFacts
from itsm.domain.report import ReportHeader
from itsm.domain.sla import ServiceType
from itsm.reporting.advice import advice_text
from itsm.reporting.formatting import MISSING, Formatter
from itsm.reporting.labels import LABELS, value_name
from itsm.reporting.model import Language, language_of
from itsm.reporting.outcomes import Outcome, reaction_outcome, resolution_outcome

RELATED_TICKETS_SHOWN = 12

ESCALATION_LINES = ("L2", "L3")


@dataclass(frozen=True)
class Column:
    title: str
    weight: float = 1.0
    """Share of the page width in the PDF (relative to the other columns)."""
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = ""
    """Shown instead of the table when it has no rows."""
    wide: bool = True
    """False: a narrow key/value table that should not stretch over the page."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportView:
    language: Language
    title: str
    meta: tuple[tuple[str, str], ...]
    ticket_count_sentence: str
    page_label: str
    """With ``{page}`` and ``{pages}`` placeholders."""
    footer: str
    sections: tuple[Section, ...]


class _Builder:
    def __init__(self, header: ReportHeader, figures: PeriodFigures, time_zone: str) -> None:
        self.header = header
        self.figures = figures
        self.language = language_of(header)
        self.time_zone = time_zone
        self.labels = LABELS[self.language]
        self.fmt = Formatter(self.language, ZoneInfo(time_zone))

    def name(self, code: str) -> str:
        return value_name(self.language, code)

    def key_value(self, rows: Iterable[tuple[str, str]], value_weight: float = 1.0) -> Table:
        return Table(
            columns=(
                Column(self.labels["measure"], 3),
                Column(self.labels["value"], value_weight, True),
            ),
            rows=tuple(rows),
            wide=False,
        )

    def view(self) -> ReportView:
        header, figures, labels = self.header, self.figures, self.labels
        period = figures.period
        return ReportView(
            language=self.language,
            title=f"{labels['title']} – {period.label}",
            meta=self.meta(),
            ticket_count_sentence=labels["ticket_count"].format(count=len(figures.tickets)),
            page_label=labels["page"],
            footer=f"{header.provider_name} · {header.client_name} · {period.label}",
            sections=(
                self.summary(),
                self.backlog(),
                self.escalations(),
                self.hours(),
                self.distribution("section_categories", "category", figures.by_category),
                self.distribution("section_channels", "channel", figures.by_channel),
                self.recommendations(),
                self.ticket_list(),
            ),
        )

    def meta(self) -> tuple[tuple[str, str], ...]:
        header, labels, fmt = self.header, self.labels, self.fmt
        period = self.figures.period
        # The period's end is exclusive: its last day is the one before the end instant.
        last_day = fmt.day(period.end - timedelta(microseconds=1))
        return (
            (labels["client"], f"{header.client_name} ({header.client_code})"),
            (labels["period"], f"{period.label} ({fmt.day(period.start)} – {last_day})"),
            (labels["sla_tier"], self.name(header.sla_tier)),
            (labels["coordinator"], fmt.text(header.coordinator_name)),
            (labels["provider"], header.provider_name),
            (labels["generated"], fmt.moment(header.generated_at)),
            (labels["time_zone"], self.time_zone),
        )

    def summary(self) -> Section:
        figures, labels, fmt = self.figures, self.labels, self.fmt
        counts = self.key_value(
            [
                (labels["opened"], fmt.count(figures.opened)),
                (labels["resolved"], fmt.count(figures.resolved)),
                (labels["closed"], fmt.count(figures.closed)),
                (labels["backlog"], fmt.count(figures.backlog)),
            ]
        )
        sla = Table(
            columns=(
                Column(labels["measure"], 3),
                Column(labels["met"], 1, True),
                Column(labels["breached"], 1, True),
                Column(labels["pending"], 1, True),
                Column(labels["compliance"], 1.2, True),
            ),
            rows=(
                self.compliance_row(labels["reaction"], figures.reaction),
                self.compliance_row(labels["resolution"], figures.resolution),
            ),
        )
        quality = self.key_value(
            [
                (labels["fcr"], self.fcr()),
                (labels["mtta"], fmt.hours_with_unit(figures.mtta_hours)),
                (labels["mttr"], fmt.hours_with_unit(figures.mttr_hours)),
            ],
            value_weight=2.2,  # the FCR cell carries the goal and the verdict too
        )
        return Section("summary", labels["section_summary"], (counts, sla, quality))

    def compliance_row(self, label: str, compliance: Compliance) -> tuple[str, ...]:
        fmt = self.fmt
        return (
            label,
            fmt.count(compliance.met),
            fmt.count(compliance.breached),
            fmt.count(compliance.pending),
            fmt.percent(compliance.rate),
        )

    def fcr(self) -> str:
        figures, labels, fmt = self.figures, self.labels, self.fmt
        goal = f"{labels['fcr_goal']} {fmt.percent(figures.fcr_goal)}"
        rate = figures.first_contact_resolution
        if rate is None:
            return f"{MISSING} ({goal})"
        verdict = labels["fcr_goal_met"] if rate >= figures.fcr_goal else labels["fcr_below_goal"]
        return f"{fmt.percent(rate)} ({goal}: {verdict})"

    def backlog(self) -> Section:
        labels = self.labels
        table = Table(
            columns=(Column(labels["age"], 3), Column(labels["tickets"], 1, True)),
            rows=tuple(
                (self.name(bucket), self.fmt.count(count))
                for bucket, count in self.figures.backlog_ageing.items()
            ),
            empty=labels["none_in_period"],
            wide=False,
        )
        return Section("backlog", labels["section_backlog"], (table,))

    def escalations(self) -> Section:
        figures, labels, fmt = self.figures, self.labels, self.fmt
        by_line = dict.fromkeys(ESCALATION_LINES, 0) | dict(figures.escalations_by_line)
        rows = [
            (labels["escalated_to"].format(line=line), fmt.count(count))
            for line, count in sorted(by_line.items())
        ]
        rows.append((labels["vendor_hand_offs"], fmt.count(figures.vendor_hand_offs)))
        rows.append((labels["field_visits"], fmt.count(figures.field_visits)))
        return Section("escalations", labels["section_escalations"], (self.key_value(rows),))

    def hours(self) -> Section:
        labels = self.labels
        hours = self.figures.hours
        if hours is None:
            return Section("hours", labels["section_hours"], notes=(labels["no_hours"],))
        notes = (
            f"{labels['uncovered']}: {self.fmt.minutes_as_hours(hours.uncovered_minutes)} h",
            f"{labels['cost']}: {self.fmt.pln(hours.cost_pln)}",
        )
        tables = (self.hours_by_service(hours), self.packages(hours))
        return Section("hours", labels["section_hours"], tables, notes)

    def hours_by_service(self, hours: HoursSummary) -> Table:
        labels, fmt = self.labels, self.fmt
        period_end = self.figures.period.end
        rows = []
        for service in ServiceType:
            left = sum(
                max(package.hours * 60 - package.minutes_used, 0)
                for package in hours.packages
                if package.service_type == service and package.expires_at > period_end
            )
            used = hours.minutes_by_service.get(service, 0)
            rows.append(
                (self.name(service.value), fmt.minutes_as_hours(used), fmt.hours(left / 60))
            )
        return Table(
            columns=(
                Column(labels["service_type"], 2),
                Column(labels["used_in_period"], 1, True),
                Column(labels["remaining_in_packages"], 1, True),
            ),
            rows=tuple(rows),
        )

    def packages(self, hours: HoursSummary) -> Table:
        labels, fmt = self.labels, self.fmt
        period_end = self.figures.period.end
        rows = []
        for package in sorted(hours.packages, key=lambda p: (p.expires_at, p.package_id)):
            left = fmt.hours(max(package.hours * 60 - package.minutes_used, 0) / 60)
            if package.expires_at <= period_end:
                left = f"{left} ({labels['expired']})"
            rows.append(
                (
                    f"{self.name(package.service_type.value)} · {package.hours} h",
                    fmt.day(package.purchased_at),
                    fmt.hours(package.hours),
                    fmt.minutes_as_hours(package.minutes_used),
                    fmt.minutes_as_hours(package.minutes_used_in_period),
                    left,
                    fmt.day(package.expires_at),
                    fmt.pln(package.price_pln),
                )
            )
        return Table(
            columns=(
                Column(labels["package"], 1.7),
                Column(labels["purchased"], 1.1),
                Column(labels["bought"], 1.1, True),
                Column(labels["used_total"], 1.6, True),
                Column(labels["used_in_period"], 1.6, True),
                Column(labels["remaining"], 1.5, True),
                Column(labels["expires"], 1.1),
                Column(labels["price"], 1.4, True),
            ),
            rows=tuple(rows),
            empty=labels["no_packages"],
        )

    def distribution(self, title_key: str, column_key: str, counts: Mapping[str, int]) -> Section:
        labels = self.labels
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        table = Table(
            columns=(
                Column(labels[column_key], 3),
                Column(labels["tickets"], 1, True),
                Column(labels["share"], 1, True),
            ),
            rows=tuple(
                (self.name(code), self.fmt.count(count), self.fmt.percent(count / total))
                for code, count in ranked
            ),
            empty=labels["none_in_period"],
            wide=False,
        )
        return Section(title_key.removeprefix("section_"), labels[title_key], (table,))

    def some_numbers(self, numbers: tuple[str, ...]) -> str:
        """The first few ticket numbers: a recurring problem of hundreds of tickets must not
        make one table cell taller than a page (the ticket list has them all)."""
        shown = ", ".join(numbers[:RELATED_TICKETS_SHOWN]) or MISSING
        hidden = len(numbers) - RELATED_TICKETS_SHOWN
        return shown if hidden <= 0 else f"{shown} {self.labels['and_more'].format(count=hidden)}"

    def recommendations(self) -> Section:
        labels = self.labels
        table = Table(
            columns=(
                Column(labels["recommendation"], 2.5),
                Column(labels["detail"], 4.5),
                Column(labels["related_tickets"], 1.6),
            ),
            rows=tuple(
                (
                    f"{title} ({self.name(item.kind)})",
                    detail,
                    self.some_numbers(item.ticket_numbers),
                )
                for item in self.figures.recommendations
                for title, detail in [advice_text(item, self.language, self.fmt)]
            ),
            empty=labels["no_recommendations"],
        )
        return Section("recommendations", labels["section_recommendations"], (table,))

    def ticket_list(self) -> Section:
        labels = self.labels
        columns = (
            Column(labels["number"], 1.3),
            # Wide enough for "2026-10-01 08:00" on one line: list cells are clipped, not wrapped.
            Column(labels["created"], 1.5),
            Column(labels["subject"], 3.3),
            Column(labels["category"], 1.3),
            Column(labels["priority"], 0.8),
            Column(labels["status"], 1.3),
            Column(labels["requester"], 1.4),
            Column(labels["assignee"], 1.3),
            Column(labels["reaction_short"], 1.0),
            Column(labels["resolution_short"], 1.2),
            Column(labels["minutes"], 0.7, True),
        )
        ordered = sorted(self.figures.tickets, key=lambda t: (t.created_at, t.number))
        table = Table(columns, tuple(self.ticket_row(t) for t in ordered), labels["no_tickets"])
        return Section("tickets", labels["section_tickets"], (table,))

    def ticket_row(self, ticket: TicketFacts) -> tuple[str, ...]:
        fmt, at = self.fmt, self.figures.period.end
        return (
            ticket.number,
            fmt.moment(ticket.created_at),
            fmt.text(ticket.subject),
            self.name(ticket.category),
            fmt.text(ticket.priority),
            self.name(ticket.status),
            fmt.text(ticket.requester),
            fmt.text(ticket.assignee),
            self.outcome(reaction_outcome(ticket, at)),
            self.outcome(resolution_outcome(ticket, at)),
            fmt.count(ticket.minutes_spent),
        )

    def outcome(self, outcome: Outcome | None) -> str:
        return MISSING if outcome is None else self.labels[f"outcome_{outcome.value}"]


def build_view(header: ReportHeader, figures: PeriodFigures, time_zone: str = "UTC") -> ReportView:
    """``time_zone`` (IANA name): the zone the HTML and PDF show times in, the client's own."""
    return _Builder(header, figures, time_zone).view()
