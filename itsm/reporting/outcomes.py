"""Whether one ticket met its reaction and resolution targets, as of the period's end.

The same reading as ``Compliance`` in ``itsm.domain.kpis``: a clock that stopped by its due
time is met, one that stopped later (or is still running past it) is breached, one still
running before it is pending; a ticket without a target has no outcome.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from itsm.domain.kpis import TicketFacts


class Outcome(StrEnum):
    MET = "met"
    BREACHED = "breached"
    PENDING = "pending"


def _outcome(stopped_at: datetime | None, due_at: datetime | None, at: datetime) -> Outcome | None:
    if due_at is None:
        return None
    if stopped_at is not None:
        return Outcome.MET if stopped_at <= due_at else Outcome.BREACHED
    return Outcome.BREACHED if due_at < at else Outcome.PENDING


def reaction_outcome(ticket: TicketFacts, at: datetime) -> Outcome | None:
    return _outcome(ticket.responded_at, ticket.reaction_due_at, at)


def resolution_outcome(ticket: TicketFacts, at: datetime) -> Outcome | None:
    # A ticket closed without a resolution step (rejected, auto-closed) stopped the clock
    # when it was closed.
    stopped_at = ticket.resolved_at or ticket.closed_at
    return _outcome(stopped_at, ticket.resolution_due_at, at)
