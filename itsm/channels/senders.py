"""Delivering one rendered notification: e-mail over SMTP, SMS through an HTTP gateway."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate

from itsm.services.delivery import DeliveryFailed, OutgoingMessage


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        from_address: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 20,
    ) -> None:
        self._host = host
        self._port = port
        self._from = from_address
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout

    def send(self, message: OutgoingMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.recipient
        mail["Subject"] = message.rendered.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        # The same Message-ID on every retry lets the receiver recognise a resend.
        mail["Message-ID"] = message.message_id
        # RFC 3834: automatic replies must not answer us, which prevents mail loops.
        mail["Auto-Submitted"] = "auto-generated"
        if message.ticket_number:
            mail["X-ITSM-Ticket"] = message.ticket_number
        mail.set_content(message.rendered.body)
        for attachment in message.attachments:
            main_type, _, sub_type = attachment.media_type.partition("/")
            mail.add_attachment(
                attachment.data,
                maintype=main_type,
                subtype=sub_type or "octet-stream",
                filename=attachment.filename,
            )
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryFailed(f"SMTP {self._host}:{self._port}: {err}") from err


class HttpSmsSender:
    """POSTs ``{"to", "text", "id"}`` as JSON to a configurable SMS gateway."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 20) -> None:
        self._url = url
        self._token = token
        self._timeout = timeout

    def send(self, message: OutgoingMessage) -> None:
        text = f"{message.rendered.subject}\n{message.rendered.body}"[:640]
        payload = json.dumps(
            {"to": message.recipient, "text": text, "id": message.message_id}
        ).encode("utf-8")
        request = urllib.request.Request(
            self._url, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                if response.status >= 300:
                    raise DeliveryFailed(f"SMS gateway answered {response.status}")
        except (OSError, urllib.error.URLError) as err:
            raise DeliveryFailed(f"SMS gateway {self._url}: {err}") from err
