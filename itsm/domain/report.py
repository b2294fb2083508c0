"""A monthly client report as the renderers receive it and as they hand it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
