"""Limits (issue 7, item 8): oversized e-mail, attachment bombs and oversized JSON are refused
with a clear reason, and refusing them costs less than 50 MB over the baseline.

Memory is measured twice: with ``tracemalloc`` (the peak of Python allocations during the
refusal, the input built beforehand) around each refusal in this process, and as the rise
of the resident set's high-water mark (``VmHWM`` after resetting it) in a fresh process,
which also counts what pydantic-core and the C parts allocate.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from itsm.api.app import create_api
from itsm.blob_store import FileBlobStore
from itsm.bootstrap import Services
from itsm.channels.email_message import MAX_DEPTH, MAX_PARTS, parse_email
from itsm.clock import ManualClock
from itsm.domain.inbound_email import ParsedEmail, Rejected
from itsm.services.email_intake import EmailIntake
from itsm.settings import PROJECT_ROOT, Settings
from tests.conftest import build_desk

BUDGET = 50_000_000
"""Bytes a refusal may cost over the baseline."""
MB = 1_000_000
DEFAULTS = Settings()
T = TypeVar("T")


def peak_of(action: Callable[[], T]) -> tuple[T, int]:
    """What ``action`` returns and the peak of the memory it allocated (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"tracemalloc peak {peak / MB:.1f} MB")
    return result, peak


# --- messages ---------------------------------------------------------------------------------


def head(content_type: str, message_id: str = "limit@acme.example") -> bytes:
    return (
        "From: Anna Kowalska <anna.kowalska@acme.example>\r\nTo: desk@nordserv.example\r\n"
        f"Subject: Printer\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def oversized(size: int) -> bytes:
    """A plain message of ``size`` bytes, ending in a line break as mail does."""
    body = head("text/plain")
    return body + b"x" * (size - len(body) - 2) + b"\r\n"


def many_parts(count: int) -> bytes:
    parts = b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % index for index in range(count)
    )
    return head('multipart/mixed; boundary="b"', "parts@acme.example") + parts + b"--b--\r\n"


def nested(depth: int) -> bytes:
    out = [head('multipart/mixed; boundary="b0"', "nested@acme.example")]
    for level in range(1, depth):
        out.append(
            b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (level - 1, level)
        )
    out.append(
        b"--b%d\r\nContent-Type: text/plain\r\n\r\nleaf\r\n--b%d--\r\n" % (depth - 1, depth - 1)
    )
    return b"".join(out)


def with_attachment(name: str, data: bytes, media_type: str, message_id: str) -> bytes:
    return (
        head('multipart/mixed; boundary="b"', message_id)
        + b"--b\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
        + f"--b\r\nContent-Type: {media_type}\r\nContent-Transfer-Encoding: base64\r\n".encode()
        + f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'.encode()
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )


def zip_bomb(expanded: int) -> bytes:
    """A small zip whose one member expands to ``expanded`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("zeros.bin", b"\0" * expanded)
    return buffer.getvalue()


# --- the parser -------------------------------------------------------------------------------


def parse(raw: bytes, **limits: int) -> ParsedEmail | Rejected:
    options = {"max_bytes": DEFAULTS.max_email_bytes, **limits}
    return parse_email(raw, **options)


def test_an_oversized_email_is_refused_before_it_is_parsed() -> None:
    raw = oversized(200 * MB)
    result, peak = peak_of(lambda: parse(raw))
    assert isinstance(result, Rejected)
    assert result.reason == (
        f"message of {len(raw)} bytes is larger than the limit of {DEFAULTS.max_email_bytes}"
    )
    assert peak < MB  # not even one copy of it


def test_thousands_of_parts_are_refused_while_parsing() -> None:
    raw = many_parts(10_000)
    result, peak = peak_of(lambda: parse(raw))
    assert isinstance(result, Rejected) and result.reason == f"more than {MAX_PARTS} MIME parts"
    assert peak < BUDGET
    # A message of ordinary complexity still parses.
    fine = parse(many_parts(MAX_PARTS - 2))
    assert isinstance(fine, ParsedEmail) and fine.body_text.startswith("part 0")


def test_deep_nesting_is_refused_while_parsing() -> None:
    raw = nested(50_000)
    result, peak = peak_of(lambda: parse(raw))
    assert isinstance(result, Rejected)
    assert result.reason == f"MIME parts nested deeper than {MAX_DEPTH} levels"
    assert peak < BUDGET
    assert isinstance(parse(nested(MAX_DEPTH)), ParsedEmail)


def test_a_base64_attachment_far_over_the_limit_is_cut_out_before_parsing() -> None:
    """21 MB decoded against a 10 MB attachment limit, in a message under the message
    limit: the ticket's text survives, the attachment is reported, never decoded."""
    data = os.urandom(21 * MB)
    raw = with_attachment("backup.bin", data, "application/octet-stream", "b64@acme.example")
    assert len(raw) < DEFAULTS.max_email_bytes
    del data
    result, peak = peak_of(lambda: parse(raw, max_part_bytes=DEFAULTS.max_attachment_bytes))
    assert isinstance(result, ParsedEmail), result
    assert result.attachments == [] and result.skipped_attachments == ["backup.bin"]
    assert result.body_text == "See the attachment."
    assert peak < BUDGET


