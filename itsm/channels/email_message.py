"""Parsing one raw RFC 5322 message into plain values, surviving whatever arrives.

Pure: no database, no clock. Malformed MIME, unknown or wrong charsets and broken encoded
words never raise; text that cannot be decoded is replaced, not lost.

Bounded: a message of more than ``MAX_PARTS`` MIME parts or nested deeper than
``MAX_DEPTH`` is refused while it is being parsed (the standard parser's work grows with
both, quadratically with depth); the bytes are fed to the parser in chunks; a base64 body
too large to be kept is cut out before parsing and only its name is reported, so refusing
it costs no more memory than the rest of the message.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import re
import secrets
from dataclasses import dataclass
from email import policy
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from itsm.domain.inbound_email import EmailAttachment, ParsedEmail, Rejected

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "EmailAttachment",
    "ParsedEmail",
    "Rejected",
    "html_to_text",
    "parse_email",
]

MAX_PARTS = 500
"""MIME parts (containers and leaves) one message may have; ordinary mail has a handful."""
MAX_DEPTH = 20
"""How deep multiparts and attached messages may nest inside one another."""
_FEED_CHUNK = 64 * 1024


# Charset aliases Python does not know, or knows under another name.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-unknown": "latin-1",
    "unknown-8bit": "latin-1",
    "x-user-defined": "latin-1",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "gb2312": "gb18030",
}

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"automatic reply|auto(?:matische)?[ -]?(?:reply|response|antwort)|auto:|autoreply"
    r"|out of (?:the )?office|abwesenheitsnotiz|odpowied[zź] automatyczna|autoodpowied[zź]"
    r"|undeliver(?:able|ed)|delivery status notification|mail delivery (?:failed|failure)"
    r"|returned mail|delivery failure|failure notice|nieobecno[sś][cć]"
    r"|r[ée]ponse automatique|absence du bureau"
    r")",
    re.IGNORECASE,
)
_BOUNCE_LOCALPARTS = ("mailer-daemon", "postmaster")


def _codec(charset: str | None, fallback: str = "utf-8") -> str:
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return fallback
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return fallback
    # Bytes-to-bytes codecs (quopri, base64, zlib…) are not charsets.
    return info.name if getattr(info, "_is_text_encoding", True) else fallback


def _decode_bytes(data: bytes, charset: str | None) -> str:
    codec = _codec(charset)
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if codec in ("utf-8", "ascii", "us-ascii"):
            # Mislabelled 8-bit text is most often Windows-1252.
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(codec, errors="replace")
        except Exception:
            return data.decode("utf-8", errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words ourselves, tolerating unknown charsets and bad bytes."""
    if "=?" not in value:
        return value
    try:
        parts = decode_header(value)
    except Exception:
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(_decode_bytes(chunk, charset or "ascii"))
        else:
            out.append(chunk)
    try:
        return str(make_header([(p, None) for p in out]))
    except Exception:
        return "".join(out)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _unsurrogate(text: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogates) decoded as UTF-8 or 1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return _decode_bytes(text.encode("utf-8", errors="surrogateescape"), "utf-8")


def _clean_line(text: str) -> str:
    text = _unsurrogate(text)
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = _CONTROLS.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _header(message: Message, name: str) -> str:
    """A header's decoded text, or '' — never raises."""
    try:
        raw = message.get(name)
    except Exception:
        raw = None
    if raw is None:
        # The policy's header object may fail; fall back to the raw stored value.
        for key, value in getattr(message, "_headers", []):
            if key.lower() == name.lower():
                raw = value
                break
    if raw is None:
        return ""
    text = str(raw)
    if "=?" in text:
        text = _decode_words(text)
    return _clean_line(text)


def _raw_header(message: Message, name: str) -> str:
    for key, value in getattr(message, "_headers", []):
        if key.lower() == name.lower():
            return str(value)
    return ""


_ANGLE = re.compile(r"<([^<>\s]+)>")


def _normalise_id(value: str) -> str:
    value = value.strip()
    match = _ANGLE.search(value)
    ident = match.group(1) if match else value.strip("<> \t")
    return _clean_line(ident)[:400]


