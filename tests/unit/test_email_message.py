"""Parsing raw e-mail: the external corpus and charset / HTML / attachment cases derived here."""

from __future__ import annotations

import base64
from email.header import Header
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsm.channels.email_message import html_to_text, parse_email
from itsm.domain.inbound_email import ParsedEmail, Rejected

LIMIT = 5_000_000
POLISH = "Zażółć gęślą jaźń — drukarka nie działa, proszę o pomoc."


def _parse(raw: bytes) -> ParsedEmail:
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert isinstance(parsed, ParsedEmail), parsed
    return parsed


def _corpus(external: Path) -> list[Path]:
    files = sorted((external / "email").rglob("*.eml"))
    assert len(files) >= 30
    return files


def test_every_corpus_message_parses_without_an_exception(external: Path) -> None:
    for path in _corpus(external):
        result = parse_email(path.read_bytes(), max_bytes=LIMIT)
        assert isinstance(result, ParsedEmail | Rejected), path
        if isinstance(result, ParsedEmail):
            assert result.message_id and "<" not in result.message_id
            assert "@" in result.from_address and result.from_address == result.from_address.lower()
            assert "\n" not in result.subject


def test_bounces_and_auto_replies_in_the_corpus_are_automatic(external: Path) -> None:
    for path in sorted((external / "email" / "autoreply-bounce").glob("*.eml")):
        parsed = _parse(path.read_bytes())
        assert parsed.is_automatic, path.name
        assert parsed.automatic_reason


def test_outlook_automatic_reply_without_auto_submitted_is_caught_by_its_subject(
    external: Path,
) -> None:
    raw = (external / "email/autoreply-bounce/sisimai-rfc3834-02.eml").read_bytes()
    assert b"Auto-Submitted" not in raw
    stripped = b"\n".join(
        line for line in raw.split(b"\n") if not line.lower().startswith(b"return-path")
    )
    parsed = _parse(stripped)
    assert parsed.is_automatic
    assert "automatic subject" in parsed.automatic_reason


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: printer",
        "Auto: printer",
        "Out of Office: printer",
        "Abwesenheitsnotiz: Drucker",
        "Odpowiedź automatyczna: drukarka",
        "Autoodpowiedź: drukarka",
        "Undeliverable: printer",
        "Delivery Status Notification (Failure)",
    ],
)
def test_automatic_subjects(subject: str) -> None:
    raw = _plain(subject=str(Header(subject, "utf-8")))
    assert _parse(raw).is_automatic


@pytest.mark.parametrize(
    ("header", "automatic"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: list", True),
        ("List-Id: <it.acme.example>", True),
        ("List-Unsubscribe: <mailto:leave@acme.example>", True),
        ("Return-Path: <>", True),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: yes", True),
        ("X-Auto-Response-Suppress: All", False),
    ],
)
def test_automatic_headers(header: str, automatic: bool) -> None:
    assert _parse(_plain(extra=header)).is_automatic is automatic


def test_corpus_samples_decode(external: Path) -> None:
    email = external / "email"
    japanese = _parse(
        (email / "charsets-encoded-words/mikel-mail-japanese_iso_2022.eml").read_bytes()
    )
    assert japanese.subject == "まみむめも"
    assert "すみません" in japanese.body_text
    korean = _parse((email / "charsets-encoded-words/mikel-mail-ks_c_5601-1987.eml").read_bytes())
    assert "\ufffd" not in korean.body_text
    for name in ("stalwart-legacy-001-utf7.eml", "stalwart-legacy-012-windows1252.eml"):
        parsed = _parse((email / "charsets-encoded-words" / name).read_bytes())
        assert "Frösche" in parsed.subject
    unknown = _parse((email / "malformed/enmime-unk-charset-part.eml").read_bytes())
    assert unknown.body_text
    bad8bit = _parse((email / "multipart-html/enmime-mime-bad-8bit-filename.eml").read_bytes())
    assert [a.filename for a in bad8bit.attachments] == ["管理.doc"]


def test_html_only_corpus_message_becomes_clean_text(external: Path) -> None:
    raw = (
        external / "email/multipart-html/stalwart-legacy-002-html-only-iso8859-1.eml"
    ).read_bytes()
    parsed = _parse(raw)
    assert "Die Hasen und die Frösche" in parsed.body_text
    assert "<" not in parsed.body_text and "&" not in parsed.body_text


def test_headerless_stubs_are_rejected(external: Path) -> None:
    raw = (external / "email/malformed/stalwart-malformed-000.eml").read_bytes()
    assert parse_email(raw, max_bytes=LIMIT) == Rejected("no From address")


def test_empty_and_oversized_messages_are_rejected() -> None:
    assert isinstance(parse_email(b"", max_bytes=LIMIT), Rejected)
    assert isinstance(parse_email(b"  \r\n", max_bytes=LIMIT), Rejected)
    oversized = parse_email(_plain(), max_bytes=50)
    assert isinstance(oversized, Rejected) and "larger" in oversized.reason


