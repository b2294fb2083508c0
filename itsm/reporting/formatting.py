"""Numbers, money and times as the report prints them, in the report's language.

Every figure that can be unknown (a rate with nothing measured, a mean of no tickets) prints
as an en dash, never as 0: "no data" and "zero" mean different things to a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from itsm.reporting.model import Language

MISSING = "–"
_NBSP = "\u00a0"


@dataclass(frozen=True)
class Formatter:
    language: Language
    zone: ZoneInfo

    def _number(self, value: float | Decimal, decimals: int) -> str:
        # Half up, as a spreadsheet rounds (81.25 → 81.3); float formatting would give 81.2.
        exact = value if isinstance(value, Decimal) else Decimal(repr(value))
        rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        text = f"{rounded:,.{decimals}f}"
        if self.language == "pl":
            # Polish: decimal comma, thousands grouped by a (non-breaking) space.
            text = text.replace(",", _NBSP).replace(".", ",")
        return text

    def count(self, value: int | None) -> str:
        return MISSING if value is None else str(value)

    def percent(self, rate: float | None) -> str:
        """A 0..1 rate as a percentage with one decimal."""
        return MISSING if rate is None else f"{self._number(Decimal(repr(rate)) * 100, 1)}%"

    def hours(self, value: float | None) -> str:
        return MISSING if value is None else self._number(value, 1)

    def hours_with_unit(self, value: float | None) -> str:
        return MISSING if value is None else f"{self.hours(value)} h"

    def minutes_as_hours(self, minutes: int | None) -> str:
        return MISSING if minutes is None else self.hours(minutes / 60)

    def pln(self, amount: Decimal | None) -> str:
        if amount is None:
            return MISSING
        return f"{self._number(amount, 2)} PLN"

    def moment(self, value: datetime | None) -> str:
        """A point in time in the client's zone, to the minute."""
        return MISSING if value is None else value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def day(self, value: datetime | None) -> str:
        return MISSING if value is None else value.astimezone(self.zone).strftime("%Y-%m-%d")

    def text(self, value: str | None) -> str:
        return MISSING if value is None or not value.strip() else value
