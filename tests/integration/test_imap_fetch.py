"""``itsm mail fetch`` against a real IMAP server: a throw-away dovecot per test module."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from itsm.bootstrap import Services
from itsm.channels.imap_mailbox import ImapMailbox
from itsm.cli import app
from itsm.clock import ManualClock
from itsm.services.mail_polling import Mailbox, MailPoller
from tests.conftest import IN_CI, build_desk

# Dovecot delays repeated failed logins from one address (anvil's auth penalty, seconds):
# only one test logs in with a wrong password.
INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd"
USERS = ("new", "again", "crash", "auto", "wrong", "fails")
PASSWORD = "imap-test-secret"


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int

    def client(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(user, PASSWORD)
        client.select("INBOX")
        return client

    def deliver(self, user: str, raw: bytes) -> None:
        client = self.client(user)
        try:
            status, _ = client.append("INBOX", None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def unseen(self, user: str) -> int:
        client = self.client(user)
        try:
            _, data = client.uid("SEARCH", "UNSEEN")
            return len(data[0].split()) if data and data[0] else 0
        finally:
            client.logout()

    def settings(self, user: str, password: str = PASSWORD) -> dict[str, Any]:
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_ssl": False,
            "imap_user": user,
            "imap_password": password,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(base: Path, port: int) -> Path:
    """Dovecot 2.3 (Debian 12): plaintext login on loopback, users from a passwd-file."""
    if os.getuid() == 0:  # dovecot refuses to run logins or mail as root
        internal, login, mail = "dovecot", "dovenull", pwd.getpwnam("dovecot")
    else:
        me = pwd.getpwuid(os.getuid())
        internal = login = me.pw_name
        mail = me
    homes = base / "home"
    homes.mkdir()
    lines = []
    for user in USERS:
        home = homes / user
        home.mkdir()
        os.chown(home, mail.pw_uid, mail.pw_gid)
        lines.append(f"{user}:{{PLAIN}}{PASSWORD}:{mail.pw_uid}:{mail.pw_gid}::{home}::")
    (base / "passwd").write_text("\n".join(lines) + "\n")
    conf = base / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = {base}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot")
    if binary is None:
        message = f"dovecot is not installed: {INSTALL}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # Short and traversable: login processes (another user) reach sockets in base_dir.
    base = Path(tempfile.mkdtemp(prefix="itsm-dovecot-"))
    base.chmod(0o755)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "-F", "-c", str(_config(base, port))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    if conn.recv(64).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = base / "dovecot.log"
                raise RuntimeError(
                    "dovecot did not start: " + (log.read_text() if log.exists() else "no log")
                )
            time.sleep(0.05)
        yield Dovecot("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


def mail(message_id: str, subject: str, *headers: str) -> bytes:
    extra = "".join(f"{header}\r\n" for header in headers)
    return (
        f"From: Anna Kowalska <anna.kowalska@acme.example>\r\nTo: desk@nordserv.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{message_id}@acme.example>\r\n{extra}\r\n"
        f"{subject}, please help.\r\n"
    ).encode()


def desk_for(url: str, clock: ManualClock, dovecot: Dovecot, user: str) -> Services:
    services, _ = build_desk(url, clock, **dovecot.settings(user))
    return services


def tickets(desk: Services) -> int:
    with desk.unit_of_work(read_only=True) as uow:
        count: int = uow.tickets.count()
        return count


def test_new_mail_becomes_a_ticket_and_is_marked_seen(
    sqlite_url: str, clock: ManualClock, dovecot: Dovecot
) -> None:
    dovecot.deliver("new", mail("imap-new-1", "Printer jams"))
    desk = desk_for(sqlite_url, clock, dovecot, "new")
    try:
        assert desk.mail_poller is not None
        report = desk.mail_poller.poll()
        assert (report.fetched, dict(report.outcomes), report.errors) == (
            1,
            {"ticket_created": 1},
            [],
        )
        assert tickets(desk) == 1
        assert dovecot.unseen("new") == 0
        with desk.unit_of_work(read_only=True) as uow:
            events = uow.audit.for_ticket(1)
        vias = [(e.get("payload") or {}).get("received_via") for e in events]
        assert "imap:new@127.0.0.1/INBOX" in vias
    finally:
        desk.close()


def test_second_poll_fetches_nothing(sqlite_url: str, clock: ManualClock, dovecot: Dovecot) -> None:
    dovecot.deliver("again", mail("imap-again-1", "VPN drops"))
    desk = desk_for(sqlite_url, clock, dovecot, "again")
    try:
        assert desk.mail_poller is not None
        assert desk.mail_poller.poll().outcomes["ticket_created"] == 1
        second = desk.mail_poller.poll()
        assert (second.fetched, sum(second.outcomes.values()), second.errors) == (0, 0, [])
        assert tickets(desk) == 1
    finally:
        desk.close()


class CrashAfterReceive(MailPoller):
    def _mark(self, mailbox: Mailbox, uid: str) -> None:
        raise RuntimeError("power cut between commit and \\Seen")


def test_crash_between_receive_and_mark_is_neither_lost_nor_doubled(
    sqlite_url: str, clock: ManualClock, dovecot: Dovecot
) -> None:
    dovecot.deliver("crash", mail("imap-crash-1", "Outlook crashes"))
    desk = desk_for(sqlite_url, clock, dovecot, "crash")
    try:
        assert desk.mail_poller is not None

        def open_mailbox() -> Mailbox:
            return ImapMailbox.open(dovecot.host, dovecot.port, "crash", PASSWORD, use_ssl=False)

        with pytest.raises(RuntimeError, match="power cut"):
            CrashAfterReceive(open_mailbox, desk.email).poll()
        assert tickets(desk) == 1
        assert dovecot.unseen("crash") == 1

        report = desk.mail_poller.poll()
        assert (report.fetched, dict(report.outcomes)) == (1, {"duplicate": 1})
        assert tickets(desk) == 1
        assert dovecot.unseen("crash") == 0
        assert desk.mail_poller.poll().fetched == 0
    finally:
        desk.close()


def test_auto_reply_is_ignored_and_marked_seen(
    sqlite_url: str, clock: ManualClock, dovecot: Dovecot
) -> None:
    dovecot.deliver("auto", mail("imap-auto-1", "Out of office", "Auto-Submitted: auto-replied"))
    desk = desk_for(sqlite_url, clock, dovecot, "auto")
    try:
        assert desk.mail_poller is not None
        report = desk.mail_poller.poll()
        assert dict(report.outcomes) == {"ignored": 1}
        assert tickets(desk) == 0
        assert dovecot.unseen("auto") == 0
    finally:
        desk.close()


def test_wrong_password_is_a_clear_error_and_nothing_is_lost(
    sqlite_url: str,
    clock: ManualClock,
    dovecot: Dovecot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.deliver("wrong", mail("imap-wrong-1", "Monitor flickers"))
    build_desk(sqlite_url, clock)[0].close()
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "blobs"))
    for name, value in dovecot.settings("wrong", "not-the-password").items():
        monkeypatch.setenv(f"ITSM_{name.upper()}", str(value))

    result = CliRunner().invoke(app, ["mail", "fetch"])
    assert result.exit_code == 1
    assert "login as wrong failed" in result.output
    assert "Traceback" not in result.output
    assert dovecot.unseen("wrong") == 1

    monkeypatch.setenv("ITSM_IMAP_PASSWORD", PASSWORD)
    result = CliRunner().invoke(app, ["mail", "fetch", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "fetched 1: ticket_created 1" in result.output
    assert dovecot.unseen("wrong") == 0


def test_unreachable_server_and_missing_configuration_exit_1(
    sqlite_url: str,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_desk(sqlite_url, clock)[0].close()
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "blobs"))
    monkeypatch.delenv("ITSM_IMAP_HOST", raising=False)
    result = CliRunner().invoke(app, ["mail", "fetch"])
    assert result.exit_code == 1 and "IMAP is not configured" in result.output

    monkeypatch.setenv("ITSM_IMAP_HOST", "127.0.0.1")
    monkeypatch.setenv("ITSM_IMAP_PORT", str(_free_port()))
    monkeypatch.setenv("ITSM_IMAP_SSL", "false")
    result = CliRunner().invoke(app, ["mail", "fetch"])
    assert result.exit_code == 1 and "cannot connect" in result.output
    assert "Traceback" not in result.output


class FailingIntake:
    def __init__(self, real: Any) -> None:
        self.real = real

    def receive(self, raw: bytes, *, received_via: str) -> Any:
        if b"Subject: Broken" in raw:
            raise ValueError("database went away")
        return self.real.receive(raw, received_via=received_via)


def test_a_failing_message_stays_unseen_and_the_others_proceed(
    sqlite_url: str, clock: ManualClock, dovecot: Dovecot
) -> None:
    dovecot.deliver("fails", mail("imap-fails-1", "Broken one"))
    dovecot.deliver("fails", mail("imap-fails-2", "Keyboard missing keys"))
    desk = desk_for(sqlite_url, clock, dovecot, "fails")
    try:

        def open_mailbox() -> Mailbox:
            return ImapMailbox.open(dovecot.host, dovecot.port, "fails", PASSWORD, use_ssl=False)

        report = MailPoller(open_mailbox, FailingIntake(desk.email)).poll()
        assert report.fetched == 2 and dict(report.outcomes) == {"ticket_created": 1}
        assert len(report.errors) == 1 and "database went away" in report.errors[0]
        assert dovecot.unseen("fails") == 1
        assert desk.mail_poller is not None
        again = desk.mail_poller.poll()
        assert dict(again.outcomes) == {"ticket_created": 1}
        assert tickets(desk) == 2
        assert dovecot.unseen("fails") == 0
    finally:
        desk.close()
