"""Pages through AppTest: verifying an unverified requester, trying quarantine again, dismissing."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from itsm.bootstrap import Services
from ui import session

AppFor = Callable[..., AppTest]
STRANGER = "+48 777 888 999"
STRANGERS_MAIL = (
    b"From: Nina Nowicka <nina.nowicka@acme.example>\r\nTo: desk@nordserv.example\r\n"
    b"Subject: Scanner offline\r\nMessage-ID: <r1@acme.example>\r\n\r\nPlease help\r\n"
)


def unverified_ticket(desk: Services) -> str:
    number = desk.sms.receive(STRANGER, "Printer is dead", "u-1", client_code="ACME").ticket_number
    assert number is not None
    return number


def test_first_line_verifies_the_requester_on_the_ticket_page(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = unverified_ticket(ui_desk)
    at = app_as("jan.nowak", "views/ticket.py", ticket=number)
    assert not at.exception
    [warning] = [w.value for w in at.warning if "Unverified requester" in w.value]
    assert STRANGER in warning
    at.selectbox[0].set_value("anna.kowalska")
    at.button(key="FormSubmitter:verify_requester-Verify requester").click().run()
    assert any("requester verified" in s.value for s in at.success), [e.value for e in at.error]
    assert not any("Unverified requester" in w.value for w in at.warning)
    details = ui_desk.tickets.details(number, "anna.kowalska")
    assert details.requester.username == "anna.kowalska" and details.ticket.requester_verified


def test_second_line_sees_the_warning_but_cannot_verify(app_as: AppFor, ui_desk: Services) -> None:
    number = unverified_ticket(ui_desk)
    at = app_as("tomasz.lewandowski", "views/ticket.py", ticket=number)
    assert any("Unverified requester" in w.value for w in at.warning)
    assert not any(b.label == "Verify requester" for b in at.button)


def test_lead_tries_a_message_again_once_its_sender_is_known(
    app_as: AppFor, ui_desk: Services
) -> None:
    app_services = session.services()  # the app's own blob store keeps the original
    assert app_services.email.receive(STRANGERS_MAIL, received_via="test").outcome == "quarantined"
    [message] = app_services.quarantine.messages("ewa.kozlowska")
    at = app_as("ewa.kozlowska", "views/quarantine.py")
    at.button(key=f"release.{message['id']}").click().run()
    assert any("Still quarantined" in w.value for w in at.warning)

    with ui_desk.unit_of_work() as uow:
        acme = uow.directory.client_by_code("ACME")
        uow.directory.add_person(
            username="nina.nowicka",
            full_name="Nina Nowicka",
            role="requester",
            client_id=acme.id,
            email="nina.nowicka@acme.example",
        )
        uow.commit()
    at.button(key=f"release.{message['id']}").click().run()
    [done] = [s.value for s in at.success]
    assert done.startswith("Message ticket created (HD-")
    assert "Nothing in quarantine." in [i.value for i in at.info]


def test_lead_dismisses_a_message_with_a_note(app_as: AppFor, ui_desk: Services) -> None:
    app_services = session.services()  # the app's own blob store keeps the text
    app_services.sms.receive("+48 733 000 111", "win a prize now", "spam-1")
    [message] = app_services.quarantine.messages("ewa.kozlowska")
    at = app_as("ewa.kozlowska", "views/quarantine.py")
    at.button(key=f"dismiss.{message['id']}").click().run()
    assert any("say why" in e.value for e in at.error)
    at.text_input(key=f"dismiss.note.{message['id']}").input("Spam")
    at.button(key=f"dismiss.{message['id']}").click().run()
    assert "Message dismissed." in [s.value for s in at.success]
    with ui_desk.unit_of_work(read_only=True) as uow:
        record = uow.inbound.get(message["id"])
    assert (record["outcome"], record["reviewed_by"], record["review_note"]) == (
        "dismissed",
        "ewa.kozlowska",
        "Spam",
    )