def test_a_forged_cut_marker_is_only_text() -> None:
    """The marker of a cut body is new for every message: a sender cannot fake one."""
    raw = with_attachment(
        "note.txt", b"\0itsm-cut-0000000000000000\0", "text/plain", "forged@acme.example"
    )
    result = parse(raw)
    assert isinstance(result, ParsedEmail)
    assert [a.filename for a in result.attachments] == ["note.txt"]


# --- the intake -------------------------------------------------------------------------------


@pytest.fixture
def desk(sqlite_url: str, clock: ManualClock) -> Iterator[Services]:
    services, _ = build_desk(sqlite_url, clock, alert_webhook_token="alerts")
    yield services
    services.close()


def stored_blobs(desk: Services) -> set[Path]:
    return {p for p in Path(desk.settings.attachments_dir).rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (many_parts(10_000), f"more than {MAX_PARTS} MIME parts"),
        (nested(50_000), f"MIME parts nested deeper than {MAX_DEPTH} levels"),
    ],
    ids=["10,000 parts", "50,000 levels"],
)
def test_the_intake_records_a_bomb_as_rejected_with_its_reason(
    desk: Services, raw: bytes, reason: str
) -> None:
    result, peak = peak_of(lambda: desk.email.receive(raw, received_via="test"))
    assert (result.outcome, result.reason, result.ticket_number) == ("rejected", reason, None)
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.tickets.count() == 0
        [row] = uow.inbound.by_outcome("rejected", 10)
    assert row["reason"] == reason and row["raw_sha256"]  # kept for a person to look at
    assert peak < BUDGET


def test_the_intake_refuses_an_oversized_email_and_keeps_nothing(desk: Services) -> None:
    raw = oversized(DEFAULTS.max_email_bytes + 5 * MB)
    before = stored_blobs(desk)
    result, peak = peak_of(lambda: desk.email.receive(raw, received_via="test"))
    assert result.outcome == "rejected" and "larger than the limit" in result.reason
    assert stored_blobs(desk) == before
    assert peak < BUDGET


def test_the_intake_refuses_an_oversized_email_without_copying_it(desk: Services) -> None:
    raw = oversized(DEFAULTS.max_email_bytes + 5 * MB)
    result, peak = peak_of(lambda: desk.email.receive(raw, received_via="test"))
    assert result.outcome == "rejected"
    assert peak < MB


