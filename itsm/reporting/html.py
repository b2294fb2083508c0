"""The monthly report as a self-contained, printable HTML document (Jinja2, autoescaped).

Ticket subjects come from e-mails and may carry markup: autoescaping is on for every value,
and the template pulls in nothing from outside (the product runs offline).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from itsm.domain.kpis import PeriodFigures
from itsm.domain.report import ReportHeader
from itsm.reporting.view import ReportView, build_view

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "monthly_report.html.j2"


@cache
def _environment() -> Environment:
    # Built on first use, not at import; one environment keeps its compiled template.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render_view_html(view: ReportView) -> str:
    return _environment().get_template(TEMPLATE).render(view=view)


def render_html(header: ReportHeader, figures: PeriodFigures, *, time_zone: str = "UTC") -> str:
    return render_view_html(build_view(header, figures, time_zone))
