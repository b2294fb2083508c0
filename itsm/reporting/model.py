"""The report languages the renderers speak, and which one a header asks for."""

from __future__ import annotations

from typing import Literal

from itsm.domain.report import ReportHeader

Language = Literal["pl", "en"]
FALLBACK_LANGUAGE: Language = "en"


def language_of(header: ReportHeader) -> Language:
    # A client set to a language the report has no words for still gets a readable report.
    return "pl" if header.language.strip().lower() == "pl" else FALLBACK_LANGUAGE
