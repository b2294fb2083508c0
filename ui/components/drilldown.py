"""The dashboard's drill-down: which of the range's tickets a choice means, one row each.

Breaches are read with ``clock_outcome`` as of the range's end, the same reading the
compliance figures above the list use, so a "breached" list always matches its count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from itsm.domain.kpis import ClockKind, PeriodFigures, TicketFacts, clock_outcome

ALL = "all"
_CLOCKS: tuple[ClockKind, ...] = ("reaction", "resolution")


def choices(figures: PeriodFigures) -> list[str]:
    return [
        ALL,
        *(f"breached:{clock}" for clock in _CLOCKS),
        *(f"category:{category}" for category in figures.by_category),
        *(f"channel:{channel}" for channel in figures.by_channel),
    ]


def label(choice: str) -> str:
    if choice == ALL:
        return "All tickets opened in the range"
    what, _, value = choice.partition(":")
    if what == "breached":
        return f"Breached {value}"
    return f"{what.capitalize()}: {value.replace('_', ' ')}"


def matching(figures: PeriodFigures, choice: str) -> list[TicketFacts]:
    what, _, value = choice.partition(":")
    tickets = figures.tickets
    end = figures.period.end
    if what == "breached":
        clock: ClockKind = "reaction" if value == "reaction" else "resolution"
        return [ticket for ticket in tickets if clock_outcome(ticket, clock, end) == "breached"]
    if what == "category":
        return [ticket for ticket in tickets if ticket.category == value]
    if what == "channel":
        return [ticket for ticket in tickets if ticket.channel == value]
    return list(tickets)


def table_rows(tickets: Iterable[TicketFacts], figures: PeriodFigures) -> list[dict[str, Any]]:
    end = figures.period.end
    return [
        {
            "Ticket": ticket.number,
            "Created": f"{ticket.created_at:%Y-%m-%d %H:%M}",
            "Client": ticket.client_code,
            "Subject": ticket.subject,
            "Category": ticket.category.replace("_", " "),
            "Channel": ticket.channel,
            "Priority": ticket.priority or "",
            "Status": ticket.status.replace("_", " "),
            "Engineer": ticket.assignee or "",
            "Reaction": clock_outcome(ticket, "reaction", end) or "no target",
            "Resolution": clock_outcome(ticket, "resolution", end) or "no target",
        }
        for ticket in tickets
    ]
