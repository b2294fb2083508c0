"""SMS from numbers nobody has, to a client's gateway: a ticket; its requester is verified later."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.errors import ConflictError, PermissionDenied, ValidationFailed
from itsm.scenarios import ScenarioPlayer, load_scenarios
from itsm.services.accounts import InvalidCredentials
from itsm.settings import PROJECT_ROOT

HOOK = "/api/v1/webhooks/sms"
AUTH = {"Authorization": "Bearer sms-secret"}
STRANGER = "+48 777 888 999"
ANNA = "anna.kowalska"  # an ACME requester in config/demo.toml
ENGINEER = "jan.nowak"  # 1st line
LEAD = "ewa.kozlowska"
ADMIN = "lukasz.kwiatkowski"
L1_RESOLVE = load_scenarios(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json")["l1_resolve"]


def text_in(api: TestClient, text: str, gateway_id: str, **query: str) -> Any:
    return api.post(
        HOOK, params=query, json={"from": STRANGER, "text": text, "id": gateway_id}, headers=AUTH
    )


def unverified_ticket(client: TestClient, gateway_id: str = "gw-1") -> str:
    answer = text_in(client, "Printer on floor 3 is dead", gateway_id, client="ACME")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "ticket_created"
    number: str = answer.json()["ticket_number"]
    return number


def snapshot(desk: Services, number: str) -> tuple[Any, ...]:
    details = desk.tickets.details(number, ADMIN)
    return (
        details.ticket.requester_id,
        details.ticket.requester_verified,
        details.ticket.version,
        len(details.timeline),
        [(t.id, t.assignee) for t in details.tasks],
    )


def test_unknown_number_to_a_clients_gateway_opens_an_unverified_ticket(gateway: Any) -> None:
    client, desk = gateway
    number = unverified_ticket(client)
    details = desk.tickets.details(number, ADMIN)
    ticket = details.ticket
    assert ticket.channel.value == "sms" and details.client.code == "ACME"
    assert ticket.requester_verified is False and ticket.reported_contact == STRANGER
    stand_in = details.requester
    assert stand_in.username == "unverified.acme" and stand_in.full_name == "Unverified requester"
    assert (stand_in.role.value, stand_in.email, stand_in.phone) == ("requester", None, None)
    assert stand_in.client_id == ticket.client_id and not stand_in.active
    # The number could be anyone's: nothing goes back to it, nor to anybody as "requester".
    kinds = [e["kind"] for e in details.timeline]
    assert "requester_unverified" in kinds
    skipped = [e for e in details.timeline if e["kind"] == "notification_skipped"]
    assert any("ticket_registered" in e["summary"] for e in skipped)
    assert all(m["template"] != "ticket_registered" for m in details.notifications)
    assert STRANGER not in [m["recipient"] for m in details.notifications]
    with desk.unit_of_work(read_only=True) as uow:
        row = uow.inbound.find("sms", "gw-1")
    assert row["outcome"] == "ticket_created" and row["ticket_id"] == ticket.id

    # A second stranger's report to the same gateway reuses the one stand-in.
    second = client.post(
        HOOK,
        params={"client": "ACME"},
        json={"from": "+48 111 222 333", "text": "VPN down", "id": "gw-2"},
        headers=AUTH,
    ).json()
    assert desk.tickets.details(second["ticket_number"], ADMIN).requester.id == stand_in.id
    # A redelivery changes nothing.
    before = snapshot(desk, number)
    assert text_in(client, "Printer on floor 3 is dead", "gw-1", client="ACME").json() == {
        "outcome": "duplicate",
        "ticket_number": None,
    }
    assert snapshot(desk, number) == before


def test_the_stand_in_can_never_log_in(gateway: Any) -> None:
    client, desk = gateway
    unverified_ticket(client)
    desk.accounts.set_password("unverified.acme", "a long enough password", ADMIN)
    with pytest.raises(InvalidCredentials):
        desk.accounts.login("unverified.acme", "a long enough password")
    assert "unverified.acme" not in {p.username for p in desk.tickets.client_people("ACME", ADMIN)}


def test_without_a_client_it_is_quarantined_and_a_wrong_client_is_refused(gateway: Any) -> None:
    client, desk = gateway
    kept = text_in(client, "who is this", "q-1")
    assert kept.json() == {"outcome": "quarantined", "ticket_number": None}
    wrong = text_in(client, "hello", "q-2", client="NOPE")
    assert wrong.status_code == 422
    assert "NOPE" in wrong.json()["detail"]
    assert wrong.json()["errors"][0]["field"] == "client"
    with desk.unit_of_work(read_only=True) as uow:
        assert uow.inbound.find("sms", "q-2") is None  # refused: nothing recorded
        assert uow.inbound.find("sms", "q-1")["outcome"] == "quarantined"
        assert uow.tickets.count() == 0


def test_a_known_sender_stays_their_own_requester_whatever_the_gateway(gateway: Any) -> None:
    client, desk = gateway
    answer = client.post(
        HOOK,
        params={"client": "BALT"},
        json={"from": "+48 501 200 311", "text": "Excel crashes", "id": "k-1"},
        headers=AUTH,
    ).json()
    details = desk.tickets.details(answer["ticket_number"], ADMIN)
    assert details.requester.username == ANNA and details.client.code == "ACME"
    assert details.ticket.requester_verified is True


def test_staff_verify_the_requester_in_one_audited_step(gateway: Any) -> None:
    client, desk = gateway
    number = unverified_ticket(client)
    ticket = desk.verification.verify(number, ANNA, ENGINEER)
    assert ticket.requester_verified is True
    details = desk.tickets.details(number, ANNA)  # now hers: she can see it
    assert details.requester.username == ANNA
    assert details.ticket.reported_contact == STRANGER  # where it came from stays on record
    [event] = [e for e in details.timeline if e["kind"] == "requester_verified"]
    assert event["actor"] == ENGINEER and "anna.kowalska" in event["summary"]
    assert event["payload"]["requester"] == ANNA and event["payload"]["verified_by"] == ENGINEER
    assert event["payload"]["replaces"] == "unverified.acme"
    with pytest.raises(ConflictError, match="verified already"):
        desk.verification.verify(number, "marcin.wieczorek", LEAD)


def test_verification_refuses_and_changes_nothing(gateway: Any) -> None:
    client, desk = gateway
    number = unverified_ticket(client)
    before = snapshot(desk, number)
    with pytest.raises(ValidationFailed, match="not a person of client ACME"):
        desk.verification.verify(number, "andrzej.majewski", ENGINEER)  # BALT's
    with pytest.raises(ValidationFailed):
        desk.verification.verify(number, "unverified.acme", ENGINEER)  # the stand-in itself
    with pytest.raises(ValidationFailed):
        desk.verification.verify(number, "nobody.at.all", ENGINEER)
    with pytest.raises(PermissionDenied):
        desk.verification.verify(number, ANNA, "robert.pawlak")  # ACME's coordinator
    with pytest.raises(PermissionDenied):
        desk.verification.verify(number, ANNA, "tomasz.lewandowski")  # 2nd line
    with pytest.raises(PermissionDenied):
        desk.verification.candidates(number, "robert.pawlak")
    assert snapshot(desk, number) == before
    candidates = {p.username for p in desk.verification.candidates(number, LEAD)}
    assert ANNA in candidates and "unverified.acme" not in candidates
    assert "andrzej.majewski" not in candidates


def test_a_waiting_confirmation_moves_to_the_verified_requester(
    gateway: Any, clock: ManualClock
) -> None:
    client, desk = gateway
    number = unverified_ticket(client)
    ScenarioPlayer(desk, clock).play(L1_RESOLVE, number, max_steps=1)  # resolved at 1st line
    [confirm] = [t for t in desk.tickets.details(number, ADMIN).tasks if t.status.value == "open"]
    assert confirm.element_id == "confirm_resolution" and confirm.assignee == "unverified.acme"
    desk.verification.verify(number, ANNA, LEAD)
    assert desk.tasks.task(confirm.id, ANNA).assignee == ANNA
    desk.tasks.complete(confirm.id, {"confirmation": "confirm"}, ANNA)
    assert desk.tickets.details(number, ANNA).ticket.status.value == "closed"


def test_tasks_created_after_verification_go_to_the_verified_requester(
    gateway: Any, clock: ManualClock
) -> None:
    client, desk = gateway
    number = unverified_ticket(client)
    desk.verification.verify(number, ANNA, ENGINEER)
    ScenarioPlayer(desk, clock).play(L1_RESOLVE, number, max_steps=1)
    [confirm] = [t for t in desk.tickets.details(number, ADMIN).tasks if t.status.value == "open"]
    assert confirm.element_id == "confirm_resolution" and confirm.assignee == ANNA
    resolved = [m for m in desk.tickets.details(number, ADMIN).notifications]
    assert any(m["template"] == "resolved" and "anna" in m["recipient"] for m in resolved)
