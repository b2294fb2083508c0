"""The monthly report as an A4 PDF (reportlab platypus) with embedded fonts and page numbers.

Cells of the summary tables are Paragraphs, so long texts wrap; Paragraphs parse a markup of
their own, so every value is escaped first (a subject with "<" or "&" must print, not break
the build). The ticket list — thousands of rows for a large client — is plain text clipped to
its column in page-sized tables: wrapping every cell made a 2,000-ticket report take 13 s.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from itsm.domain.kpis import PeriodFigures
from itsm.domain.report import ReportHeader
from itsm.reporting import view as v
from itsm.reporting.fonts import ReportFonts, report_fonts

MARGIN = 14 * mm
FOOTER_Y = 8 * mm
HEADER_FILL = colors.HexColor("#e8eef5")
STRIPE_FILL = colors.HexColor("#f6f8fb")
RULE = colors.HexColor("#c8d0da")
ACCENT = colors.HexColor("#12355b")
MUTED = colors.HexColor("#5a6675")
PORTRAIT, LANDSCAPE = "portrait", "landscape"
NARROW_SHARE = 0.62
"""Key/value tables take this share of the width: full width would strand the numbers."""
LIST_FONT_SIZE = 7.5
LIST_ROW_HEIGHT = 10.5
CELL_PADDING = 3
ELLIPSIS = "…"


def _markup(text: str) -> str:
    # Control characters (from a mangled e-mail header, say) have no glyph and can upset the
    # Paragraph parser; they carry nothing a reader needs.
    clean = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return escape(clean)


class _Styles:
    def __init__(self, fonts: ReportFonts) -> None:
        def style(name: str, **kwargs: Any) -> ParagraphStyle:
            defaults = {"fontName": fonts.regular, "bulletFontName": fonts.regular}
            return ParagraphStyle(name, **(defaults | kwargs))

        self.title = style("title", fontName=fonts.bold, fontSize=16, leading=20, textColor=ACCENT)
        self.heading = style(
            "heading",
            fontName=fonts.bold,
            fontSize=12,
            leading=15,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        )
        self.body = style("body", fontSize=9, leading=12, spaceAfter=3)
        self.strong = style("strong", fontName=fonts.bold, fontSize=10, leading=13)
        self.empty = style("empty", fontSize=9, leading=12, textColor=MUTED)
        self.cell = style("cell", fontSize=8, leading=10)
        self.cell_head = style("cell_head", fontName=fonts.bold, fontSize=8, leading=10)
        self.small = style("small", fontSize=7.5, leading=9.2)
        self.small_head = style("small_head", fontName=fonts.bold, fontSize=7.5, leading=9.2)

    def for_cells(self, dense: bool, head: bool, numeric: bool) -> ParagraphStyle:
        if dense:
            base = self.small_head if head else self.small
        else:
            base = self.cell_head if head else self.cell
        if not numeric:
            return base
        return ParagraphStyle(f"{base.name}_num", parent=base, alignment=TA_RIGHT)


@functools.cache
def _glyph_widths(font: str) -> tuple[dict[int, float], float]:
    """Advance widths (1/1000 em) of a registered TrueType font, and its default width."""
    face = getFont(font).face
    return dict(face.charWidths), float(face.defaultWidth)


def _clipped(text: str, font: str, room: float) -> str:
    """``text`` on one line within ``room`` points, cut with an ellipsis when longer.

    One pass over the characters with the font's own widths: measuring candidate prefixes
    with stringWidth was a third of the time of a 10,000-ticket report."""
    widths, default = _glyph_widths(font)
    limit = room * 1000 / LIST_FONT_SIZE
    ellipsis = widths.get(ord(ELLIPSIS), default)
    clean = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    used = 0.0
    fits_with_ellipsis = 0  # the longest prefix that still leaves room for the ellipsis
    for index, character in enumerate(clean):
        used += widths.get(ord(character), default)
        if used > limit:
            return clean[:fits_with_ellipsis] + ELLIPSIS
        if used + ellipsis <= limit:
            fits_with_ellipsis = index + 1
    return clean


class _ListPage(Flowable):  # type: ignore[misc]  # reportlab ships no type hints
    """One page of the ticket list, drawn straight on the canvas: header row, striped rows,
    grid. A platypus Table measures and splits every cell; at 10,000 tickets that was most
    of the report's time."""

    def __init__(
        self,
        head: list[str],
        rows: list[list[str]],
        widths: list[float],
        numeric: frozenset[int],
        fonts: ReportFonts,
    ) -> None:
        super().__init__()
        self._head, self._rows, self._widths = head, rows, widths
        self._numeric, self._fonts = numeric, fonts
        self._height = LIST_ROW_HEIGHT * (len(rows) + 1)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return sum(self._widths), self._height

    def draw(self) -> None:
        canvas = self.canv
        width = sum(self._widths)
        lines = [self._head, *self._rows]
        for index, _ in enumerate(lines):
            top = self._height - index * LIST_ROW_HEIGHT
            fill = HEADER_FILL if index == 0 else (STRIPE_FILL if index % 2 == 0 else None)
            if fill is not None:
                canvas.setFillColor(fill)
                canvas.rect(0, top - LIST_ROW_HEIGHT, width, LIST_ROW_HEIGHT, stroke=0, fill=1)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        for index in range(len(lines) + 1):
            canvas.line(0, index * LIST_ROW_HEIGHT, width, index * LIST_ROW_HEIGHT)
        x = 0.0
        for column_width in [0.0, *self._widths]:
            x += column_width
            canvas.line(x, 0, x, self._height)
        canvas.setFillColor(colors.black)
        # One text object for the page: a text object per cell (drawString) cost 3x as much.
        text = canvas.beginText()
        for index, line in enumerate(lines):
            baseline = self._height - (index + 1) * LIST_ROW_HEIGHT + 3
            font = self._fonts.bold if index == 0 else self._fonts.regular
            text.setFont(font, LIST_FONT_SIZE)
            left = 0.0
            for column, (cell, column_width) in enumerate(zip(line, self._widths, strict=True)):
                if column in self._numeric and index > 0:
                    cell_width = stringWidth(cell, font, LIST_FONT_SIZE)
                    text.setTextOrigin(left + column_width - CELL_PADDING - cell_width, baseline)
                else:
                    text.setTextOrigin(left + CELL_PADDING, baseline)
                text.textOut(cell)
                left += column_width
        canvas.drawText(text)