@pytest.mark.parametrize("charset", ["iso-8859-2", "windows-1250"])
def test_polish_bodies_in_latin2_and_windows_1250(charset: str) -> None:
    body = POLISH.replace("—", "-")
    raw = (
        "From: Anna <anna.kowalska@acme.example>\r\nTo: desk@nordserv.example\r\n"
        f"Subject: Drukarka\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + body.encode(charset)
    assert _parse(raw).body_text == body


def test_encoded_word_subject_in_latin2() -> None:
    subject = "Zażółć gęślą jaźń"
    encoded = Header(subject, "iso-8859-2").encode()
    assert encoded.startswith("=?iso-8859-2?")
    assert _parse(_plain(subject=encoded)).subject == subject


def test_mislabelled_and_unknown_charsets_never_raise() -> None:
    raw = (
        b"From: a@acme.example\r\nSubject: x\r\nContent-Type: text/plain; charset=x-nonsense-42"
        b"\r\n\r\n" + POLISH.encode("windows-1250")
    )
    assert "drukarka" in _parse(raw).body_text
    raw = b"From: a@acme.example\r\nSubject: =?x-nonsense?Q?abc?=\r\n\r\nhello"
    assert _parse(raw).subject


def test_html_to_text_drops_script_and_style_and_decodes_entities() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>T</title></head><body>"
        "<script>alert('secret')</script><p>Hello&nbsp;&amp; welcome</p>"
        "<p>Line<br>two</p><ul><li>one</li><li>two</li></ul></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "secret" not in text and "color" not in text
    assert "<" not in text
    assert "Hello & welcome" in text
    assert "Line\ntwo" in text
    assert "- one" in text


def test_html_only_message_has_no_script_content() -> None:
    html = "<p>Printer is <b>broken</b></p><script>document.write('evil')</script>"
    raw = _plain(body=html, content_type="text/html")
    parsed = _parse(raw)
    assert parsed.body_text == "Printer is broken"


def test_plain_text_is_preferred_over_html() -> None:
    raw = (
        b"From: a@acme.example\r\nSubject: alt\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nthe plain one\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>the html one</p>\r\n--b--\r\n"
    )
    assert _parse(raw).body_text == "the plain one"


def test_attachment_names_rfc2231_and_size_limit() -> None:
    data = b"PDF" * 100
    raw = (
        b"From: a@acme.example\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''faktura%20ma%C5%82a.pdf\r\n\r\n"
        + base64.encodebytes(data)
        + b"--b--\r\n"
    )
    parsed = _parse(raw)
    assert [(a.filename, a.media_type, a.content) for a in parsed.attachments] == [
        ("faktura mała.pdf", "application/pdf", data)
    ]
    small = parse_email(raw, max_bytes=LIMIT, max_attachment_bytes=10)
    assert isinstance(small, ParsedEmail)
    assert small.attachments == [] and small.skipped_attachments == ["faktura mała.pdf"]


def test_identity_headers() -> None:
    raw = _plain(
        extra=(
            "Reply-To: boss@evil.example\r\nMessage-ID: <ABC@acme.example>\r\n"
            "In-Reply-To: <one@x>\r\nReferences: <zero@x>\r\n <one@x>"
        ),
        sender='"Kowalska, Anna" <Anna.Kowalska@ACME.example>',
    )
    parsed = _parse(raw)
    assert parsed.from_address == "anna.kowalska@acme.example"
    assert parsed.from_name == "Kowalska, Anna"
    assert parsed.message_id == "ABC@acme.example"
    assert parsed.in_reply_to == "one@x"
    assert parsed.references == ["zero@x", "one@x"]


def test_missing_message_id_is_synthesised_stably() -> None:
    first, second = _parse(_plain()), _parse(_plain())
    assert first.message_id == second.message_id
    assert first.message_id.startswith("sha256-")
    assert _parse(_plain(body="other")).message_id != first.message_id


def _plain(
    *,
    subject: str = "Printer",
    body: str = "It jams.",
    extra: str = "",
    sender: str = "Anna <anna.kowalska@acme.example>",
    content_type: str = "text/plain",
) -> bytes:
    headers = f"From: {sender}\r\nTo: desk@nordserv.example\r\nSubject: {subject}\r\n"
    if extra:
        headers += extra + "\r\n"
    headers += f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n"
    headers += "Content-Transfer-Encoding: 8bit\r\n"
    return (headers + "\r\n" + body).encode("utf-8")


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@acme.example\r\nSubject: x\r\nContent-Type: text/plain; charset=quopri\r\n\r\nhi",
        b"From: a@acme.example\r\nSubject: =?utf-8\x00?Q?abc?=\r\n\r\nhi",
        b"From: a@acme.example\r\nSubject: Dru\xc5\xbcarka \xe9\r\n\r\nNUL\x00here\x01",
        b"From: =?utf-8?q?A=00B?= <a@acme.example>\r\nMessage-ID: <a\x00b@x>\r\n\r\nhi",
        b"From: a@acme.example\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
    ],
)
def test_hostile_inputs_give_storable_text(raw: bytes) -> None:
    parsed = _parse(raw)
    for text in (parsed.subject, parsed.body_text, parsed.message_id, parsed.from_address):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_email(raw, max_bytes=LIMIT), ParsedEmail | Rejected)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_corpus_messages_never_raise(external: Path, data: st.DataObject) -> None:
    files = _corpus(external)
    raw = bytearray(files[data.draw(st.integers(0, len(files) - 1))].read_bytes())
    for _ in range(data.draw(st.integers(1, 12))):
        position = data.draw(st.integers(0, len(raw)))
        piece = data.draw(
            st.sampled_from([b"=?", b"?=", b"\r\n", b"--", b";", b'"', b"\x00", b"charset=", b"'"])
            | st.binary(max_size=8)
        )
        raw[position : position + data.draw(st.integers(0, 4))] = piece
    result = parse_email(bytes(raw), max_bytes=LIMIT)
    assert isinstance(result, ParsedEmail | Rejected)
    if isinstance(result, ParsedEmail):
        result.body_text.encode("utf-8")
        result.subject.encode("utf-8")
