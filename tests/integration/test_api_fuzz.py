"""Schemathesis against the API's own OpenAPI document: no generated request, valid or not,
gets a server error. Bounded here; more examples on demand with ITSM_FUZZ_EXAMPLES."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from itsm.api.app import create_api
from itsm.clock import ManualClock
from itsm.storage.migrate import upgrade_database
from tests.conftest import build_desk

EXAMPLES = int(os.environ.get("ITSM_FUZZ_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    upgrade_database(url)
    desk, _ = build_desk(url, ManualClock(datetime(2026, 10, 5, 7, tzinfo=UTC)))
    token = desk.api_access.create_token("ACME", "fuzz", "lukasz.kwiatkowski")
    yield create_api(desk), token
    desk.close()


def test_no_server_errors_for_any_generated_request(fuzz_target: tuple[Any, str]) -> None:
    app, token = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        call = _fuzzer(operation, token, calls, failures)
        call()
    assert len(calls) == 6, calls  # every operation of the API was exercised
    assert min(calls.values()) >= 5, calls
    assert failures == []


def _fuzzer(operation: Any, token: str, calls: dict[str, int], failures: list[str]) -> Any:
    label = operation.label

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        calls[label] = calls.get(label, 0) + 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> "
                f"{response.status_code}: {response.text[:200]}"
            )

    return call
