"""The monthly-report archive as a table, and the chosen report's files to download.

The service decides which reports a person sees (a coordinator: their own company's only)
and checks again on every download; this only draws what it returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from itsm.domain.errors import ItsmError
from itsm.services.reports import MonthlyReports

FILE_KINDS = (("pdf", "PDF"), ("html", "HTML"), ("csv", "CSV"))


def _when(row: Mapping[str, Any], column: str) -> str:
    value = row[column]
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def report_archive(reports: MonthlyReports, rows: Sequence[Mapping[str, Any]], actor: str) -> None:
    if not rows:
        st.info("No monthly reports yet.")
        return
    st.dataframe(
        [
            {
                "Client": f"{row['client_code']} · {row['client_name']}",
                "Month": row["month"],
                "Generated": _when(row, "generated_at"),
                "Tickets": row["ticket_count"],
                "E-mailed": _when(row, "sent_at") or "not sent",
            }
            for row in rows
        ],
        hide_index=True,
    )
    by_id = {row["id"]: row for row in rows}
    # One report's files at a time: reading every archived file on each rerun would not scale.
    chosen = st.selectbox(
        "Report to download",
        list(by_id),
        format_func=lambda report_id: (
            f"{by_id[report_id]['client_code']} {by_id[report_id]['month']}"
        ),
        key="reports.chosen",
    )
    columns = st.columns(len(FILE_KINDS))
    for column, (kind, label) in zip(columns, FILE_KINDS, strict=True):
        try:
            download = reports.download(chosen, kind, actor)
        except ItsmError as err:
            column.error(str(err))
            continue
        # Octet-stream: the browser saves the file instead of opening the HTML in the app's origin.
        column.download_button(
            label,
            download.data,
            file_name=download.display_name,
            mime="application/octet-stream",
            key=f"reports.download.{chosen}.{kind}",
        )
