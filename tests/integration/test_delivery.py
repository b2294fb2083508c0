"""Notification delivery: real SMTP on loopback, retries with backoff, and no loss when a
worker dies mid-batch."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from itsm.bootstrap import Services
from itsm.channels.rendering import TemplateRenderer
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from itsm.services.delivery import backoff
from itsm.settings import PROJECT_ROOT
from tasks.notifications import TEMPLATES
from tests.conftest import build_desk


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps what it receives (optionally slowly)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[Message] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            time.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def register(desk: Services, client: str, requester: str) -> str:
    command = NewTicket(
        client_code=client,
        requester=requester,
        channel="portal",
        category="network",
        subject="VPN drops",
        description="hourly",
    )
    return desk.intake.register(command, requester).number


def test_every_template_renders_in_both_languages() -> None:
    renderer = TemplateRenderer()
    context = {
        "ticket_number": "HD-2026-000001",
        "subject": "VPN\nBcc: x@evil.example",
        "recipient_name": "Anna",
        "engineer_name": "Jan Nowak",
        "coordinator_name": "Robert Pawlak",
        "vendor_name": "Orange",
        "change_type": "permission_change",
        "message": "Which printer is it?",
    }
    for template in TEMPLATES:
        for language in ("pl", "en"):
            assert (
                PROJECT_ROOT / "itsm/channels/templates" / language / f"{template}.txt"
            ).exists()
            rendered = renderer.render(template, language, context)
            assert "HD-2026-000001" in rendered.subject + rendered.body
            assert "\n" not in rendered.subject  # no header injection through a subject


def test_notifications_go_out_in_the_clients_language(
    database_url: str, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    desk, _ = build_desk(database_url, clock, smtp_port=port)
    try:
        polish = register(desk, "ACME", "anna.kowalska")
        english = register(desk, "ORBIS", "karolina.piotrowska")
        report = desk.delivery.deliver_due("worker-1")
        assert (report.sent, report.retrying, report.failed) == (4, 0, 0)
        by_ticket = {m["X-ITSM-Ticket"]: [] for m in box.messages}
        for message in box.messages:
            by_ticket[message["X-ITSM-Ticket"]].append(message)
        assert all(m["Subject"].startswith("Zgłoszenie") for m in by_ticket[polish])
        assert all(m["Subject"].startswith("Ticket") for m in by_ticket[english])
        stored = desk.tickets.details(polish, "jan.nowak").notifications
        assert {m["message_id"] for m in stored} == {
            m["Message-ID"].strip() for m in by_ticket[polish]
        }
        assert {m["status"] for m in stored} == {"sent"}
        assert all(m["Auto-Submitted"] == "auto-generated" for m in box.messages)
        assert desk.delivery.deliver_due("worker-1").sent == 0  # nothing twice
    finally:
        desk.close()


def test_unreachable_server_means_retry_with_backoff_then_delivery(
    sqlite_url: str, clock: ManualClock
) -> None:
    port = free_port()  # nothing listens here yet
    desk, _ = build_desk(sqlite_url, clock, smtp_port=port, outbox_max_attempts=3)
    try:
        number = register(desk, "ACME", "anna.kowalska")
        first = desk.delivery.deliver_due("w")
        assert (first.sent, first.retrying) == (0, 2) and "SMTP" in first.errors[0]
        assert desk.delivery.deliver_due("w").retrying == 0  # not due again yet
        pending = desk.tickets.details(number, "jan.nowak").notifications
        assert {(m["status"], m["attempts"]) for m in pending} == {("pending", 1)}
        assert all(m["next_attempt_at"] == clock.now() + backoff(1) for m in pending)
        box = Mailbox()
        controller = Controller(box, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            clock.advance(backoff(1))
            assert desk.delivery.deliver_due("w").sent == 2
            assert len(box.messages) == 2
        finally:
            controller.stop()
    finally:
        desk.close()


def test_gives_up_after_the_last_attempt_but_keeps_the_message(
    sqlite_url: str, clock: ManualClock
) -> None:
    desk, _ = build_desk(sqlite_url, clock, smtp_port=free_port(), outbox_max_attempts=2)
    try:
        number = register(desk, "ACME", "anna.kowalska")
        desk.delivery.deliver_due("w")
        clock.advance(timedelta(hours=1))
        last = desk.delivery.deliver_due("w")
        assert last.failed == 2
        stored = desk.tickets.details(number, "jan.nowak").notifications
        assert {m["status"] for m in stored} == {"failed"}
        assert all(m["last_error"] for m in stored)
    finally:
        desk.close()


def test_sms_goes_through_the_http_gateway(sqlite_url: str, clock: ManualClock) -> None:
    received: list[dict[str, Any]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(
                {"auth": self.headers["Authorization"], **json.loads(self.rfile.read(length))}
            )
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    desk, _ = build_desk(sqlite_url, clock, sms_gateway_url=url, sms_gateway_token="t0ken")
    try:
        with desk.unit_of_work() as uow:
            acme = uow.directory.client_by_code("ACME")
            uow.directory.add_person(
                username="no.email",
                full_name="No Email",
                role="requester",
                client_id=acme.id,
                phone="+48 600 000 001",
            )
            uow.commit()
        register(desk, "ACME", "no.email")
        assert desk.delivery.deliver_due("w").sent == 2
        assert {r["to"] for r in received} == {"+48 600 000 001"}
        assert all(r["auth"] == "Bearer t0ken" and r["id"] and "HD-" in r["text"] for r in received)
    finally:
        server.shutdown()
        server.server_close()
        desk.close()


def test_a_worker_killed_mid_batch_loses_no_notification(
    sqlite_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    box = Mailbox(delay=0.05)
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    desk, _ = build_desk(sqlite_url, clock, smtp_port=port)
    try:
        for _ in range(15):
            register(desk, "ACME", "anna.kowalska")  # 2 notifications each
        env = {
            **os.environ,
            "ITSM_DATABASE_URL": sqlite_url,
            "ITSM_SMTP_PORT": str(port),
            "ITSM_OUTBOX_LEASE_SECONDS": "2",
            "ITSM_ATTACHMENTS_DIR": str(tmp_path),
        }
        command = [
            sys.executable,
            "-c",
            "from itsm.cli import app; app()",
            "outbox",
            "deliver",
            "--batch",
            "100",
        ]
        worker = subprocess.Popen(
            [*command, "--worker", "doomed"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(box.messages) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)  # mid-batch: some sent, none or few marked
        worker.wait(timeout=10)
        assert 8 <= len(box.messages) < 30
        time.sleep(2.2)  # the dead worker's lease runs out
        survivor = subprocess.run(
            [*command, "--worker", "survivor"], env=env, timeout=120, capture_output=True, text=True
        )
        assert survivor.returncode == 0, survivor.stderr
        with desk.unit_of_work(read_only=True) as uow:
            assert uow.outbox.counts() == {"sent": 30}
        ids = [m["Message-ID"].strip() for m in box.messages]
        assert len(set(ids)) == 30  # every notification arrived at least once
        # A resend after the crash carries the same Message-ID, so it is recognisable.
        assert len(ids) - len(set(ids)) <= 30
    finally:
        desk.close()
        controller.stop()


@pytest.mark.parametrize("template", ["sla_warning", "sla_breach", "monthly_report"])
@pytest.mark.parametrize("language", ["pl", "en"])
def test_service_templates_render_in_both_languages(template: str, language: str) -> None:
    context = {
        "ticket_number": "HD-2026-000001",
        "subject": "VPN",
        "recipient_name": "Ewa",
        "client_name": "ACME",
        "sla_tier": "gold",
        "priority": "P2",
        "clock": "reaction",
        "clock_pl": "reakcję",
        "percent": 75,
        "due_at": "2026-10-05 10:00",
        "engineer_name": "Jan Nowak",
        "month": "2026-10",
    }
    rendered = TemplateRenderer().render(template, language, context)
    assert "\n" not in rendered.subject
    assert ("2026-10" in rendered.subject) or ("HD-2026-000001" in rendered.subject)
