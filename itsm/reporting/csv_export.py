"""The report's ticket list as CSV: one row per ticket, stable English column names, UTC times.

UTF-8 with a byte-order mark, because Excel reads a BOM-less file in the local ANSI code page
and mangles Polish letters. Cells that a spreadsheet would take for a formula are defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime

from itsm.domain.kpis import PeriodFigures, TicketFacts
from itsm.reporting.outcomes import Outcome, reaction_outcome, resolution_outcome

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LINE_ORDER = ("L1", "L2", "L3", "field", "vendor")


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _met(outcome: Outcome | None) -> str:
    # Pending and "no target" are both empty: neither is a yes or a no yet.
    if outcome is Outcome.MET:
        return "true"
    return "false" if outcome is Outcome.BREACHED else ""


def _lines(lines: frozenset[str]) -> str:
    known = [line for line in LINE_ORDER if line in lines]
    return "+".join(known + sorted(lines - set(LINE_ORDER)))


def defuse(value: str) -> str:
    """Prefix an apostrophe to a cell that Excel or LibreOffice would run as a formula."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


Column = tuple[str, Callable[[TicketFacts, datetime], str | int]]

COLUMNS: tuple[Column, ...] = (
    ("number", lambda t, _: t.number),
    ("created_at", lambda t, _: _moment(t.created_at)),
    ("subject", lambda t, _: t.subject),
    ("category", lambda t, _: t.category),
    ("channel", lambda t, _: t.channel),
    ("priority", lambda t, _: t.priority or ""),
    ("service_type", lambda t, _: t.service_type.value),
    ("status", lambda t, _: t.status),
    ("requester", lambda t, _: t.requester),
    ("assignee", lambda t, _: t.assignee or ""),
    ("site", lambda t, _: t.site or ""),
    ("responded_at", lambda t, _: _moment(t.responded_at)),
    ("resolved_at", lambda t, _: _moment(t.resolved_at)),
    ("closed_at", lambda t, _: _moment(t.closed_at)),
    ("reaction_due_at", lambda t, _: _moment(t.reaction_due_at)),
    ("resolution_due_at", lambda t, _: _moment(t.resolution_due_at)),
    ("reaction_met", lambda t, at: _met(reaction_outcome(t, at))),
    ("resolution_met", lambda t, at: _met(resolution_outcome(t, at))),
    ("lines_reached", lambda t, _: _lines(t.lines_reached)),
    ("vendor", lambda t, _: t.vendor_name or ""),
    ("field_visits", lambda t, _: t.field_visits),
    ("minutes_spent", lambda t, _: t.minutes_spent),
)
HEADER = tuple(name for name, _ in COLUMNS)


def render_csv(figures: PeriodFigures) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    at = figures.period.end
    for ticket in sorted(figures.tickets, key=lambda t: (t.created_at, t.number)):
        row = (value(ticket, at) for _, value in COLUMNS)
        writer.writerow(defuse(cell) if isinstance(cell, str) else cell for cell in row)
    return buffer.getvalue().encode("utf-8-sig")
