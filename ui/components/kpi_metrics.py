"""The headline KPIs of a period as metric tiles, read the way the monthly report reads them."""

from __future__ import annotations

import streamlit as st

from itsm.domain.kpis import Compliance, PeriodFigures

NOTHING = "–"  # nothing measured: shown as such, never as 0 %


def percent(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1%}"


def hours(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1f} h"


def _counted(compliance: Compliance) -> str:
    return f"{compliance.met} met, {compliance.breached} breached, {compliance.pending} pending"


def kpi_metrics(figures: PeriodFigures, breaches_fired: int, incidents: int | None = None) -> None:
    volume = st.columns(5)
    volume[0].metric("Opened", figures.opened)
    volume[1].metric("Resolved", figures.resolved)
    volume[2].metric("Backlog", figures.backlog, help="Still open at the end of the range")
    volume[3].metric(
        "Reaction SLA", percent(figures.reaction.rate), help=_counted(figures.reaction)
    )
    volume[4].metric(
        "Resolution SLA", percent(figures.resolution.rate), help=_counted(figures.resolution)
    )

    speed = st.columns(5)
    fcr = figures.first_contact_resolution
    speed[0].metric(
        "First-contact resolution",
        percent(fcr),
        # Percentage points against the goal: red when below it, green when above.
        delta=None if fcr is None else f"{(fcr - figures.fcr_goal) * 100:+.1f} pp",
        help=f"Goal {figures.fcr_goal:.0%} of the resolved tickets solved at the 1st line",
    )
    speed[1].metric("MTTA", hours(figures.mtta_hours), help="Mean time to the first response")
    speed[2].metric("MTTR", hours(figures.mttr_hours), help="Mean time to resolution")
    speed[3].metric("SLA breaches fired", breaches_fired)
    speed[4].metric("Field visits", figures.field_visits)

    hand_offs = st.columns(5)
    hand_offs[0].metric("Escalations to L2", figures.escalations_by_line.get("L2", 0))
    hand_offs[1].metric("Escalations to L3", figures.escalations_by_line.get("L3", 0))
    hand_offs[2].metric("Vendor hand-offs", figures.vendor_hand_offs)
    if incidents is not None:
        hand_offs[3].metric(
            "Open incidents",
            incidents,
            help="Tickets whose process stopped at a failed automatic step right now, waiting "
            "for an admin or the lead (the Incidents page)",
        )
