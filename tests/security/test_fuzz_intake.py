"""Fuzzing every intake parser (issue 7, item 9): e-mail, SMS, alert payloads and API bodies.

Each channel gets generated input of two kinds: arbitrary values (bytes, text, JSON of any
shape) and the real inputs of ../shared/external mutated (bytes flipped, cut, spliced; JSON
values replaced at random paths). The input goes through the real parser *and* the service or
HTTP route behind it, on a real SQLite desk. What counts as handled: a result, a refusal that
is one of the product's errors (``ItsmError``), or an HTTP answer below 500. Anything else —
an exception escaping, a 5xx — fails the test with the input that caused it.

CI runs a bounded sample; ``ITSM_FUZZ_EXAMPLES=10000`` runs 10k inputs per channel and
``-s`` prints each channel's tally (docs/reliability.md has the figures).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsm.api.app import create_api
from itsm.bootstrap import Services
from itsm.channels.email_message import ParsedEmail, Rejected, parse_email
from itsm.clock import ManualClock
from itsm.domain.errors import ItsmError
from itsm.storage.migrate import upgrade_database
from tests.conftest import EXTERNAL_DIR, build_desk

EXAMPLES = int(os.environ.get("ITSM_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ITSM_FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
    database=None,
)
SMS_TOKEN, ALERT_TOKEN = "sms-fuzz-secret", "alert-fuzz-secret"

REAL_MAILS = sorted((EXTERNAL_DIR / "email").rglob("*.eml"))
REAL_ALERTS = sorted((EXTERNAL_DIR / "alerts").rglob("*.json"))


@dataclass
class Tally:
    """Inputs per channel and the ones that were not handled (with what escaped)."""

    inputs: Counter[str] = field(default_factory=Counter)
    unhandled: dict[str, list[str]] = field(default_factory=dict)

    def count(self, channel: str) -> None:
        self.inputs[channel] += 1

    def fail(self, channel: str, given_input: object, err: BaseException | str) -> None:
        self.unhandled.setdefault(channel, []).append(f"{err!r} for {given_input!r:.300}")

    def report(self, channel: str) -> str:
        return (
            f"fuzz {channel}: {self.inputs[channel]} inputs, "
            f"{len(self.unhandled.get(channel, []))} unhandled"
        )


@dataclass
class Target:
    desk: Services
    client: TestClient
    api_token: str
    tally: Tally


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    url = f"sqlite:///{tmp_path_factory.mktemp('intake-fuzz') / 'fuzz.db'}"
    upgrade_database(url)
    desk, _ = build_desk(
        url,
        ManualClock(datetime(2026, 10, 5, 7, tzinfo=UTC)),
        sms_webhook_token=SMS_TOKEN,
        alert_webhook_token=ALERT_TOKEN,
        email_tickets_per_sender_per_hour=1_000_000,  # the limit is tested elsewhere
    )
    token = desk.api_access.create_token("ACME", "fuzz", "lukasz.kwiatkowski")
    with TestClient(create_api(desk), raise_server_exceptions=True) as client:
        yield Target(desk, client, token, Tally())
    desk.close()


def post(target: Target, channel: str, url: str, given_input: object, **request: Any) -> None:
    """POST through the real app; a 5xx is counted as unhandled (an exception escapes)."""
    response = target.client.post(url, **request)
    if response.status_code >= 500:
        target.tally.fail(
            channel, given_input, f"HTTP {response.status_code}: {response.text[:200]}"
        )


def assert_all_handled(target: Target, channel: str) -> None:
    print(target.tally.report(channel))
    assert target.tally.inputs[channel] >= min(EXAMPLES, 50)
    assert target.tally.unhandled.get(channel, []) == []


# --- mutations of real input ------------------------------------------------------------------


@st.composite
def mutated_bytes(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real input with a few byte-level edits: flips, inserts, deletions, a cut, a splice."""
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut", "splice", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            noise = draw(
                st.one_of(
                    st.binary(max_size=40),
                    st.sampled_from(
                        [
                            b"\r\n",
                            b"\r\n\r\n",
                            b"--",
                            b"=?utf-8?b?",
                            b"?=",
                            b"\x00",
                            b"\xff\xfe",
                            b"Content-Type: multipart/mixed; boundary=x\r\n",
                            b"=\r\n",
                            b"<script>",
                        ]
                    ),
                )
            )
            data[at:at] = noise
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "cut":
            del data[at:]
        elif kind == "splice":
            other = draw(st.sampled_from(originals))
            start = draw(st.integers(0, max(len(other) - 1, 0)))
            data[at:at] = other[start : start + draw(st.integers(1, 2000))]
        elif kind == "repeat" and data:
            data[at:at] = data[at : at + 50] * draw(st.integers(2, 20))
    return bytes(data)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
    st.sampled_from(["", "firing", "resolved", "ACME", "<img src=x onerror=alert(1)>", "\x00"]),
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def mutated_json(draw: st.DrawFn, originals: list[Any]) -> Any:
    """A real payload with values replaced, keys dropped or added at random paths."""
    data = json.loads(json.dumps(draw(st.sampled_from(originals))))
    for _ in range(draw(st.integers(1, 6))):
        node: Any = data
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            child = draw(
                st.sampled_from(list(node) if isinstance(node, dict) else range(len(node)))
            )
            if not isinstance(node[child], dict | list):
                break
            node = node[child]
        if isinstance(node, dict):
            keys = list(node)
            action = draw(st.sampled_from(["replace", "drop", "add"]))
            if action == "replace" and keys:
                node[draw(st.sampled_from(keys))] = draw(ANY_JSON)
            elif action == "drop" and keys:
                node.pop(draw(st.sampled_from(keys)))
            else:
                node[draw(st.text(max_size=20))] = draw(ANY_JSON)
        elif isinstance(node, list):
            if node and draw(st.booleans()):
                node[draw(st.integers(0, len(node) - 1))] = draw(ANY_JSON)
            else:
                node.extend(draw(st.lists(ANY_JSON, max_size=3)))
    return data


