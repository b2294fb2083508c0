"""The dashboard's Altair charts, each built from figures the dashboard service computed.

Data goes into the spec inline (``alt.InlineData(values=...)``), so every encoding names its type.
Nothing here loads a theme, font or script from outside: Streamlit bundles Vega itself.
Altair's ``encode`` is untyped, so each chart is bound to a typed name before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import altair as alt

from itsm.domain.kpis import PackageFacts, PeriodFigures
from itsm.services.dashboard import TierMonth

PERCENT_SCALE = alt.Scale(domain=[0, 1])
PERCENT_AXIS = alt.Axis(format="%")
WHOLE_NUMBERS = alt.Axis(format="d", tickMinStep=1)


def _every_month(months: Iterable[str]) -> alt.X:
    """The x axis with every month of the range, also the ones with nothing to plot."""
    return alt.X("month:O", title="Month", scale=alt.Scale(domain=list(dict.fromkeys(months))))


def sla_by_tier(by_tier: Sequence[TierMonth]) -> alt.Chart:
    rows = [
        {"month": row.month, "tier": row.tier, "clock": clock, "compliance": compliance.rate}
        for row in by_tier
        for clock, compliance in (
            ("reaction", row.figures.reaction),
            ("resolution", row.figures.resolution),
        )
        if compliance.rate is not None  # a month with nothing measured is no 0 %
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows), title="SLA compliance per tier")
        .mark_line(point=True)
        .encode(
            x=_every_month(row.month for row in by_tier),
            y=alt.Y("compliance:Q", title="Met", scale=PERCENT_SCALE, axis=PERCENT_AXIS),
            color=alt.Color("tier:N", title="Tier"),
            strokeDash=alt.StrokeDash("clock:N", title="Clock"),
            tooltip=["month:O", "tier:N", "clock:N", alt.Tooltip("compliance:Q", format=".1%")],
        )
    )
    return chart


def fcr_by_month(monthly: Sequence[PeriodFigures], goal: float) -> alt.LayerChart:
    rows = [
        {"month": figures.period.label, "fcr": figures.first_contact_resolution}
        for figures in monthly
        if figures.first_contact_resolution is not None
    ]
    line = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_line(point=True)
        .encode(
            x=_every_month(figures.period.label for figures in monthly),
            y=alt.Y(
                "fcr:Q", title="First-contact resolution", scale=PERCENT_SCALE, axis=PERCENT_AXIS
            ),
            tooltip=["month:O", alt.Tooltip("fcr:Q", format=".1%")],
        )
    )
    goal_line = (
        alt.Chart(alt.InlineData(values=[{"goal": goal}]))
        .mark_rule(color="red", strokeDash=[6, 3])
        .encode(y="goal:Q", tooltip=[alt.Tooltip("goal:Q", format=".0%", title="Goal")])
    )
    layered: alt.LayerChart = (line + goal_line).properties(
        title=f"First-contact resolution vs the {goal:.0%} goal"
    )
    return layered


def mean_times(monthly: Sequence[PeriodFigures]) -> alt.Chart:
    rows = [
        {"month": figures.period.label, "measure": measure, "hours": hours}
        for figures in monthly
        for measure, hours in (("MTTA", figures.mtta_hours), ("MTTR", figures.mttr_hours))
        if hours is not None
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows), title="Mean time to acknowledge / resolve")
        .mark_line(point=True)
        .encode(
            x=_every_month(figures.period.label for figures in monthly),
            y=alt.Y("hours:Q", title="Hours"),
            color=alt.Color("measure:N", title=None),
            tooltip=["month:O", "measure:N", alt.Tooltip("hours:Q", format=".1f")],
        )
    )
    return chart


def counts(counted: Mapping[str, int], what: str, title: str) -> alt.Chart:
    """Bars in the mapping's own order (the KPIs rank them; backlog buckets go by age)."""
    names = [key.replace("_", " ") for key in counted]
    rows = [
        {what: name, "tickets": value} for name, value in zip(names, counted.values(), strict=True)
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows), title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{what}:N", title=None, sort=names),
            y=alt.Y("tickets:Q", title="Tickets", axis=WHOLE_NUMBERS),
            tooltip=[f"{what}:N", "tickets:Q"],
        )
    )
    return chart


def workload(rows: Iterable[Mapping[str, Any]]) -> alt.Chart:
    values = [
        {
            "engineer": row["assignee"] or "unassigned (queue)",
            "group": row["candidate_group"],
            "tasks": row["tasks"],
        }
        for row in rows
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=values), title="Open tasks per engineer (now)")
        .mark_bar()
        .encode(
            x=alt.X("tasks:Q", title="Open tasks", axis=WHOLE_NUMBERS),
            y=alt.Y("engineer:N", title=None, sort="-x"),
            color=alt.Color("group:N", title="Group"),
            tooltip=["engineer:N", "group:N", "tasks:Q"],
        )
    )
    return chart


def package_consumption(packages: Iterable[PackageFacts]) -> alt.Chart:
    rows = [
        {
            "package": f"#{package.package_id} {package.service_type.value.replace('_', ' ')}",
            "measure": measure,
            "hours": hours,
        }
        for package in packages
        for measure, hours in (
            ("bought", package.hours),
            ("used", round(package.minutes_used / 60, 1)),
            ("used in the period", round(package.minutes_used_in_period / 60, 1)),
        )
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows), title="Hour packages: bought vs used")
        .mark_bar()
        .encode(
            x=alt.X("package:N", title=None),
            xOffset=alt.XOffset("measure:N"),
            y=alt.Y("hours:Q", title="Hours"),
            color=alt.Color("measure:N", title=None),
            tooltip=["package:N", "measure:N", "hours:Q"],
        )
    )
    return chart
