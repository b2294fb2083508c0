"""Inbound SMS webhook: known senders get tickets and comments, strangers are kept aside."""

from __future__ import annotations

from typing import Any

from itsm.services.sms_intake import phone_key

HOOK = "/api/v1/webhooks/sms"
AUTH = {"Authorization": "Bearer sms-secret"}
ANNA = "+48 501 200 311"  # anna.kowalska in config/demo.toml


def test_phone_numbers_match_in_any_writing() -> None:
    assert phone_key("+48 501 200 311") == phone_key("0048501200311") == phone_key("501-200-311")


def test_sms_opens_a_ticket_then_a_reply_comments_on_it(gateway: Any) -> None:
    client, desk = gateway
    first = client.post(
        HOOK,
        json={"from": "0048501200311", "text": "Printer offline again", "id": "gw-1"},
        headers=AUTH,
    )
    assert first.status_code == 200 and first.json()["outcome"] == "ticket_created"
    number = first.json()["ticket_number"]
    details = desk.tickets.details(number, "jan.nowak")
    assert details.requester.username == "anna.kowalska"
    assert details.ticket.channel.value == "sms"
    reply = client.post(
        HOOK, json={"from": ANNA, "text": f"{number} works now, thanks", "id": "gw-2"}, headers=AUTH
    )
    assert reply.json() == {"outcome": "comment_added", "ticket_number": number}
    again = client.post(
        HOOK, json={"from": ANNA, "text": f"{number} works now, thanks", "id": "gw-2"}, headers=AUTH
    )
    assert again.json()["outcome"] == "duplicate"
    comments, _ = desk.collaboration.thread(number, "jan.nowak")
    assert [c["body"] for c in comments] == [f"{number} works now, thanks"]


def test_another_clients_ticket_number_is_not_a_way_in(gateway: Any) -> None:
    client, desk = gateway
    balt = client.post(
        HOOK, json={"from": "+48 502 300 402", "text": "Mail down", "id": "b-1"}, headers=AUTH
    ).json()  # andrzej.majewski, BALT
    assert balt["outcome"] == "ticket_created"
    sneaky = client.post(
        HOOK, json={"from": ANNA, "text": f"{balt['ticket_number']} hi", "id": "a-1"}, headers=AUTH
    ).json()
    assert sneaky["outcome"] == "ticket_created"  # her own new ticket, not a comment on theirs
    assert sneaky["ticket_number"] != balt["ticket_number"]
    comments, _ = desk.collaboration.thread(balt["ticket_number"], "jan.nowak")
    assert comments == []


def test_unknown_numbers_are_kept_not_lost_and_bad_input_is_refused(gateway: Any) -> None:
    client, desk = gateway
    stranger = client.post(
        HOOK, json={"from": "+1 555 0100", "text": "who is this", "id": "x"}, headers=AUTH
    )
    assert stranger.json() == {"outcome": "quarantined", "ticket_number": None}
    with desk.unit_of_work(read_only=True) as uow:
        kept = uow.inbound.find("sms", "x")
        assert kept["outcome"] == "quarantined" and "who is this" in kept["reason"]
        assert uow.tickets.count() == 0
    assert client.post(HOOK, json={"from": ANNA, "text": "x"}).status_code == 401
    assert client.post(HOOK, json={"from": "abc", "text": "hello"}, headers=AUTH).status_code == 422
    assert client.post(HOOK, json={"from": ANNA, "text": "   "}, headers=AUTH).status_code == 422
