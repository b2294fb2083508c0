"""A monthly client report as the renderers receive it and as they hand it back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class ReportHeader:
    client_name: str
    client_code: str
    sla_tier: str
    coordinator_name: str
    provider_name: str
    generated_at: datetime
    language: str  # "pl" | "en": the client's language


@dataclass(frozen=True)
class RenderedReport:
    html: str
    pdf: bytes
    csv: bytes


def parse_month(month: str) -> tuple[int, int]:
    """ "2026-10" → (2026, 10); ValueError naming what was expected otherwise."""
    found = _MONTH.fullmatch(month.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"expected a month as YYYY-MM, got {month!r}")
    return int(found[1]), int(found[2])


def previous_month(instant: datetime) -> str:
    """The calendar month before the one ``instant`` falls in, as YYYY-MM."""
    year, month = instant.year, instant.month - 1
    if month == 0:
        year, month = year - 1, 12
    return f"{year:04d}-{month:02d}"