def _id_list(value: str) -> list[str]:
    found = _ANGLE.findall(value)
    if not found:
        found = [token.strip("<>") for token in value.split() if "@" in token]
    seen: list[str] = []
    for found_id in found:
        ident = _clean_line(found_id)[:400]
        if ident and ident not in seen:
            seen.append(ident)
    return seen


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "tr",
            "li",
            "ul",
            "ol",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "section",
            "article",
            "header",
            "footer",
            "address",
            "dd",
            "dt",
            "title",
        }
    )
    _HIDDEN = frozenset({"script", "style", "head", "template", "noscript", "object", "iframe"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "li":
            self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: no tags, no script or style content, entities decoded."""
    # Script/style content is dropped first, so text that merely looks like markup
    # inside them can never leak through a lenient parser.
    html = re.sub(
        r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", " ", html, flags=re.IGNORECASE | re.DOTALL
    )
    html = re.sub(r"<!--.*?(-->|$)", " ", html, flags=re.DOTALL)
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:
        return _tidy(re.sub(r"<[^>]*>", " ", html))
    return _tidy("".join(extractor.parts))


def _tidy(text: str) -> str:
    # NUL and other controls (and lone surrogates) are unstorable or meaningless in text.
    text = _CONTROLS.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [re.sub(r"^[ \t]+", "", line) if line.strip() else "" for line in lines]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="replace")
    return b""


def _part_text(part: Message, data: bytes | None = None) -> str:
    """The part's text; ``data`` is its payload when already decoded from the transfer
    encoding."""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _decode_bytes(_payload_bytes(part) if data is None else data, charset)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        raw = _raw_header(part, "Content-Disposition") + ";" + _raw_header(part, "Content-Type")
        match = re.search(r'(?:file)?name\*?=\s*"?([^";]+)"?', raw, re.IGNORECASE)
        name = match.group(1) if match else None
    if name is None:
        return None
    name = _unsurrogate(name)
    if "=?" in name:
        name = _decode_words(name)
    return _clean_line(name) or None


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _walk(message: Message) -> list[Message]:
    try:
        return list(message.walk())
    except Exception:
        return [message]


def _least_decoded_size(part: Message) -> int:
    """A lower bound of the part's decoded size, from its encoded payload, decoding nothing."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return 0
    encoding = _header(part, "Content-Transfer-Encoding").lower()
    if encoding == "base64":
        return len(raw) * 7 // 10  # 3 bytes per 4 characters, less line breaks
    if encoding == "quoted-printable":
        return len(raw) // 3
    return len(raw)


def _bodies_and_attachments(
    message: Message, max_attachment_bytes: int, max_part_bytes: int, cut_mark: bytes
) -> tuple[str, list[EmailAttachment], list[str]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[EmailAttachment] = []
    skipped: list[str] = []
    total = 0
    for part in _walk(message):
        if part.is_multipart():
            continue
        ctype = _content_type(part)
        disposition = _disposition(part)
        name = _filename(part)
        if ctype.startswith("multipart/"):
            # A multipart without a usable boundary: its payload is all the text there is.
            plain.append(_part_text(part))
            continue
        is_text = ctype in ("text/plain", "text/html")
        if is_text and disposition != "attachment" and name is None:
            data = _payload_bytes(part)
            if data.startswith(cut_mark):
                skipped.append(f"{ctype} body")
                continue
            (plain if ctype == "text/plain" else html).append(_part_text(part, data))
            continue
        if ctype in ("message/delivery-status", "message/rfc822-headers", "text/rfc822-headers"):
            continue
        shown = name or f"attachment-{len(attachments) + 1}"
        budget = min(max_part_bytes, max_attachment_bytes - total)
        if _least_decoded_size(part) > budget:
            skipped.append(shown)  # cannot be kept: not even decoded
            continue
        data = _payload_bytes(part)
        if not data:
            continue
        if data.startswith(cut_mark) or len(data) > budget:
            skipped.append(shown)
            continue
        total += len(data)
        attachments.append(EmailAttachment(shown, data, _clean_line(ctype)[:120]))
    if any(text.strip() for text in plain):
        body = _tidy("\n\n".join(text for text in plain if text.strip()))
    elif html:
        body = html_to_text("\n".join(html))
    else:
        body = ""
    return body, attachments, skipped


def _automatic_reason(message: Message, from_address: str, subject: str) -> str:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe"):
        if _header(message, name):
            return f"mailing list ({name})"
    # X-Auto-Response-Suppress is deliberately not here: it asks *others* not to auto-reply
    # and is set by Outlook on ordinary mail.
    for name in ("X-Autoreply", "X-Autorespond"):
        value = _header(message, name)
        if value:
            return f"{name}: {value}"
    return_path = _header(message, "Return-Path")
    if return_path and return_path.replace(" ", "") in ("<>", ""):
        return "null sender (Return-Path: <>)"
    if _raw_header(message, "Return-Path").strip() == "<>":
        return "null sender (Return-Path: <>)"
    ctype = _content_type(message)
    if ctype == "multipart/report":
        report = (message.get_param("report-type") or "") if _safe(message) else ""
        return f"delivery report (multipart/report; {report})".replace("; )", ")")
    for part in _walk(message):
        if _content_type(part) == "message/delivery-status":
            return "delivery status notification"
    local = from_address.split("@", 1)[0]
    if local in _BOUNCE_LOCALPARTS:
        return f"sent by {local}"
    if _AUTO_SUBJECT.search(subject):
        return f"automatic subject: {subject[:80]}"
    return ""


def _safe(message: Message) -> bool:
    try:
        message.get_params()
    except Exception:
        return False
    return True


def _from(message: Message) -> tuple[str, str]:
    raw = _raw_header(message, "From")
    if not raw:
        return "", ""
    try:
        header = message.get("From")
        addresses = list(getattr(header, "addresses", ()))
    except Exception:
        addresses = []
    for address in addresses:
        spec = (address.addr_spec or "").strip()
        if "@" in spec:
            return _clean_line(spec).lower()[:320], _clean_line(
                _decode_words(address.display_name or "")
            )
    unfolded = _decode_words(raw.replace("\r", " ").replace("\n", " "))
    pairs = getaddresses([unfolded]) or [parseaddr(unfolded)]
    for name, spec in pairs:
        if "@" in spec:
            return _clean_line(spec).lower()[:320], _clean_line(name)
    match = re.search(r"[\w.+\-']+@[\w\-.]+", unfolded)
    if match:
        return _clean_line(match.group(0)).lower()[:320], ""
    return "", ""


def parse_email(
    raw: bytes,
    *,
    max_bytes: int,
    max_attachment_bytes: int | None = None,
    max_part_bytes: int | None = None,
    max_parts: int = MAX_PARTS,
    max_depth: int = MAX_DEPTH,
) -> ParsedEmail | Rejected:
    """One message as plain values, or Rejected when it cannot be a message at all.

    ``max_attachment_bytes`` caps the total of a message's attachments (default: max_bytes);
    ``max_part_bytes`` caps one attachment (default: the total). Attachments beyond them are
    listed in ``skipped_attachments`` and not kept; a base64 body larger than either is cut
    out before parsing. More than ``max_parts`` MIME parts, or nesting deeper than
    ``max_depth``, is Rejected. Never raises: input that defeats every fallback is Rejected,
    so the caller can still keep the bytes.
    """
    total = max_bytes if max_attachment_bytes is None else max_attachment_bytes
    limits = _Limits(
        max_bytes=max_bytes,
        max_attachment_bytes=total,
        max_part_bytes=total if max_part_bytes is None else min(max_part_bytes, total),
        max_parts=max_parts,
        max_depth=max_depth,
    )
    try:
        return _parse(raw, limits)
    except _TooComplex as err:
        return Rejected(str(err))
    except Exception as err:  # the promise to the intake: a reason, never a traceback
        return Rejected(f"unparseable message ({type(err).__name__})")


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_attachment_bytes: int
    max_part_bytes: int
    max_parts: int
    max_depth: int


class _TooComplex(Exception):
    """The message has more MIME parts, or deeper nesting, than the limits allow."""


class _BoundedMessage(EmailMessage):
    """A part that knows its depth; the parser attaches every sub-part through ``attach``."""

    depth = 0
    max_depth = MAX_DEPTH

    def attach(self, payload: Any) -> None:
        depth = self.depth + 1
        if depth > self.max_depth:
            raise _TooComplex(f"MIME parts nested deeper than {self.max_depth} levels")
        if isinstance(payload, _BoundedMessage):
            payload.depth = depth
        super().attach(payload)


def _parse_bounded(raw: bytes, limits: _Limits) -> Message:
    """The standard parser, fed in chunks, stopping at the first part beyond the limits."""
    parts = 0

    def new_part(policy: policy.Policy = policy.default) -> _BoundedMessage:
        nonlocal parts
        parts += 1
        if parts > limits.max_parts:
            raise _TooComplex(f"more than {limits.max_parts} MIME parts")
        part = _BoundedMessage(policy=policy)
        part.max_depth = limits.max_depth
        return part

    # Through the policy, not ``_factory``: the parser would call a factory once to probe it.
    parser = BytesFeedParser(policy=policy.default.clone(message_factory=new_part))
    view = memoryview(raw)
    for start in range(0, len(raw), _FEED_CHUNK):
        parser.feed(bytes(view[start : start + _FEED_CHUNK]))
    message: Message = parser.close()
    return message


_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}\r?")
_BASE64_HEADER = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*base64[ \t]*\r?$")
_HEADER_WINDOW = 16 * 1024


def _cut_large_base64(raw: bytes, max_decoded: int) -> tuple[bytes, bytes]:
    """``raw`` with every base64 body that decodes to more than ``max_decoded`` bytes
    replaced by a one-line marker, and the marker's decoded form (unguessable per call)."""
    mark = b"\0itsm-cut-" + secrets.token_hex(8).encode() + b"\0"
    min_run = max_decoded * 4 // 3
    if len(raw) <= min_run:
        return raw, mark  # nothing that long can be in it
    replacement = base64.b64encode(mark) + b"\r\n"
    pieces: list[bytes | memoryview] = []
    view = memoryview(raw)
    kept_from = 0
    run_start = -1
    position = 0
    size = len(raw)
    while position < size:
        end = raw.find(b"\n", position)
        end = size if end < 0 else end
        if _BASE64_LINE.fullmatch(raw, position, end):
            if run_start < 0:
                run_start = position
        else:
            if run_start >= 0:
                kept_from = _cut(
                    raw, view, pieces, kept_from, run_start, position, min_run, replacement
                )
            run_start = -1
        position = end + 1
    if run_start >= 0:
        kept_from = _cut(raw, view, pieces, kept_from, run_start, size, min_run, replacement)
    if not pieces:
        return raw, mark
    pieces.append(view[kept_from:])
    return b"".join(pieces), mark


def _cut(
    raw: bytes,
    view: memoryview,
    pieces: list[bytes | memoryview],
    kept_from: int,
    start: int,
    stop: int,
    min_run: int,
    replacement: bytes,
) -> int:
    """Cut raw[start:stop] (a run of base64 lines) if it is long enough and is the whole
    body of a part declared base64; return where the kept bytes continue."""
    if stop - start <= min_run:
        return kept_from
    head_start = max(0, start - _HEADER_WINDOW)
    blank = max(raw.rfind(b"\n\n", head_start, start), raw.rfind(b"\n\r\n", head_start, start))
    if blank < 0 or raw[blank:start].strip(b"\r\n"):
        return kept_from  # the run does not start the body
    # The part's own header block: after the previous blank line or boundary line.
    head_start = max(
        head_start,
        raw.rfind(b"\n\n", head_start, blank),
        raw.rfind(b"\n\r\n", head_start, blank),
        raw.rfind(b"\n--", head_start, blank),
    )
    if not _BASE64_HEADER.search(raw, head_start, blank + 1):
        return kept_from
    pieces.append(view[kept_from:start])
    pieces.append(replacement)
    return stop


def _parse(raw: bytes, limits: _Limits) -> ParsedEmail | Rejected:
    if not raw or raw.isspace():  # not raw.strip(): that would copy the whole message
        return Rejected("empty message")
    max_bytes = limits.max_bytes
    if len(raw) > max_bytes:
        return Rejected(f"message of {len(raw)} bytes is larger than the limit of {max_bytes}")
    cut, cut_mark = _cut_large_base64(raw, limits.max_part_bytes)
    message = _parse_bounded(cut, limits)
    del cut
    from_address, from_name = _from(message)
    if not from_address:
        return Rejected("no From address")
    raw_id = _raw_header(message, "Message-ID")
    message_id = _normalise_id(_decode_words(raw_id)) if raw_id.strip() else ""
    if not message_id:
        message_id = f"sha256-{hashlib.sha256(raw).hexdigest()}@itsm.invalid"
    in_reply_to_list = _id_list(_raw_header(message, "In-Reply-To"))
    in_reply_to = in_reply_to_list[0] if in_reply_to_list else None
    references = _id_list(_raw_header(message, "References"))
    subject = _header(message, "Subject")
    body, attachments, skipped = _bodies_and_attachments(
        message, limits.max_attachment_bytes, limits.max_part_bytes, cut_mark
    )
    reason = _automatic_reason(message, from_address, subject)
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        body_text=body,
        attachments=attachments,
        is_automatic=bool(reason),
        automatic_reason=reason,
        skipped_attachments=skipped,
        size=len(raw),
    )
