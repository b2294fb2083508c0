"""``itsm mail fetch`` against a real IMAP server: a throw-away dovecot per test module."""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from itsm.bootstrap import Services
from itsm.channels.imap_mailbox import ImapMailbox
from itsm.cli import app
from itsm.clock import ManualClock
from itsm.services.mail_polling import Mailbox, MailboxError, MailPoller
from tests.conftest import IN_CI, build_desk

# Dovecot delays repeated failed logins from one address (anvil's auth penalty, seconds):
# only one test logs in with a wrong password.
INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd"
USERS = ("new", "again", "crash", "auto", "wrong", "fails")
TLS_USERS = ("tls", "untrusted", "starttls", "misnamed")
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


@dataclass(frozen=True)
class ServerTls:
    """``ssl = required`` with this certificate; IMAPS on ``imaps_port`` besides the plain
    (STARTTLS) listener."""

    cert: Path
    key: Path
    imaps_port: int


def _config(base: Path, port: int, tls: ServerTls | None = None) -> Path:
    """Dovecot 2.3 (Debian 12): plaintext login on loopback (``ssl = required`` with ``tls``),
    users from a passwd-file."""
    if os.getuid() == 0:  # dovecot refuses to run logins or mail as root
        internal, login, mail = "dovecot", "dovenull", pwd.getpwnam("dovecot")
    else:
        me = pwd.getpwuid(os.getuid())
        internal = login = me.pw_name
        mail = me
    homes = base / "home"
    homes.mkdir()
    lines = []
    for user in USERS if tls is None else TLS_USERS:
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
{_ssl_settings(tls)}
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
    address = 127.0.0.1
    port = {0 if tls is None else tls.imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    return conf


def _ssl_settings(tls: ServerTls | None) -> str:
    if tls is None:
        return "ssl = no"
    # "<path": the config process (root, or the user running the tests) reads the files.
    return f"ssl = required\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}"


def _dovecot_binary() -> str:
    binary = shutil.which("dovecot")
    if binary is None:
        message = f"dovecot is not installed: {INSTALL}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return binary


@contextlib.contextmanager
def _running_dovecot(binary: str, tls: ServerTls | None = None) -> Iterator[tuple[Path, int]]:
    """A started dovecot: (its base dir with dovecot.log, the plain IMAP port)."""
    # Short and traversable: login processes (another user) reach sockets in base_dir.
    base = Path(tempfile.mkdtemp(prefix="itsm-dovecot-"))
    base.chmod(0o755)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "-F", "-c", str(_config(base, port, tls))],
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
        yield base, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with _running_dovecot(_dovecot_binary()) as (_, port):
        yield Dovecot("127.0.0.1", port)


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


# --- TLS: dovecot with ``ssl = required`` and certificates from a throw-away CA ---------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path  # the CA certificate, as given in ITSM_IMAP_CA_FILE
    server: ServerTls  # for 127.0.0.1 and localhost
    misnamed: ServerTls  # for other.example only, signed by the same CA


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(
            issuer.subject
            if issuer
            else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is None:  # the CA
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _server_tls(
    folder: Path,
    name: str,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> ServerTls:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(name, key, ca, ca_key, names)
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_file, key)
    return ServerTls(cert_file, key_file, _free_port())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("imap-pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("itsm test CA", ca_key, None, ca_key, [])
    ca_file = folder / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    loopback = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    return Pki(
        ca_file,
        _server_tls(folder, "server", ca, ca_key, loopback),
        _server_tls(folder, "misnamed", ca, ca_key, [x509.DNSName("other.example")]),
    )


@dataclass(frozen=True)
class TlsDovecot(Dovecot):
    """``port`` is the plain listener (STARTTLS only); the helpers use IMAPS, trusting the CA."""

    imaps_port: int
    ca_file: Path
    log: Path

    def client(self, user: str) -> imaplib.IMAP4:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context, timeout=10)
        client.login(user, PASSWORD)
        client.select("INBOX")
        return client

    def settings(self, user: str, password: str = PASSWORD) -> dict[str, Any]:
        return {
            "imap_host": self.host,
            "imap_port": self.imaps_port,
            "imap_user": user,
            "imap_password": password,
            "imap_ca_file": self.ca_file,
        }

    def logins(self, user: str) -> list[str]:
        """dovecot's log lines of ``user``'s successful logins (", TLS," if encrypted)."""
        text = self.log.read_text() if self.log.exists() else ""
        return [line for line in text.splitlines() if f"Login: user=<{user}>" in line]


@contextlib.contextmanager
def _tls_dovecot(tls: ServerTls, ca_file: Path) -> Iterator[TlsDovecot]:
    with _running_dovecot(_dovecot_binary(), tls) as (base, port):
        with socket.create_connection(("127.0.0.1", tls.imaps_port), timeout=5):
            pass  # bound by the master together with the plain listener
        yield TlsDovecot("127.0.0.1", port, tls.imaps_port, ca_file, base / "dovecot.log")


@pytest.fixture(scope="module")
def tls_dovecot(pki: Pki) -> Iterator[TlsDovecot]:
    with _tls_dovecot(pki.server, pki.ca_file) as server:
        yield server


def test_fetch_over_tls_with_a_private_ca(
    sqlite_url: str, clock: ManualClock, tls_dovecot: TlsDovecot
) -> None:
    tls_dovecot.deliver("tls", mail("imap-tls-1", "Scanner offline"))
    desk = desk_for(sqlite_url, clock, tls_dovecot, "tls")
    try:
        assert desk.mail_poller is not None
        before = len(tls_dovecot.logins("tls"))
        report = desk.mail_poller.poll()
        assert (report.fetched, dict(report.outcomes), report.errors) == (
            1,
            {"ticket_created": 1},
            [],
        )
        poller_login = tls_dovecot.logins("tls")[before:]
        assert len(poller_login) == 1 and ", TLS," in poller_login[0]
        assert tickets(desk) == 1
        assert tls_dovecot.unseen("tls") == 0
    finally:
        desk.close()


def test_untrusted_certificate_is_a_clear_error_and_nothing_is_seen(
    sqlite_url: str,
    clock: ManualClock,
    tls_dovecot: TlsDovecot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tls_dovecot.deliver("untrusted", mail("imap-untrusted-1", "Badge reader dead"))
    build_desk(sqlite_url, clock)[0].close()
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "blobs"))
    monkeypatch.delenv("ITSM_IMAP_CA_FILE", raising=False)  # system CAs only
    monkeypatch.delenv("ITSM_IMAP_SSL", raising=False)  # TLS is the default
    monkeypatch.delenv("ITSM_IMAP_STARTTLS", raising=False)
    for name, value in tls_dovecot.settings("untrusted").items():
        if name != "imap_ca_file":
            monkeypatch.setenv(f"ITSM_{name.upper()}", str(value))

    before = len(tls_dovecot.logins("untrusted"))
    result = CliRunner().invoke(app, ["mail", "fetch"])
    assert result.exit_code == 1
    assert "cannot connect: server certificate rejected" in result.output
    assert "unable to get local issuer certificate" in result.output
    assert "ITSM_IMAP_CA_FILE" in result.output
    assert "Traceback" not in result.output
    assert len(tls_dovecot.logins("untrusted")) == before  # the password was never sent
    assert tls_dovecot.unseen("untrusted") == 1

    monkeypatch.setenv("ITSM_IMAP_CA_FILE", str(tls_dovecot.ca_file))
    result = CliRunner().invoke(app, ["mail", "fetch"])
    assert result.exit_code == 0, result.output
    assert "fetched 1: ticket_created 1" in result.output
    assert tls_dovecot.unseen("untrusted") == 0


