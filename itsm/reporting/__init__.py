"""Renderers of the monthly client report: HTML, PDF and CSV from one period's figures.

An adapter: it knows jinja2 and reportlab; the services know only the shape of
``MonthlyReportRenderer.render(header, figures) -> RenderedReport`` through their
``ReportRenderer`` protocol. Header and result are the domain's (``itsm.domain.report``).
"""

from __future__ import annotations

from itsm.domain.kpis import PeriodFigures
from itsm.domain.report import RenderedReport, ReportHeader
from itsm.reporting.csv_export import render_csv
from itsm.reporting.html import render_html, render_view_html
from itsm.reporting.model import Language
from itsm.reporting.pdf import render_pdf, render_view_pdf
from itsm.reporting.view import build_view

__all__ = ["Language", "MonthlyReportRenderer", "render_csv", "render_html", "render_pdf"]


class MonthlyReportRenderer:
    """All three documents of one report, from a single view so they agree on every figure."""

    def render(
        self, header: ReportHeader, figures: PeriodFigures, time_zone: str = "UTC"
    ) -> RenderedReport:
        """``time_zone``: the client's IANA zone for the times in the HTML and PDF (the CSV
        always keeps UTC, to join with other exports)."""
        view = build_view(header, figures, time_zone)
        return RenderedReport(
            html=render_view_html(view),
            pdf=render_view_pdf(view, author=header.provider_name),
            csv=render_csv(figures),
        )

    def csv(self, figures: PeriodFigures) -> bytes:
        """Just the CSV, for a ticket list that is not a whole report."""
        return render_csv(figures)
