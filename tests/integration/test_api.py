"""The HTTP API through its real routes: tokens, client scope, idempotency, bad input."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from itsm.api.app import create_api
from itsm.bootstrap import Services

ADMIN = "lukasz.kwiatkowski"
TICKET = {
    "requester": "anna.kowalska",
    "subject": "ERP export hangs",
    "description": "Since the update",
    "category": "software",
    "urgency": "high",
}


@pytest.fixture
def api(desk: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    acme = {"Authorization": f"Bearer {desk.api_access.create_token('ACME', 'ERP', ADMIN)}"}
    balt = {"Authorization": f"Bearer {desk.api_access.create_token('BALT', 'CRM', ADMIN)}"}
    with TestClient(create_api(desk), raise_server_exceptions=False) as client:
        yield client, acme, balt


def test_create_read_list_and_comment(api: Any, desk: Services) -> None:
    client, acme, _ = api
    created = client.post("/api/v1/tickets", json=TICKET, headers=acme)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"].startswith("HD-") and body["priority"] == "P2"
    assert body["engineer"] and body["channel"] == "api" and body["status"] == "in_progress"
    number = body["number"]
    assert client.get(f"/api/v1/tickets/{number}", headers=acme).json()["number"] == number
    assert number in [t["number"] for t in client.get("/api/v1/tickets", headers=acme).json()]
    comment = client.post(
        f"/api/v1/tickets/{number}/comments", json={"body": "Also fails for CSV"}, headers=acme
    )
    assert comment.status_code == 201 and comment.json()["author"] == "anna.kowalska"
    comments, _ = desk.collaboration.thread(number, "jan.nowak")
    assert [c["body"] for c in comments] == ["Also fails for CSV"]


def test_tokens_are_required_and_scoped_to_their_client(api: Any) -> None:
    client, acme, balt = api
    number = client.post("/api/v1/tickets", json=TICKET, headers=acme).json()["number"]
    assert client.get(f"/api/v1/tickets/{number}").status_code == 401
    assert (
        client.get(
            f"/api/v1/tickets/{number}", headers={"Authorization": "Bearer itsm_forged"}
        ).status_code
        == 401
    )
    assert client.get(f"/api/v1/tickets/{number}", headers=balt).status_code == 404
    assert (
        client.post(
            f"/api/v1/tickets/{number}/comments", json={"body": "x"}, headers=balt
        ).status_code
        == 404
    )
    assert number not in [t["number"] for t in client.get("/api/v1/tickets", headers=balt).json()]
    foreign = client.post(
        "/api/v1/tickets", json={**TICKET, "requester": "anna.kowalska"}, headers=balt
    )
    assert foreign.status_code == 422 and "is not a person of client BALT" in foreign.text


def test_idempotency_key_replays_instead_of_duplicating(api: Any, desk: Services) -> None:
    client, acme, _ = api
    headers = {**acme, "Idempotency-Key": "erp-4711"}
    first = client.post("/api/v1/tickets", json=TICKET, headers=headers)
    again = client.post("/api/v1/tickets", json=TICKET, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["number"] == again.json()["number"]
    changed = client.post("/api/v1/tickets", json={**TICKET, "subject": "Other"}, headers=headers)
    assert changed.status_code == 409
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.tickets.count() == 1


def test_concurrent_retries_with_one_key_make_one_ticket(api: Any, desk: Services) -> None:
    client, acme, _ = api
    headers = {**acme, "Idempotency-Key": "erp-race"}
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def send() -> None:
        barrier.wait()
        codes.append(client.post("/api/v1/tickets", json=TICKET, headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes).count(201) == 1 and set(codes) <= {200, 201, 409}
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.tickets.count() == 1


@pytest.mark.parametrize(
    ("payload", "headers_extra", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 422),
        (b'{"requester": "anna.kowalska"}', {"Content-Type": "application/json"}, 422),
        (
            b'{"requester": "x", "subject": "abc", "description": "d", "urgency": "panic"}',
            {"Content-Type": "application/json"},
            422,
        ),
        (
            b'{"requester": "anna.kowalska", "subject": "abc", "description": "d", "evil": 1}',
            {"Content-Type": "application/json"},
            422,
        ),
        (b"x" * 1_000_001, {"Content-Type": "application/json"}, 413),
    ],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    api: Any, desk: Services, payload: bytes, headers_extra: dict[str, str], status: int
) -> None:
    client, acme, _ = api
    answer = client.post("/api/v1/tickets", content=payload, headers={**acme, **headers_extra})
    assert answer.status_code == status and answer.json()["detail"]
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.tickets.count() == 0
