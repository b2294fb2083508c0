"""The TrueType fonts the PDF report embeds, shipped inside this package.

reportlab's built-in Helvetica and its bundled Vera fonts have no "ą ę ń ś ź ż", so the
package carries DejaVu Sans Condensed (Vera's descendant with full Latin coverage, same
permissive licence; see ``fonts/LICENSE.txt``). Nothing is looked up on the system: the
report must look the same on every machine and offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS = Path(__file__).with_name("fonts")
REQUIRED_CHARACTERS = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ–…·"
"""Polish letters and the typography the report uses; a font without them is refused."""


@dataclass(frozen=True)
class ReportFonts:
    regular: str
    bold: str


_FILES = {
    "ItsmReportSans": "DejaVuSansCondensed.ttf",
    "ItsmReportSans-Bold": "DejaVuSansCondensed-Bold.ttf",
}


class MissingGlyphs(RuntimeError):
    """A report font lacks characters the report prints (it would show empty boxes)."""


def _load(name: str, file: str) -> TTFont:
    font = TTFont(name, str(FONTS / file))
    missing = [char for char in REQUIRED_CHARACTERS if ord(char) not in font.face.charToGlyph]
    if missing:
        raise MissingGlyphs(f"{file} has no glyph for {''.join(missing)!r}")
    return font


@cache
def report_fonts() -> ReportFonts:
    """Register the fonts with reportlab once per process (on first use, not at import)."""
    regular, bold = _FILES
    for name, file in _FILES.items():
        pdfmetrics.registerFont(_load(name, file))
    # <b> inside a Paragraph picks the bold face; there is no italic face, so italic maps to
    # the upright one instead of failing.
    for is_bold, is_italic, face in (
        (0, 0, regular),
        (1, 0, bold),
        (0, 1, regular),
        (1, 1, bold),
    ):
        addMapping(regular, is_bold, is_italic, face)
    return ReportFonts(regular=regular, bold=bold)
