"""Fixtures and helpers shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from itsm.api.app import create_api
from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from tests.conftest import build_desk


@pytest.fixture
def gateway(database_url: str, clock: ManualClock) -> Iterator[tuple[TestClient, Services]]:
    """The HTTP API of a seeded desk whose SMS webhook takes the token "sms-secret"."""
    desk, _ = build_desk(database_url, clock, sms_webhook_token="sms-secret")
    with TestClient(create_api(desk), raise_server_exceptions=False) as client:
        yield client, desk
    desk.close()


def text_mail(*, sender: str, subject: str, message_id: str, body: str) -> bytes:
    """A plain-text e-mail as a mail server would hand it over."""
    return (
        f"From: {sender}\r\nTo: desk@nordserv.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 05 Oct 2026 09:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def register(desk: Services) -> str:
    """A portal ticket of ACME's requester Anna; its number."""
    command = NewTicket(
        client_code="ACME",
        requester="anna.kowalska",
        channel="portal",
        category="hardware",
        subject="Mouse dead",
        description="-",
    )
    return desk.intake.register(command, "anna.kowalska").number
