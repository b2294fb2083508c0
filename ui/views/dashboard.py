"""Manager dashboard: service KPIs over chosen clients, tiers and months; the report archive."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from itsm.domain.errors import ItsmError, NotFound, PermissionDenied, ValidationFailed
from itsm.services.dashboard import month_labels
from ui.components import dashboard_charts as charts
from ui.components import drilldown
from ui.components.kpi_metrics import kpi_metrics
from ui.components.report_archive import report_archive
from ui.session import me, services

MONTHS_OFFERED = 36
DEFAULT_MONTHS = 6


def show_errors(err: ValidationFailed) -> None:
    for problem in err.errors:
        st.error(f"{problem.path.replace('_', ' ')}: {problem.message}")


person = me()
desk = services()
st.title("Dashboard")
try:
    clients = desk.dashboard.clients(person.username)
except (PermissionDenied, NotFound):
    st.error("The dashboard is not visible to you.")
    st.stop()

names = {client.code: client.name for client in clients}
months = month_labels(desk.clock.now(), MONTHS_OFFERED)
client_filter, tier_filter, first_filter, last_filter = st.columns([3, 2, 1, 1])
chosen_clients = client_filter.multiselect(
    "Clients",
    list(names),
    format_func=lambda code: f"{code} · {names[code]}",
    placeholder="All clients",
    key="dashboard.clients",
)
chosen_tiers = tier_filter.multiselect(
    "SLA tiers",
    sorted({client.sla_tier.value for client in clients}),
    placeholder="All tiers",
    key="dashboard.tiers",
)
first = first_filter.selectbox(
    "From", months, index=len(months) - DEFAULT_MONTHS, key="dashboard.first"
)
last = last_filter.selectbox("To", months, index=len(months) - 1, key="dashboard.last")
try:
    data = desk.dashboard.load(
        person.username,
        first_month=first,
        last_month=last,
        client_codes=chosen_clients,
        sla_tiers=chosen_tiers,
    )
except ValidationFailed as err:
    show_errors(err)
    st.stop()
total = data.total

figures_tab, tickets_tab, reports_tab = st.tabs(["Figures", "Tickets", "Monthly reports"])

with figures_tab:
    if not data.clients:
        st.info("No client matches these filters.")
    breaches = sum(1 for alarm in data.alarms if alarm["threshold"] == "breach")
    kpi_metrics(total, breaches, data.incidents)
    left, right = st.columns(2)
    left.altair_chart(charts.sla_by_tier(data.by_tier))
    right.altair_chart(charts.fcr_by_month(data.monthly, total.fcr_goal))
    left.altair_chart(charts.mean_times(data.monthly))
    right.altair_chart(charts.counts(total.backlog_ageing, "age", "Backlog by age (range end)"))
    left.altair_chart(charts.counts(total.by_channel, "channel", "Tickets by channel"))
    right.altair_chart(charts.counts(total.by_category, "category", "Tickets by category"))
    left.altair_chart(charts.workload(data.workload))
    with right:
        if len(data.clients) != 1:
            st.info("Choose one client to see its hour packages.")
        elif not data.packages:
            st.info(f"{data.clients[0].code} has no hour packages.")
        else:
            st.altair_chart(charts.package_consumption(data.packages))

with tickets_tab:
    choice = st.selectbox(
        "Show", drilldown.choices(total), format_func=drilldown.label, key="dashboard.drill"
    )
    shown = drilldown.matching(total, choice)
    if not shown:
        st.info("No tickets in this selection.")
    else:
        st.dataframe(drilldown.table_rows(shown, total), hide_index=True)
        pick, link, export = st.columns([2, 1, 1], vertical_alignment="bottom")
        # A link in the same tab keeps the session; a link cell in the table would open a new one.
        number = pick.selectbox("Ticket", [ticket.number for ticket in shown], key="dashboard.open")
        link.page_link("views/ticket.py", label=f"Open {number}", query_params={"ticket": number})
        export.download_button(
            "Download CSV",
            desk.reports.ticket_list_csv(replace(total, tickets=tuple(shown)), person.username),
            file_name=f"tickets-{first}-{last}.csv",
            mime="text/csv",
            key="dashboard.csv",
        )
    if data.alarms:
        with st.expander(f"SLA alarms fired in the range ({len(data.alarms)})"):
            st.dataframe(
                [
                    {
                        "Fired": f"{alarm['fired_at']:%Y-%m-%d %H:%M}",
                        "Ticket": alarm["number"],
                        "Clock": alarm["clock"],
                        "Alarm": alarm["threshold"],
                        "Subject": alarm["subject"],
                    }
                    for alarm in data.alarms
                ],
                hide_index=True,
            )

with reports_tab:
    if done := st.session_state.pop("dashboard.generated", None):
        st.success(done)
    try:
        report_archive(desk.reports, desk.reports.archive(person.username), person.username)
    except PermissionDenied:
        st.error("Monthly reports are not visible to you.")
    with st.form("generate_report"):
        st.markdown("**Generate a monthly report** (the client's IT coordinator gets it by e-mail)")
        client_code = st.selectbox(
            "Client", list(names), format_func=lambda code: f"{code} · {names[code]}"
        )
        month = st.text_input("Month (YYYY-MM)", value=months[-2])
        force = st.checkbox("Generate again if the month's report exists")
        generate = st.form_submit_button("Generate")
    if generate:
        try:
            stored = desk.reports.generate(client_code, month.strip(), person.username, force=force)
        except ValidationFailed as err:
            show_errors(err)
        except ItsmError as err:
            st.error(str(err))
        else:
            if not stored.created:
                st.info(
                    f"The {stored.client_code} report of {stored.month} exists already "
                    f"(generated {stored.generated_at:%Y-%m-%d %H:%M}); tick the box to "
                    "generate it again."
                )
            else:
                sent = f"e-mailed to {stored.emailed_to}" if stored.emailed_to else "not e-mailed"
                st.session_state["dashboard.generated"] = (
                    f"Report {stored.client_code} {stored.month}: "
                    f"{stored.ticket_count} tickets, {sent}."
                )
                st.rerun()  # so the archive above lists it
