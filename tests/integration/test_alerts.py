"""Alertmanager and Grafana webhooks with the real payloads from ../shared/external/alerts."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from itsm.api.app import create_api
from itsm.bootstrap import Services
from itsm.clock import ManualClock
from tests.conftest import build_desk

HOOK = "/api/v1/webhooks/alertmanager"
AUTH = {"Authorization": "Bearer monitoring-secret"}


@pytest.fixture
def monitored(database_url: str, clock: ManualClock) -> Iterator[tuple[TestClient, Services]]:
    desk, _ = build_desk(database_url, clock, alert_webhook_token="monitoring-secret")
    with TestClient(create_api(desk), raise_server_exceptions=False) as client:
        yield client, desk
    desk.close()


def payload(external: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((external / "alerts" / name).read_text(encoding="utf-8"))
    return data


def tickets(desk: Services) -> int:
    with desk.unit_of_work(read_only=True) as uow:
        return int(uow.tickets.count())


def test_ten_notifications_of_one_firing_alert_make_one_ticket_and_resolve_it(
    monitored: Any, external: Path
) -> None:
    client, desk = monitored
    firing = payload(external, "alertmanager/zulip-alert.json")
    firing["alerts"] = firing["alerts"][:1]
    for _ in range(10):  # Alertmanager repeats until resolved
        answer = client.post(f"{HOOK}?client=ACME", json=firing, headers=AUTH)
        assert answer.status_code == 200, answer.text
    assert tickets(desk) == 1
    [outcome] = answer.json()["outcomes"]
    assert outcome["outcome"] == "duplicate" and outcome["ticket_number"]
    number = outcome["ticket_number"]
    details = desk.tickets.details(number, "jan.nowak")
    assert details.ticket.channel.value == "monitoring"
    assert details.ticket.priority == "P1"  # severity critical → high impact and urgency
    resolved = copy.deepcopy(firing)
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2020-02-06T00:40:00Z"
    for _ in range(2):
        answer = client.post(f"{HOOK}?client=ACME", json=resolved, headers=AUTH)
        assert answer.status_code == 200, answer.text
    details = desk.tickets.details(number, "jan.nowak")
    kinds = [e["kind"] for e in details.timeline]
    assert kinds.count("alert_resolved") == 1 and kinds.count("alert") == 1
    # The model's "alert resolved at source" event closed it from the 1st-line queue.
    assert details.ticket.status.value == "closed"
    assert details.ticket.closure is not None and details.ticket.closure.value == ("alert_cleared")
    assert details.ticket.resolved_at is not None
    assert kinds.count("message_caught") == 1
    assert [t.status.value for t in details.tasks if t.status.value == "open"] == []


def test_a_group_incident_stays_open_until_every_alert_resolved(
    monitored: Any, external: Path
) -> None:
    client, desk = monitored
    grouped = payload(external, "alertmanager/zulip-alert.json")  # 2 alerts, 1 group
    number = client.post(f"{HOOK}?client=ACME", json=grouped, headers=AUTH).json()["outcomes"][0][
        "ticket_number"
    ]
    for index in range(2):
        resolved = copy.deepcopy(grouped)
        resolved["alerts"] = [resolved["alerts"][index]]
        resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
        client.post(f"{HOOK}?client=ACME", json=resolved, headers=AUTH)
        status = desk.tickets.details(number, "jan.nowak").ticket.status.value
        assert status == ("in_progress" if index == 0 else "closed")


def test_resolutions_only_recorded_when_closing_is_switched_off(
    database_url: str, clock: ManualClock, external: Path
) -> None:
    desk, _ = build_desk(
        database_url,
        clock,
        alert_webhook_token="monitoring-secret",
        close_incident_when_alerts_resolve=False,
    )
    with TestClient(create_api(desk), raise_server_exceptions=False) as client:
        firing = payload(external, "alertmanager/zulip-alert.json")
        firing["alerts"] = firing["alerts"][:1]
        number = client.post(f"{HOOK}?client=ACME", json=firing, headers=AUTH).json()["outcomes"][
            0
        ]["ticket_number"]
        firing["status"] = firing["alerts"][0]["status"] = "resolved"
        client.post(f"{HOOK}?client=ACME", json=firing, headers=AUTH)
    assert desk.tickets.details(number, "jan.nowak").ticket.status.value == "in_progress"
    desk.close()


def test_alerts_of_one_group_join_one_incident(monitored: Any, external: Path) -> None:
    client, desk = monitored
    grouped = payload(external, "alertmanager/zulip-alert.json")  # 2 alerts, 1 group
    first = client.post(f"{HOOK}?client=ACME", json=grouped, headers=AUTH).json()["outcomes"]
    assert [o["outcome"] for o in first] == ["ticket_created", "linked"]
    assert first[0]["ticket_number"] == first[1]["ticket_number"]
    again = client.post(f"{HOOK}?client=ACME", json=grouped, headers=AUTH).json()["outcomes"]
    assert [o["outcome"] for o in again] == ["duplicate", "duplicate"]
    assert tickets(desk) == 1


def test_client_label_wins_and_other_payloads_are_accepted(monitored: Any, external: Path) -> None:
    client, desk = monitored
    teams = payload(external, "alertmanager/prometheus-msteams-prom_post_request.json")
    for alert in teams["alerts"]:
        alert["labels"]["client"] = "BALT"
    answer = client.post(HOOK, json=teams, headers=AUTH)
    assert answer.status_code == 200, answer.text
    number = answer.json()["outcomes"][0]["ticket_number"]
    assert desk.tickets.details(number, "jan.nowak").client.code == "BALT"
    no_url = payload(external, "alertmanager/zulip-single_alert_no_url.json")
    assert client.post(f"{HOOK}?client=ACME", json=no_url, headers=AUTH).status_code == 200


def test_grafana_resolved_without_a_firing_is_recorded_not_invented(
    monitored: Any, external: Path
) -> None:
    client, desk = monitored
    grafana = payload(external, "grafana/zulip-alert-9-resolved.json")
    answer = client.post(f"{HOOK}?client=ACME", json=grafana, headers=AUTH)
    assert answer.status_code == 200
    assert [o["outcome"] for o in answer.json()["outcomes"]] == ["ignored"]
    assert tickets(desk) == 0


@pytest.mark.parametrize(
    "name",
    [
        "zabbix/zulip-zabbix_alert.json",
        "zabbix/zulip-zabbix_invalid_payload_with_missing_data.json",
    ],
)
def test_foreign_formats_get_a_4xx_with_a_reason(monitored: Any, external: Path, name: str) -> None:
    client, desk = monitored
    answer = client.post(f"{HOOK}?client=ACME", json=payload(external, name), headers=AUTH)
    assert answer.status_code == 422 and "alerts" in answer.text
    assert tickets(desk) == 0


def test_webhook_needs_its_token_and_a_known_client(monitored: Any, external: Path) -> None:
    client, desk = monitored
    body = payload(external, "alertmanager/zulip-alert.json")
    assert client.post(f"{HOOK}?client=ACME", json=body).status_code == 401
    assert (
        client.post(
            f"{HOOK}?client=ACME", json=body, headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    unknown = client.post(f"{HOOK}?client=NOPE", json=body, headers=AUTH)
    assert unknown.status_code == 422 and "NOPE" in unknown.text
    missing = client.post(HOOK, json=body, headers=AUTH)
    assert missing.status_code == 422 and "client" in missing.text
    assert tickets(desk) == 0