def test_certificate_for_another_host_is_rejected(pki: Pki) -> None:
    with _tls_dovecot(pki.misnamed, pki.ca_file) as server:
        for host, reason in (
            ("127.0.0.1", "IP address mismatch, certificate is not valid for '127.0.0.1'"),
            ("localhost", "Hostname mismatch, certificate is not valid for 'localhost'"),
        ):
            for port, starttls in ((server.imaps_port, False), (server.port, True)):
                with pytest.raises(MailboxError) as caught:
                    ImapMailbox.open(
                        host,
                        port,
                        "misnamed",
                        PASSWORD,
                        starttls=starttls,
                        ca_file=pki.ca_file,
                        timeout=10,
                    )
                assert f"server certificate rejected: {reason}" in str(caught.value)
                assert str(caught.value).startswith(f"IMAP {host}:{port}: ")
        assert server.logins("misnamed") == []


def test_starttls_on_the_plain_port(
    sqlite_url: str, clock: ManualClock, tls_dovecot: TlsDovecot
) -> None:
    tls_dovecot.deliver("starttls", mail("imap-starttls-1", "Projector flickers"))
    settings = {
        **tls_dovecot.settings("starttls"),
        "imap_host": "localhost",  # the certificate's DNS name this time
        "imap_port": tls_dovecot.port,
        "imap_starttls": True,  # imap_ssl stays at its default (True): STARTTLS wins
    }
    desk, _ = build_desk(sqlite_url, clock, **settings)
    try:
        assert desk.mail_poller is not None
        before = len(tls_dovecot.logins("starttls"))
        report = desk.mail_poller.poll()
        assert (report.fetched, dict(report.outcomes), report.errors) == (
            1,
            {"ticket_created": 1},
            [],
        )
        poller_login = tls_dovecot.logins("starttls")[before:]
        assert len(poller_login) == 1 and ", TLS," in poller_login[0]
        assert tls_dovecot.unseen("starttls") == 0
    finally:
        desk.close()


def test_starttls_is_not_silently_skipped(dovecot: Dovecot, pki: Pki) -> None:
    """A server without STARTTLS (the plain fixture) is an error, never a plaintext login."""
    with pytest.raises(MailboxError, match="STARTTLS failed: TLS not supported by server"):
        ImapMailbox.open(
            dovecot.host, dovecot.port, "new", PASSWORD, starttls=True, ca_file=pki.ca_file
        )


def test_unreadable_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    for ca_file, reason in (
        (tmp_path / "missing.pem", "No such file or directory"),
        (empty, "no certificate or crl found"),
    ):
        with pytest.raises(MailboxError) as caught:
            ImapMailbox.open("127.0.0.1", _free_port(), "u", "p", ca_file=ca_file)
        assert f"cannot load CA certificates from {ca_file}: " in str(caught.value)
        assert reason in str(caught.value)
