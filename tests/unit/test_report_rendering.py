"""The monthly report's HTML, PDF and CSV renderers, on a sample month and an empty one."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from pypdf import PdfReader

from itsm.reporting import Language, MonthlyReportRenderer, render_csv, render_html, render_pdf
from itsm.reporting.csv_export import HEADER, defuse
from itsm.reporting.fonts import REQUIRED_CHARACTERS, report_fonts
from itsm.reporting.labels import LABELS
from itsm.reporting.outcomes import Outcome, reaction_outcome, resolution_outcome
from tests.unit.report_samples import (
    CLIENT_ZONE,
    FORMULA_SUBJECT,
    HOSTILE_SUBJECT,
    OCTOBER,
    POLISH_SUBJECT,
    empty_figures,
    figures,
    header,
    ticket,
    tickets,
)

NBSP = "\u00a0"
CSV_HEADER = [
    "number",
    "created_at",
    "subject",
    "category",
    "channel",
    "priority",
    "service_type",
    "status",
    "requester",
    "assignee",
    "site",
    "responded_at",
    "resolved_at",
    "closed_at",
    "reaction_due_at",
    "resolution_due_at",
    "reaction_met",
    "resolution_met",
    "lines_reached",
    "vendor",
    "field_visits",
    "minutes_spent",
]


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def _pdf_text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- HTML ---------------------------------------------------------------------------------


def test_html_escapes_a_hostile_subject() -> None:
    html = render_html(header(), figures())

    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in html
    assert not [tag for tag, _ in _parse(html).tags if tag == "script"]


def test_html_escapes_markup_that_would_fetch_something() -> None:
    subject = '<img src="https://evil.example/x.png"><link rel=stylesheet href="//x/y.css">'
    sample = replace(figures(), tickets=(ticket(0, subject=subject),))

    tags = {tag for tag, _ in _parse(render_html(header(), sample)).tags}

    assert not tags & {"img", "link"}


def test_html_shows_the_figures_in_polish() -> None:
    html = render_html(header("pl"), figures())

    assert '<html lang="pl">' in html
    assert "Zgłoszenia w raporcie: 40" in html
    assert "Rozwiązane przy pierwszym kontakcie" in html
    assert "Czas reakcji" in html
    assert "81,3% (Cel 90,0%: poniżej celu)" in html  # FCR 0.8125 against the 90 % goal
    assert "85,0%" in html and "92,6%" in html  # reaction 34/40, resolution 25/27
    assert "1,7 h" in html and "20,0 h" in html  # MTTA, MTTR
    assert f"1{NBSP}234,50 PLN" in html  # cost
    assert f"1{NBSP}440,00 PLN" in html  # a package's price
    assert "8,5" in html  # helpdesk package: 20 h bought, 11.5 h used
    assert "wygasł" in html  # the administration package expired on 2 October
    assert "Eskalowane do L2" in html
    assert "Powtarzająca się awaria drukarki" in html
    assert "ACME-2026-0001, ACME-2026-0009" in html
    assert "Szkolenie z poczty &lt;Outlook&gt;" in html
    assert POLISH_SUBJECT in html
    assert "Małgorzata Źrebiec" in html
    for number in (t.number for t in tickets()):
        assert number in html


def test_html_in_english_uses_english_labels_and_number_format() -> None:
    html = render_html(header("en"), figures())

    assert '<html lang="en">' in html
    assert "Tickets in this report: 40" in html
    assert "Resolved at first contact" in html
    assert "81.3% (Goal 90.0%: below goal)" in html
    assert "1,234.50 PLN" in html
    assert "Zgłoszenia w raporcie" not in html


def test_html_and_pdf_show_times_in_the_clients_zone() -> None:
    html = render_html(header(), figures(), time_zone=CLIENT_ZONE)
    _, pages = _pdf_text(render_pdf(header(), figures(), time_zone=CLIENT_ZONE))

    # Ticket 0 was created at 06:00 UTC on 1 October: 08:00 in Warsaw (summer time).
    assert "2026-10-01 08:00" in html
    assert "2026-10-01 08:00" in " ".join(" ".join(pages).split())  # the cell wraps
    # The period starts at midnight in Warsaw, 22:00 UTC the day before.
    assert "2026-10 (2026-10-01 – 2026-10-31)" in html
    assert CLIENT_ZONE in html


def test_times_are_utc_unless_a_zone_is_given() -> None:
    html = render_html(header(), figures())

    assert "2026-10-01 06:00" in html
    assert "2026-10 (2026-09-30 – 2026-10-31)" in html


def test_a_language_without_labels_falls_back_to_english() -> None:
    html = render_html(header("bg"), figures())

    assert '<html lang="en">' in html
    assert "Tickets in this report: 40" in html


def test_html_needs_nothing_from_outside() -> None:
    html = render_html(header(), figures())
    parsed = _parse(html)

    assert "http://" not in html and "https://" not in html
    for tag, attrs in parsed.tags:
        assert tag not in {"script", "link", "img", "iframe", "object", "embed", "base"}
        for name in ("src", "srcset", "action", "data", "poster"):
            assert name not in attrs, (tag, attrs)
        href = attrs.get("href")
        assert href is None or href.startswith("#"), (tag, attrs)
    css = "".join(parsed.styles) + "".join(str(a.get("style", "")) for _, a in parsed.tags)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_states_the_ticket_count_and_prints_polish() -> None:
    reader, pages = _pdf_text(render_pdf(header("pl"), figures()))
    text = "\n".join(pages)

    assert len(reader.pages) >= 1
    assert "Zgłoszenia w raporcie: 40" in text
    assert "Rozwiązane przy pierwszym kontakcie" in text
    assert "Przedsiębiorstwo Łączność" in text
    assert f"Strona 1 / {len(reader.pages)}" in pages[0]
    assert f"Strona {len(reader.pages)} / {len(reader.pages)}" in pages[-1]


def test_pdf_prints_markup_in_subjects_as_text() -> None:
    _, pages = _pdf_text(render_pdf(header(), figures()))
    text = "\n".join(pages)

    assert "<script>alert(1)</script>" in text
    assert "&lt;" not in text  # escaped once for the Paragraph parser, not twice
    assert "Szkolenie z poczty <Outlook>" in text


def test_pdf_embeds_its_own_fonts() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(header(), figures())))

    used = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]  # pypdf types it as a bare PdfObject
        for ref in resources["/Font"].values():
            font = ref.get_object()
            if font["/Subtype"] == "/TrueType":
                assert "/FontFile2" in font["/FontDescriptor"], "TrueType must be embedded"
                used.add(str(font["/BaseFont"]).split("+")[-1])
    assert used == {"DejaVuSansCondensed", "DejaVuSansCondensed-Bold"}


def test_the_report_fonts_have_every_polish_letter() -> None:
    from reportlab.pdfbase import pdfmetrics

    fonts = report_fonts()
    for name in (fonts.regular, fonts.bold):
        face = pdfmetrics.getFont(name).face
        assert all(ord(char) in face.charToGlyph for char in REQUIRED_CHARACTERS)


def test_pdf_ticket_list_repeats_its_header_on_every_page() -> None:
    many = replace(figures(), tickets=tuple(ticket(i) for i in range(150)))
    reader, pages = _pdf_text(render_pdf(header("en"), many))

    assert "Tickets in this report: 150" in pages[0]
    list_pages = [text for text in pages if "ACME-2026-" in text and "Subject" in text]
    assert len(list_pages) >= 3
    assert all("Requester" in text for text in list_pages)
    assert f"Page {len(reader.pages)} / {len(reader.pages)}" in pages[-1]


def test_pdf_survives_control_characters_and_glyphs_the_font_lacks() -> None:
    odd = "Błąd\x00\x07 drukarki 😀 ✓ 漢字 " + "x" * 300
    sample = replace(figures(), tickets=(ticket(0, subject=odd, requester="A & B <c>"),))

    _, pages = _pdf_text(render_pdf(header(), sample))

    assert "Zgłoszenia w raporcie: 1" in pages[0]
    assert "A & B <c>" in "\n".join(pages)


def test_pdf_is_reproducible() -> None:
    assert render_pdf(header(), figures()) == render_pdf(header(), figures())


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_one_row_per_ticket_under_stable_english_columns() -> None:
    data = render_csv(figures())
    rows = _csv_rows(data)

    assert list(HEADER) == CSV_HEADER
    assert list(rows[0]) == CSV_HEADER
    assert len(rows) == 40
    assert {row["number"] for row in rows} == {t.number for t in tickets()}
    first = next(row for row in rows if row["number"] == "ACME-2026-0001")
    assert first["subject"] == POLISH_SUBJECT
    assert first["requester"] == "Łukasz Żółkiewski"
    assert first["created_at"] == "2026-10-01T06:00:00Z"
    assert first["responded_at"] == "2026-10-01T12:00:00Z"
    assert first["reaction_met"] == "false"  # answered 6 h after, due in 4 h
    assert first["resolution_met"] == "true"
    assert first["lines_reached"] == "L1+L2"
    assert first["vendor"] == "Orange Polska"
    assert first["field_visits"] == "1"
    assert first["minutes_spent"] == "15"
    assert first["service_type"] == "helpdesk"


def test_csv_defuses_formulas_and_keeps_hostile_text_verbatim() -> None:
    rows = {row["number"]: row for row in _csv_rows(render_csv(figures()))}

    assert rows["ACME-2026-0005"]["subject"] == "'" + FORMULA_SUBJECT
    assert rows["ACME-2026-0005"]["requester"] == "'+48 600 100 200"
    assert rows["ACME-2026-0004"]["subject"] == HOSTILE_SUBJECT


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_defuse_prefixes_an_apostrophe_to_formula_starters(cell: str) -> None:
    assert defuse(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["a=1", "Zgłoszenie", "", "'quoted"])
def test_defuse_leaves_ordinary_text_alone(cell: str) -> None:
    assert defuse(cell) == cell


# --- the empty month and the renderer -----------------------------------------------------


@pytest.mark.parametrize("language", ["pl", "en"])
def test_an_empty_period_renders_in_every_format(language: Language) -> None:
    rendered = MonthlyReportRenderer().render(header(language), empty_figures())
    labels = LABELS[language]

    assert labels["no_tickets"] in rendered.html
    assert labels["no_hours"] in rendered.html
    assert "–" in rendered.html
    _, pages = _pdf_text(rendered.pdf)
    assert labels["ticket_count"].format(count=0) in "\n".join(pages)
    assert _csv_rows(rendered.csv) == []
    assert rendered.csv.decode("utf-8-sig").splitlines() == [",".join(CSV_HEADER)]


def test_renderer_gives_all_three_documents_of_one_report() -> None:
    rendered = MonthlyReportRenderer().render(header(), figures(), CLIENT_ZONE)

    assert rendered.html == render_html(header(), figures(), time_zone=CLIENT_ZONE)
    assert rendered.pdf == render_pdf(header(), figures(), time_zone=CLIENT_ZONE)
    assert rendered.csv == render_csv(figures())


def test_both_languages_have_every_label() -> None:
    assert set(LABELS["pl"]) == set(LABELS["en"])


# --- per-ticket SLA outcome ---------------------------------------------------------------


def test_outcome_of_a_ticket_still_open_depends_on_the_period_end() -> None:
    end = OCTOBER.end
    running = ticket(3, responded_at=None, resolved_at=None, closed_at=None)
    late = replace(running, reaction_due_at=end - timedelta(hours=1))
    not_yet = replace(running, reaction_due_at=end + timedelta(hours=1))

    assert reaction_outcome(late, end) is Outcome.BREACHED
    assert reaction_outcome(not_yet, end) is Outcome.PENDING
    assert reaction_outcome(replace(running, reaction_due_at=None), end) is None


def test_resolution_stops_at_closing_when_there_was_no_resolution_step() -> None:
    rejected = ticket(1, resolved_at=None, status="rejected")
    due = rejected.created_at + timedelta(hours=24)
    closed_in_time = replace(rejected, closed_at=due - timedelta(minutes=1))
    closed_late = replace(rejected, closed_at=due + timedelta(minutes=1))

    assert resolution_outcome(closed_in_time, OCTOBER.end) is Outcome.MET
    assert resolution_outcome(closed_late, OCTOBER.end) is Outcome.BREACHED


def test_recommendations_speak_the_report_s_language() -> None:
    from itsm.domain.kpis import period_figures

    same = [
        replace(ticket(n), subject="VPN drops every hour", category="network") for n in range(3)
    ]
    advised = period_figures(OCTOBER, same)
    assert [item.code for item in advised.recommendations][:1] == ["recurring_problem"]
    polish = render_html(header(language="pl"), advised)
    english = render_html(header(language="en"), advised)
    assert "Powtarzający się problem: VPN drops every hour" in polish
    assert "„Sieć”" in polish and "Recurring problem" not in polish
    assert "Recurring problem: VPN drops every hour" in english