def _real_mails() -> list[bytes]:
    return [path.read_bytes() for path in REAL_MAILS]


def _real_alerts() -> list[Any]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in REAL_ALERTS]


# --- e-mail -----------------------------------------------------------------------------------

HEADER_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120
) | st.sampled_from(["=?utf-8?q?=E2=82=AC?=", "=?x-unknown?b?AAAA?=", "<a@b>", "", "\r\n x"])


@st.composite
def built_mails(draw: st.DrawFn) -> bytes:
    """A message assembled from arbitrary headers and body parts (valid or not)."""
    headers = {
        name: draw(HEADER_TEXT)
        for name in draw(
            st.sets(
                st.sampled_from(
                    [
                        "From",
                        "Reply-To",
                        "Subject",
                        "Message-ID",
                        "In-Reply-To",
                        "References",
                        "Content-Type",
                        "Content-Transfer-Encoding",
                        "Auto-Submitted",
                        "To",
                        "Content-Disposition",
                        "MIME-Version",
                        "X-Autoreply",
                        "Return-Path",
                    ]
                ),
                max_size=10,
            )
        )
    }
    if draw(st.booleans()):
        headers["From"] = draw(st.sampled_from(["anna.kowalska@acme.example", "x@y.z", "<>"]))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    body = draw(st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


EMAIL_INPUT = st.one_of(st.binary(max_size=3000), built_mails(), mutated_bytes(_real_mails()))


@FUZZ
@given(raw=EMAIL_INPUT)
def _fuzz_email(target: Target, raw: bytes) -> None:
    target.tally.count("email")
    try:
        parsed = parse_email(raw, max_bytes=200_000)
        if not isinstance(parsed, ParsedEmail | Rejected):
            target.tally.fail("email", raw, f"parse_email returned {type(parsed).__name__}")
        target.desk.email.receive(raw, received_via="fuzz")
    except ItsmError:
        pass
    except Exception as err:
        target.tally.fail("email", raw, err)


def test_every_generated_email_is_parsed_kept_or_refused(target: Target) -> None:
    _fuzz_email(target)
    assert_all_handled(target, "email")


# --- SMS --------------------------------------------------------------------------------------

PHONES = st.sampled_from(["+48 600 100 200", "+48600100201", "0048 600 100 202", "600100200"])
SMS_BODY = st.one_of(
    st.fixed_dictionaries(
        {"from": PHONES | st.text(max_size=50), "text": st.text(max_size=2100)},
        optional={"id": st.text(max_size=210) | st.none()},
    ),
    ANY_JSON,
)


@FUZZ
@given(body=SMS_BODY, client=st.none() | st.sampled_from(["ACME", "BALT", "", "nope"]))
def _fuzz_sms(target: Target, body: Any, client: str | None) -> None:
    target.tally.count("sms")
    query = "" if client is None else f"?client={client}"
    try:
        auth = {"Authorization": f"Bearer {SMS_TOKEN}"}
        post(target, "sms", f"/api/v1/webhooks/sms{query}", body, json=body, headers=auth)
        if isinstance(body, dict) and isinstance(body.get("from"), str):
            target.desk.sms.receive(
                body["from"], str(body.get("text", "")), None, client_code=client
            )
    except ItsmError:
        pass
    except Exception as err:
        target.tally.fail("sms", body, err)


def test_every_generated_sms_is_handled(target: Target) -> None:
    _fuzz_sms(target)
    assert_all_handled(target, "sms")


# --- alert payloads (Alertmanager, Grafana, Zabbix) -------------------------------------------

ALERT_BODY = st.one_of(mutated_json(_real_alerts()), ANY_JSON)


@FUZZ
@given(body=ALERT_BODY, client=st.none() | st.sampled_from(["ACME", "nope"]))
def _fuzz_alerts(target: Target, body: Any, client: str | None) -> None:
    target.tally.count("alerts")
    query = "" if client is None else f"?client={client}"
    try:
        auth = {"Authorization": f"Bearer {ALERT_TOKEN}"}
        post(
            target, "alerts", f"/api/v1/webhooks/alertmanager{query}", body, json=body, headers=auth
        )
    except Exception as err:
        target.tally.fail("alerts", body, err)


def test_every_generated_alert_payload_is_handled(target: Target) -> None:
    _fuzz_alerts(target)
    assert_all_handled(target, "alerts")


# --- API bodies -------------------------------------------------------------------------------

VALID_TICKET = {
    "requester": "anna.kowalska",
    "category": "software",
    "subject": "Outlook does not start",
    "description": "Since this morning",
    "impact": "medium",
    "urgency": "high",
}


@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    """Bytes that are JSON only sometimes: cut, mis-encoded or deeply nested."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=500))
    if choice == 1:
        return ("[" * draw(st.integers(1, 5000))).encode()
    text = json.dumps(draw(mutated_json([VALID_TICKET])))
    return text[: draw(st.integers(0, len(text)))].encode() if choice == 2 else text.encode()


API_BODY = st.one_of(mutated_json([VALID_TICKET]), ANY_JSON)


@FUZZ
@given(
    body=API_BODY | raw_bodies(),
    key=st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
)
def _fuzz_api(target: Target, body: Any, key: str | None) -> None:
    target.tally.count("api")
    headers = {"Authorization": f"Bearer {target.api_token}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        post(target, "api", "/api/v1/tickets", body, content=content, headers=headers)
    except Exception as err:
        target.tally.fail("api", body, err)


def test_every_generated_api_body_is_handled(target: Target) -> None:
    _fuzz_api(target)
    assert_all_handled(target, "api")


def test_the_fuzzers_start_from_the_real_inputs() -> None:
    assert len(REAL_MAILS) >= 20 and len(REAL_ALERTS) >= 5
    assert Path(REAL_MAILS[0]).suffix == ".eml"