def _list_pages(table: v.Table, fonts: ReportFonts, width: float, frame_height: float) -> list[Any]:
    """The ticket list as page-sized blocks of one-line rows, each under the header row."""
    weights = sum(c.weight for c in table.columns)
    widths = [width * c.weight / weights for c in table.columns]
    rows_per_page = max(1, int(frame_height // LIST_ROW_HEIGHT) - 3)
    head = [
        _clipped(c.title, fonts.bold, w - 2 * CELL_PADDING)
        for c, w in zip(table.columns, widths, strict=True)
    ]
    body = [
        [
            _clipped(cell, fonts.regular, w - 2 * CELL_PADDING)
            for cell, w in zip(row, widths, strict=True)
        ]
        for row in table.rows
    ]
    numeric = frozenset(index for index, column in enumerate(table.columns) if column.numeric)
    pages: list[Any] = []
    for start in range(0, len(body), rows_per_page):
        if pages:
            pages.append(PageBreak())
        pages.append(_ListPage(head, body[start : start + rows_per_page], widths, numeric, fonts))
    return pages


def _table(table: v.Table, styles: _Styles, width: float, dense: bool) -> Any:
    if not table.rows:
        return Paragraph(_markup(table.empty), styles.empty) if table.empty else Spacer(0, 0)
    head_styles = [styles.for_cells(dense, True, c.numeric) for c in table.columns]
    body_styles = [styles.for_cells(dense, False, c.numeric) for c in table.columns]
    head = zip(table.columns, head_styles, strict=True)
    data = [[Paragraph(_markup(column.title), s) for column, s in head]]
    data += [
        [Paragraph(_markup(cell), s) for cell, s in zip(row, body_styles, strict=True)]
        for row in table.rows
    ]
    total = width if table.wide else width * NARROW_SHARE
    weights = sum(c.weight for c in table.columns)
    flowable = Table(
        data,
        colWidths=[total * c.weight / weights for c in table.columns],
        repeatRows=1,  # the header row again on every page the table runs onto
        hAlign="LEFT",
    )
    flowable.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE_FILL]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return flowable


def _meta(view: v.ReportView, styles: _Styles, width: float) -> Any:
    rows = [
        [Paragraph(_markup(label), styles.cell_head), Paragraph(_markup(value), styles.cell)]
        for label, value in view.meta
    ]
    meta = Table(rows, colWidths=[width * 0.25, width * 0.5], hAlign="LEFT")
    meta.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return meta


def _story(
    view: v.ReportView, styles: _Styles, fonts: ReportFonts, portrait: Frame, wide: Frame
) -> list[Any]:
    story: list[Any] = [
        Paragraph(_markup(view.title), styles.title),
        Spacer(0, 3 * mm),
        _meta(view, styles, portrait.width),
        Spacer(0, 2 * mm),
        Paragraph(_markup(view.ticket_count_sentence), styles.strong),
    ]
    for section in view.sections:
        width = portrait.width
        # Eleven columns do not fit a portrait page legibly: the ticket list gets landscape
        # pages of its own (unless it is empty).
        dense = section.key == "tickets"
        if dense and any(table.rows for table in section.tables):
            story += [NextPageTemplate(LANDSCAPE), PageBreak()]
            width = wide.width
        story.append(Paragraph(_markup(section.title), styles.heading))
        for table in section.tables:
            if dense and table.rows:
                story.extend(_list_pages(table, fonts, width, wide.height))
            else:
                story.append(_table(table, styles, width, dense))
            story.append(Spacer(0, 2.5 * mm))
        story.extend(Paragraph(_markup(note), styles.body) for note in section.notes)
    return story


def _numbered_canvas(view: v.ReportView, fonts: ReportFonts) -> type[Any]:
    """A canvas that holds its pages back until the end, so each footer can say "X / Y"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            page_width = self._pagesize[0]  # portrait or landscape, per page
            self.saveState()
            self.setFont(fonts.regular, 7.5)
            self.setFillColor(MUTED)
            self.drawString(MARGIN, FOOTER_Y, view.footer)
            label = view.page_label.format(page=number, pages=total)
            self.drawRightString(page_width - MARGIN, FOOTER_Y, label)
            self.restoreState()

    return NumberedCanvas


def _frame(pagesize: tuple[float, float], name: str) -> Frame:
    page_width, page_height = pagesize
    bottom = MARGIN + 4 * mm  # room for the footer line
    return Frame(
        MARGIN,
        bottom,
        page_width - 2 * MARGIN,
        page_height - MARGIN - bottom,
        id=name,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )


def render_view_pdf(view: v.ReportView, author: str) -> bytes:
    fonts = report_fonts()
    styles = _Styles(fonts)
    buffer = io.BytesIO()
    portrait, wide = _frame(A4, "portrait"), _frame(landscape(A4), "landscape")
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        pageTemplates=[
            PageTemplate(PORTRAIT, frames=[portrait], pagesize=A4),
            PageTemplate(LANDSCAPE, frames=[wide], pagesize=landscape(A4)),
        ],
        title=view.title,
        author=author,
        creator="itsm-orchestrator",
        lang=view.language,
        # Same input, same bytes: no wall-clock dates or random ids in the file (the report
        # prints its own generation time), so archived copies can be compared by hash.
        invariant=True,
    )
    document.build(
        _story(view, styles, fonts, portrait, wide),
        canvasmaker=_numbered_canvas(view, fonts),
    )
    return buffer.getvalue()


def render_pdf(header: ReportHeader, figures: PeriodFigures, *, time_zone: str = "UTC") -> bytes:
    view = v.build_view(header, figures, time_zone)
    return render_view_pdf(view, author=header.provider_name)
