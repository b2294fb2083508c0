"""A mailbox folder on an IMAP server (stdlib ``imaplib``).

Messages are read with ``BODY.PEEK[]`` so reading marks nothing; ``mark_processed`` sets
``\\Seen`` once the message has been handled. Every failure is a ``MailboxError``.

TLS (implicit on 993, or STARTTLS on 143) always verifies the certificate chain and the host
name; ``ca_file`` replaces the system CAs with a private CA's certificate(s).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from pathlib import Path

from itsm.services.mail_polling import MailboxError

_IMAP_ERRORS = (imaplib.IMAP4.error, OSError, EOFError, socket.timeout, ssl.SSLError)
_UID = re.compile(rb"UID (\d+)")


class ImapMailbox:
    def __init__(self, client: imaplib.IMAP4, address: str, where: str) -> None:
        self._client = client
        self._where = where
        self.address = address

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        user: str,
        password: str,
        folder: str = "INBOX",
        *,
        use_ssl: bool = True,
        starttls: bool = False,
        ca_file: Path | str | None = None,
        timeout: float = 30,
    ) -> ImapMailbox:
        """Connect, log in and select ``folder``.

        ``starttls`` connects in plain text and upgrades before logging in (port 143); it
        takes precedence over ``use_ssl`` (TLS from the first byte, port 993). ``ca_file`` is
        only used with one of them.
        """
        where = f"IMAP {host}:{port}"
        context = _tls_context(where, ca_file) if use_ssl or starttls else None
        try:
            if context is not None and not starttls:
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, port, ssl_context=context, timeout=timeout
                )
            else:
                client = imaplib.IMAP4(host, port, timeout=timeout)
        except _IMAP_ERRORS as err:
            raise MailboxError(f"{where}: cannot connect: {_describe(err)}") from err
        if context is not None and starttls:
            try:
                client.starttls(ssl_context=context)
            except _IMAP_ERRORS as err:
                with contextlib.suppress(*_IMAP_ERRORS):
                    client.shutdown()  # no LOGOUT: the session is in an unknown state
                raise MailboxError(f"{where}: STARTTLS failed: {_describe(err)}") from err
        try:
            try:
                client.login(user, password)
            except imaplib.IMAP4.error as err:
                raise MailboxError(f"{where}: login as {user} failed: {_describe(err)}") from err
            status, data = client.select(_quote(folder))
            if status != "OK":
                raise MailboxError(f"{where}: cannot open folder {folder}: {_text(data)}")
        except MailboxError:
            _logout(client)
            raise
        except _IMAP_ERRORS as err:
            _logout(client)
            raise MailboxError(f"{where}: {_describe(err)}") from err
        return cls(client, f"imap:{user}@{host}/{folder}", where)

    def unseen(self, limit: int) -> list[tuple[str, bytes]]:
        uids = self._command("UID SEARCH", "SEARCH", "UNSEEN")
        found = b" ".join(part for part in uids if isinstance(part, bytes)).split()
        messages: list[tuple[str, bytes]] = []
        for uid in [u.decode("ascii") for u in found][:limit]:
            data = self._command("UID FETCH", "FETCH", uid, "(BODY.PEEK[])")
            raw = _fetched_body(data, uid)
            if raw is not None:  # expunged meanwhile
                messages.append((uid, raw))
        return messages

    def mark_processed(self, uid: str) -> None:
        self._command("UID STORE", "STORE", uid, "+FLAGS.SILENT", "(\\Seen)")

    def close(self) -> None:
        _logout(self._client)

    def _command(self, name: str, command: str, *args: str) -> list[object]:
        try:
            status, data = self._client.uid(command, *args)
        except _IMAP_ERRORS as err:
            raise MailboxError(f"{self._where}: {name}: {_describe(err)}") from err
        if status != "OK":
            raise MailboxError(f"{self._where}: {name}: {_text(data)}")
        return list(data)


def _fetched_body(data: list[object], uid: str) -> bytes | None:
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            match = _UID.search(part[0]) if isinstance(part[0], bytes) else None
            if match is None or match.group(1).decode("ascii") == uid:
                return part[1]
    return None


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    if isinstance(data, list):
        return " ".join(_text(part) for part in data if part is not None) or "no reason given"
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _tls_context(where: str, ca_file: Path | str | None) -> ssl.SSLContext:
    """Verifying context (chain and host name); ``ca_file`` instead of the system CAs."""
    try:
        return ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    except (OSError, ValueError) as err:  # missing file, no PEM certificate in it
        raise MailboxError(
            f"{where}: cannot load CA certificates from {ca_file}: {_describe(err)}"
        ) from err


# OpenSSL verify codes meaning "the issuer is not trusted here" (a private or self-signed CA).
_UNTRUSTED_ISSUER = {2, 18, 19, 20, 21}


def _describe(err: BaseException) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        reason = str(err.verify_message or err.reason or "verification failed").rstrip(".")
        text = f"server certificate rejected: {reason}"
        if err.verify_code in _UNTRUSTED_ISSUER:
            text += " (a private CA's certificate can be given in ITSM_IMAP_CA_FILE)"
        return text
    text = str(err)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(err).__name__


def _logout(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(*_IMAP_ERRORS):
        client.logout()
