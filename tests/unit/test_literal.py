"""Sender text inside Streamlit Markdown shows as typed (ui/components/literal.py)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from ui.components.literal import code, literal

MARKDOWN = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def rendered(markdown: str) -> str:
    return MARKDOWN.render(markdown)


def test_links_images_and_emphasis_stay_text() -> None:
    hostile = "Logout ![a](/auth/logout) [sign in](https://evil.example/login) **bold** `x`"
    html = rendered(literal(hostile))
    assert "<img" not in html and "<a " not in html and "<strong>" not in html
    assert "<code>" not in html
    assert "![a](/auth/logout)" in html and "**bold**" in html


def test_headings_lists_and_html_stay_text() -> None:
    for hostile in ("# Title", "- item", "1. item", "> quote", "<b>x</b>", "| a | b |\n|---|---|"):
        html = rendered(literal(hostile))
        for tag in ("<h1>", "<ul>", "<ol>", "<blockquote>", "<b>", "<table>"):
            assert tag not in html, (hostile, html)


def test_line_breaks_are_kept_as_breaks() -> None:
    assert rendered(literal("one\ntwo")) == "<p>one<br />\ntwo</p>\n"


def test_a_code_span_cannot_be_ended_by_a_backtick_or_a_blank_line() -> None:
    for hostile in ("a` **b** `c", "a\n\n**b**", "a\r\n\r\n# b"):
        html = rendered(code(hostile))
        assert html.startswith("<p><code>") and html.endswith("</code></p>\n"), html
        assert "<strong>" not in html and "<h1>" not in html
