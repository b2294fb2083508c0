"""A client's IT coordinator: their company's monthly reports, to read and download."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import NotFound, PermissionDenied
from ui.components.report_archive import report_archive
from ui.session import me, services

person = me()
desk = services()
st.title("Reports")
try:
    # The service narrows a coordinator's archive to their own company.
    reports = desk.reports.archive(person.username)
except (PermissionDenied, NotFound):
    st.error("Monthly reports are not visible to you.")
    st.stop()
st.caption("Your company's monthly service reports: tickets, SLA compliance, hours used.")
report_archive(desk.reports, reports, person.username)