def test_a_zip_is_only_an_attachment_and_never_unpacked(
    desk: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = zip_bomb(200 * MB)
    assert len(bomb) < MB
    raw = with_attachment("logs.zip", bomb, "application/zip", "zip@acme.example")

    def unpacking(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the intake opened the zip")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", unpacking)
    result, peak = peak_of(lambda: desk.email.receive(raw, received_via="test"))
    assert result.outcome == "ticket_created" and result.ticket_number, result
    _, attachments = desk.collaboration.thread(result.ticket_number, "jan.nowak")
    [stored] = attachments
    assert (stored["display_name"], stored["size"]) == ("logs.zip", len(bomb))
    assert desk.collaboration.download(stored["id"], "jan.nowak").data == bomb
    assert max(p.stat().st_size for p in stored_blobs(desk)) < MB  # nothing expanded
    assert peak < BUDGET


def _intake_with_part_limit(desk: Services) -> EmailIntake:
    """The e-mail intake wired as bootstrap.py should wire it: the parser knows the
    one-attachment limit, so it can cut such a body out before parsing."""
    settings = desk.settings
    return EmailIntake(
        desk.unit_of_work,
        desk.intake,
        FileBlobStore(desk.settings.attachments_dir),
        desk.clock,
        lambda raw: parse_email(
            raw,
            max_bytes=settings.max_email_bytes,
            max_attachment_bytes=settings.max_email_bytes,
            max_part_bytes=settings.max_attachment_bytes,
        ),
        ticket_prefix=settings.ticket_prefix,
        max_attachment_bytes=settings.max_attachment_bytes,
    )


def _attachment_bomb(desk: Services) -> bytes:
    limit = desk.settings.max_attachment_bytes
    return with_attachment(
        "disk-image.bin", os.urandom(12 * limit // 10 * 10), "application/octet-stream", "bomb@a"
    )


@pytest.fixture
def small_limit_desk(sqlite_url: str, clock: ManualClock) -> Iterator[Services]:
    """Attachments up to 1 MB, so a 12 MB attachment is 12 times the limit."""
    services, _ = build_desk(sqlite_url, clock, max_attachment_bytes=MB)
    yield services
    services.close()


def test_an_attachment_far_over_the_limit_costs_little_to_refuse(
    small_limit_desk: Services,
) -> None:
    desk = small_limit_desk
    raw = _attachment_bomb(desk)
    intake = _intake_with_part_limit(desk)
    result, peak = peak_of(lambda: intake.receive(raw, received_via="test"))
    assert result.outcome == "ticket_created", result
    assert result.reason.endswith("; attachments not kept (too large or empty): disk-image.bin")
    assert peak < BUDGET


def test_the_desk_as_built_refuses_an_attachment_bomb_within_the_budget(
    small_limit_desk: Services,
) -> None:
    raw = _attachment_bomb(small_limit_desk)
    result, peak = peak_of(lambda: small_limit_desk.email.receive(raw, received_via="test"))
    assert result.outcome == "ticket_created" and "disk-image.bin" in result.reason
    assert peak < BUDGET


# --- the HTTP API -----------------------------------------------------------------------------


@pytest.fixture
def api(desk: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    token = desk.api_access.create_token("ACME", "limits", "lukasz.kwiatkowski")
    with TestClient(create_api(desk), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def alerts_payload(count: int) -> bytes:
    alert = {
        "labels": {"alertname": "DiskFull", "client": "ACME"},
        "startsAt": "2026-10-05T07:00:00Z",
    }
    return json.dumps({"version": "4", "alerts": [alert] * count}).encode()


def test_an_api_body_over_the_limit_is_refused_by_its_length(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    body = b'{"subject": "' + b"x" * (20 * MB) + b'"}'
    answer, peak = peak_of(lambda: client.post("/api/v1/tickets", content=body, headers=headers))
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"body larger than {DEFAULTS.max_api_body_bytes} bytes"}
    assert peak < BUDGET


def test_a_chunked_api_body_is_refused_once_it_passes_the_limit(desk: Services) -> None:
    """No Content-Length to judge by: the app stops reading at the limit. Driven through
    ASGI directly (the test client would read the whole body before calling the app) with
    an endless body: it never exists in memory as a whole."""
    app = create_api(desk)
    read = [0]

    def endless() -> Iterator[bytes]:
        while read[0] < 500 * MB:
            read[0] += 64 * 1024
            yield b" " * (64 * 1024)

    (status, body), peak = peak_of(
        lambda: asyncio.run(asgi_post(app, "/api/v1/tickets", endless()))
    )
    assert status == 413, body
    assert json.loads(body) == {"detail": f"body larger than {DEFAULTS.max_api_body_bytes} bytes"}
    assert read[0] <= DEFAULTS.max_api_body_bytes + 64 * 1024  # the rest was never asked for
    assert peak < BUDGET


async def asgi_post(app: Any, path: str, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """POST ``chunks`` as a chunked body (no Content-Length): the status and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    status = 0
    answer: list[bytes] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(answer)


def test_json_nested_100k_deep_is_refused(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    body = b"[" * 100_000 + b"]" * 100_000
    answer, peak = peak_of(lambda: client.post("/api/v1/tickets", content=body, headers=headers))
    assert (answer.status_code, answer.json()) == (400, {"detail": "JSON nested too deeply"})
    assert peak < BUDGET


def test_an_alert_notification_with_100k_alerts_is_refused(
    api: tuple[TestClient, dict[str, str]], desk: Services
) -> None:
    client, headers = api
    hook = {**headers, "Authorization": "Bearer alerts"}
    body = alerts_payload(100_000)
    answer, peak = peak_of(
        lambda: client.post("/api/v1/webhooks/alertmanager", content=body, headers=hook)
    )
    assert answer.status_code == 413
    assert peak < BUDGET
    # The most alerts the body limit lets through are still refused by the model, cheaply.
    most = largest_alerts_payload(DEFAULTS.max_api_body_bytes)
    answer, peak = peak_of(
        lambda: client.post("/api/v1/webhooks/alertmanager", content=most, headers=hook)
    )
    assert answer.status_code == 422, answer.text
    assert "at most 1000 items" in answer.text
    assert peak < BUDGET
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.tickets.count() == 0


def largest_alerts_payload(limit: int) -> bytes:
    """As many minimal alerts as fit in ``limit`` bytes."""
    one = len(alerts_payload(1))
    each = len(alerts_payload(2)) - one
    return alerts_payload(1 + (limit - one) // each)


# --- process-level: the resident set's high-water mark ----------------------------------------

PROCESS_PROBE = r"""
import base64, ctypes, gc, json, os, sys
sys.path.insert(0, sys.argv[1])
from tests.security.test_limits import (
    DEFAULTS, MB, largest_alerts_payload, many_parts, nested, oversized, parse,
    with_attachment,
)
from itsm.domain.alerts import AlertNotification

def rss(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)

LIBC = ctypes.CDLL("libc.so.6")

def measure(action):
    gc.collect()
    LIBC.malloc_trim(0)  # freed memory goes back to the system: a rise is new memory
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from the current resident set
    before = rss("VmRSS:")
    action()
    return rss("VmHWM:") - before

def validate(body):
    try:
        AlertNotification.model_validate_json(body)
    except Exception:
        pass

inputs = {
    "oversized e-mail (200 MB)": oversized(200 * MB),
    "10,000 MIME parts": many_parts(10_000),
    "50,000 nested multiparts": nested(50_000),
    "base64 attachment 21 MB over a 10 MB limit": with_attachment(
        "backup.bin", os.urandom(21 * MB), "application/octet-stream", "b64@acme.example"
    ),
    "alerts filling the 1 MB body limit": largest_alerts_payload(DEFAULTS.max_api_body_bytes),
    "JSON nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
}
actions = {
    "oversized e-mail (200 MB)": lambda raw: parse(raw),
    "10,000 MIME parts": lambda raw: parse(raw),
    "50,000 nested multiparts": lambda raw: parse(raw),
    "base64 attachment 21 MB over a 10 MB limit": lambda raw: parse(
        raw, max_part_bytes=DEFAULTS.max_attachment_bytes
    ),
    "alerts filling the 1 MB body limit": validate,
    "JSON nested 100,000 deep": lambda raw: validate(raw),
}
print(json.dumps({name: measure(lambda: actions[name](raw)) for name, raw in inputs.items()}))
"""


def _clear_refs_works() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _clear_refs_works(), reason="needs /proc/self/clear_refs (Linux)")
def test_refusals_stay_within_the_budget_for_the_whole_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROCESS_PROBE, str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rises: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    print({name: f"{rise / MB:.1f} MB" for name, rise in rises.items()})
    assert len(rises) == 6
    over = {name: rise for name, rise in rises.items() if rise >= BUDGET}
    assert over == {}, over
