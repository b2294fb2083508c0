"""Hostile content in a real browser: markup that arrives through the channels never runs.

Tickets are created the way an attacker would have to: e-mails through the e-mail intake
(``EmailIntake.receive``, what the IMAP poller and ``itsm mail import`` call), an
Alertmanager notification and an SMS through the HTTP webhooks, a comment typed into the
workbench. Every payload tries to call ``alert()``, to set
``window.__pwned`` and to load an image from another origin. Each page that shows the text
is then opened in headless Chromium as the person who would read it, and must show the
text literally with no dialog, no marker and no request that leaves this server.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from itsm.bootstrap import Services, build
from itsm.channels.email_message import html_to_text
from itsm.services.collaboration import safe_display_name
from itsm.services.email_intake import InboundResult
from itsm.settings import Settings
from tests.e2e import ui
from tests.e2e.conftest import DEMO_PASSWORD, Server

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from tests.e2e.conftest import Workbench

pytestmark = pytest.mark.e2e

REQUESTER = "anna.kowalska"  # ACME
LEAD = "ewa.kozlowska"  # service desk lead: quarantine, dashboard, notifications
ADMIN = "lukasz.kwiatkowski"
EVIL = "http://evil.invalid"
WEBHOOK_TOKEN = "e2e-webhook-token"


def payload(where: str) -> str:
    """Markup that would raise a dialog, set the marker and fetch from another origin."""
    return (
        f"<img src=x onerror=\"window.__pwned='{where}';alert('{where}')\">"
        f"<script>window.__pwned='{where}-script';alert('{where}')</script>"
        f'<img src="{EVIL}/html/{where}.png">'
    )


def _shown(text: str) -> str:
    """Text as a page shows it: whitespace runs collapsed."""
    return re.sub(r"\s+", " ", text).strip()


# --- the hostile input, through the real channels -------------------------------------------


@dataclass(frozen=True)
class Hostile:
    tag: str
    ticket: str  # the requester's e-mail ticket
    subject: str
    body: str  # the HTML body as the ticket shows it (tags removed, text kept)
    reply: str  # an e-mail follow-up, a comment on the ticket
    file_name: str  # the attachment's name as the sender wrote it
    file_data: bytes
    engineer: str  # username of the ticket's 1st-line engineer
    alert_ticket: str
    alert_subject: str
    alert_label: str
    quarantined_subject: str
    sms_text: str
    markdown_ticket: str  # subject and description written in Markdown
    markdown: str


def _mail(sender: str, subject: str, message_id: str, mime: str, extra: str = "") -> bytes:
    head = (
        f"From: {sender}\r\nTo: desk@nordserv.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 05 Oct 2026 09:00:00 +0200\r\n"
        f"{extra}MIME-Version: 1.0\r\n"
    )
    return (head + mime).encode()


def _number(result: InboundResult, outcome: str) -> str:
    assert result.outcome == outcome and result.ticket_number, result
    return result.ticket_number


def _desk(server: Server) -> Services:
    return build(
        Settings(
            database_url=f"sqlite:///{server.data_dir / 'e2e.db'}",
            attachments_dir=server.data_dir / "att",
            alert_webhook_token=WEBHOOK_TOKEN,
            sms_webhook_token=WEBHOOK_TOKEN,
        )
    )


@pytest.fixture(scope="module")
def server_desk(ui_server: Server) -> Iterator[Services]:
    services = _desk(ui_server)
    yield services
    services.close()


@pytest.fixture(scope="module")
def hostile(ui_server: Server, server_desk: Services) -> Hostile:
    from fastapi.testclient import TestClient

    from itsm.api.app import create_api

    tag = uuid.uuid4().hex[:6]
    subject = f"Printer {tag} {payload('subject')}"
    html = (
        f"<html><head><style>body{{display:none}}</style></head><body>"
        f"<p>Toner {tag}: the &lt;b&gt;light&lt;/b&gt; blinks</p>"
        f"<script>window.__pwned='body';alert('body')</script>"
        f"<a href=\"javascript:window.__pwned='link';alert('link')\">click me</a>"
        f"<img src=x onerror=\"window.__pwned='body-img';alert('body-img')\">"
        f'<img src="{EVIL}/html/body.png"><iframe src="javascript:alert(1)"></iframe>'
        f"</body></html>"
    )
    file_name = "\"><svg onload=window.__pwned='file'>.html"
    quoted_name = file_name.replace('"', '\\"')
    file_data = b"<script>window.__pwned='attachment';alert('attachment')</script>"
    first = _mail(
        f"Anna Kowalska <{REQUESTER}@acme.example>",
        subject,
        f"hostile-{tag}@acme.example",
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        "--b\r\nContent-Type: text/html\r\n"
        f'Content-Disposition: attachment; filename="{quoted_name}"'
        "\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(file_data).decode()
        + "\r\n--b--\r\n",
    )
    reply = f"Still blinking {tag} {payload('reply')}"
    follow_up = _mail(
        f"Anna Kowalska <{REQUESTER}@acme.example>",
        "Re: Printer",
        f"hostile-reply-{tag}@acme.example",
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{reply}\r\n",
        extra=f"In-Reply-To: <hostile-{tag}@acme.example>\r\n",
    )
    quarantined_subject = f"Invoice {tag} {payload('quarantine')}"
    stranger = _mail(
        '"Mallory <script>alert(1)</script>" <mallory@evil.example>',
        quarantined_subject,
        f"hostile-stranger-{tag}@evil.example",
        "Content-Type: text/plain\r\n\r\nPay now.\r\n",
    )
    markdown = f"Logout {tag} ![a](/auth/logout) ![b]({EVIL}/markdown.png) [sign in]({EVIL}/login)"
    markdown_mail = _mail(
        f"Anna Kowalska <{REQUESTER}@acme.example>",
        markdown,
        f"hostile-markdown-{tag}@acme.example",
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{markdown}\r\n",
    )

    def receive(raw: bytes) -> InboundResult:
        return server_desk.email.receive(raw, received_via=f"e2e:{tag}")

    number = _number(receive(first), "ticket_created")
    assert _number(receive(follow_up), "comment_added") == number
    assert receive(stranger).outcome == "quarantined"
    markdown_ticket = _number(receive(markdown_mail), "ticket_created")

    label = f"Disk{tag}<b onmouseover=alert('label')>"
    annotation = payload("alert")
    notification = {
        "version": "4",
        "groupKey": f"hostile-{tag}",
        "status": "firing",
        "alerts": [
            {
                "labels": {
                    "alertname": label,
                    "client": "ACME",
                    "instance": "<script>alert('instance')</script>",
                    "severity": "critical",
                },
                "annotations": {"summary": annotation},
                "startsAt": "2026-10-05T07:00:00Z",
            }
        ],
    }
    sms_text = f"Server down {tag} {payload('sms')}"
    bearer = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    with TestClient(create_api(server_desk)) as api:
        answer = api.post("/api/v1/webhooks/alertmanager", json=notification, headers=bearer)
        assert answer.status_code == 200, answer.text
        alert_ticket = answer.json()["outcomes"][0]["ticket_number"]
        sms = api.post(
            "/api/v1/webhooks/sms",
            json={"from": "+48 600 999 111", "text": sms_text, "id": f"hostile-{tag}"},
            headers=bearer,
        )
        assert sms.status_code == 200 and sms.json()["outcome"] == "quarantined", sms.text

    details = server_desk.tickets.details(number, ADMIN)
    assert details.assignee is not None, "the e-mail ticket has no 1st-line engineer"
    alert_details = server_desk.tickets.details(alert_ticket, ADMIN)
    return Hostile(
        tag=tag,
        ticket=number,
        subject=subject,
        body=html_to_text(html),
        reply=reply,
        file_name=file_name,
        file_data=file_data,
        engineer=details.assignee.username,
        alert_ticket=alert_ticket,
        alert_subject=alert_details.ticket.subject,
        alert_label=label,
        quarantined_subject=quarantined_subject,
        sms_text=sms_text,
        markdown_ticket=markdown_ticket,
        markdown=markdown,
    )


# --- watching a browser page ----------------------------------------------------------------


@dataclass
class Guard:
    """Everything a page did that it must not: dialogs, requests leaving this server (they
    are aborted and recorded), and — for information — loads the CSP stopped in the page."""

    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    left_server: list[str] = field(default_factory=list)
    stopped_by_csp: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def attach(self) -> None:
        def dialog(opened: Any) -> None:
            self.dialogs.append(f"{opened.type}: {opened.message}")
            opened.dismiss()

        def foreign(route: Route) -> None:
            self.left_server.append(route.request.url)
            route.abort()

        def failed(request: Any) -> None:
            if request.failure == "csp":
                self.stopped_by_csp.append(request.url)

        self.page.on("dialog", dialog)
        self.page.on("requestfailed", failed)
        self.page.on("response", lambda response: self.responses.append(response))
        self.page.context.route(
            lambda url: not url.startswith((self.base_url, "data:", "blob:")), foreign
        )

    def check(self, where: str) -> None:
        """Nothing ran and nothing left the server while ``where`` was shown."""
        ui.wait_idle(self.page)
        marker = self.page.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
        assert marker is None, f"{where}: a payload ran and set window.__pwned = {marker!r}"
        assert self.dialogs == [], f"{where}: JavaScript dialogs opened: {self.dialogs}"
        assert self.left_server == [], f"{where}: requests left the server: {self.left_server}"
        scripted = ui.main(self.page).locator("a[href^='javascript:' i], [onerror], [onload]")
        assert scripted.count() == 0, f"{where}: scriptable markup in the page"


def open_as(workbench: Workbench, username: str) -> tuple[Page, Guard]:
    page = workbench.new_page(username)
    guard = Guard(page, workbench.server.base_url)
    guard.attach()
    ui.open_app(page)
    ui.log_in(page, username, DEMO_PASSWORD, shot=None)
    return page, guard


def open_ticket(page: Page, number: str) -> None:
    page.goto(f"/ticket?ticket={number}")
    expect(ui.ticket_page(page, number)).to_be_visible()
    ui.wait_idle(page)


def tab(page: Page, name: str) -> Any:
    ui.main(page).get_by_role("tab", name=name).click()
    panel = ui.main(page).get_by_role("tabpanel")
    expect(panel).to_be_visible()
    return panel


# --- the tests ---------------------------------------------------------------------------------


def test_markup_from_every_channel_is_shown_as_text_and_never_runs(
    workbench: Workbench, hostile: Hostile, server_desk: Services
) -> None:
    shot = workbench.shot

    # The requester: her ticket list, the ticket, its attachment, her own comment.
    anna, anna_guard = open_as(workbench, REQUESTER)
    ui.go_to(anna, "My tickets")
    mine = ui.row(anna, hostile.ticket)
    expect(mine).to_contain_text(_shown(hostile.subject))
    anna_guard.check("my tickets")
    ui.click(anna, "Open", within=mine)
    expect(ui.ticket_page(anna, hostile.ticket)).to_be_visible()
    main = ui.main(anna)
    expect(main).to_contain_text(_shown(hostile.subject))
    expect(main).to_contain_text(_shown(hostile.body))
    anna_guard.check("ticket page (requester)")

    comments = tab(anna, "Comments")
    expect(comments).to_contain_text(_shown(hostile.reply))
    typed = f"Typed {hostile.tag} {payload('comment')}"
    ui.fill(anna, "Add a comment", typed)
    comments.get_by_role("button", name="Post").click()
    expect(ui.main(anna).get_by_role("tabpanel")).to_contain_text(_shown(typed))
    anna_guard.check("comments")

    files = tab(anna, "Attachments")
    shown_name = safe_display_name(hostile.file_name)
    expect(files).to_contain_text(shown_name)
    with anna.expect_download() as started:
        files.get_by_role("button", name="Download").click()
    download = started.value
    assert download.suggested_filename == shown_name
    assert Path(download.path()).read_bytes().rstrip(b"\r\n") == hostile.file_data
    served = [r for r in anna_guard.responses if r.url == download.url]
    assert served, f"the browser saw no response for {download.url}"
    headers = served[-1].all_headers()
    assert headers["content-disposition"].startswith("attachment;"), headers
    assert headers["content-type"] == "application/octet-stream", headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    anna_guard.check("attachments")
    shot(anna, "requester-ticket")

    # Stored by content hash: the blob is named by its SHA-256; no name the sender chose.
    _, attachments = server_desk.collaboration.thread(hostile.ticket, ADMIN)
    (stored,) = attachments
    digest = hashlib.sha256(hostile.file_data).hexdigest()
    assert stored["display_name"] == shown_name
    blob = workbench.server.data_dir / "att" / digest[:2] / digest
    assert stored["sha256"] == digest and blob.read_bytes() == hostile.file_data
    names = [p.name for p in (workbench.server.data_dir / "att").rglob("*")]
    assert not [n for n in names if re.search(r"svg|onload|\.html|[<>\"']", n)], names

    # The 1st-line engineer: the inbox row, the task page beside the form, its history.
    engineer, engineer_guard = open_as(workbench, hostile.engineer)
    expect(ui.main(engineer).get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    task_row = ui.row(engineer, hostile.ticket)
    expect(task_row).to_contain_text(_shown(hostile.subject))
    engineer_guard.check("inbox")
    ui.click(engineer, "Open", within=task_row)
    expect(ui.main(engineer).get_by_role("radiogroup", name=re.compile("^Outcome"))).to_be_visible()
    expect(ui.main(engineer)).to_contain_text(_shown(hostile.subject))
    expect(ui.main(engineer)).to_contain_text(_shown(hostile.body))
    ui.main(engineer).get_by_text("History", exact=True).click()
    engineer_guard.check("task page")
    open_ticket(engineer, hostile.ticket)
    expect(tab(engineer, "Comments")).to_contain_text(_shown(typed))
    engineer_guard.check("ticket page (engineer)")
    shot(engineer, "engineer-ticket")

    # The lead: the alert's incident, the quarantine, the dashboard's drill-down, notices.
    lead, lead_guard = open_as(workbench, LEAD)
    open_ticket(lead, hostile.alert_ticket)
    expect(ui.main(lead)).to_contain_text(_shown(hostile.alert_subject))
    expect(ui.main(lead)).to_contain_text(f"alertname={hostile.alert_label}")
    lead_guard.check("alert incident")

    ui.go_to(lead, "Quarantine")
    expect(ui.main(lead)).to_contain_text(_shown(hostile.quarantined_subject))
    expect(ui.main(lead)).to_contain_text(_shown(hostile.sms_text))
    lead_guard.check("quarantine")
    shot(lead, "quarantine")

    ui.go_to(lead, "Dashboard")
    tab(lead, "Tickets")
    ui.choose(lead, "Show", "Channel: monitoring")
    ui.wait_idle(lead)
    grid = ui.main(lead).get_by_test_id("stDataFrame").locator("table")
    expect(grid).to_contain_text(_shown(hostile.alert_subject))
    lead_guard.check("dashboard drill-down")
    shot(lead, "dashboard-drill-down")

    ui.go_to(lead, "Notifications")
    lead_guard.check("notifications")

    # Escaped, not merely blocked: no page even tried to load the HTML payloads' images.
    # (An inbox may list the Markdown ticket below too; its image is the CSP's to stop.)
    for guard in (anna_guard, engineer_guard, lead_guard):
        rendered = [url for url in guard.stopped_by_csp if url.startswith(f"{EVIL}/html/")]
        assert rendered == [], f"HTML was rendered as HTML; the CSP had to stop {rendered}"

    # Markdown in a subject is shown as typed (the test below), so its images are never
    # requested: neither from another origin (the CSP is the second wall) nor the logout.
    open_ticket(lead, hostile.markdown_ticket)
    lead_guard.check("ticket page with Markdown")
    assert f"{EVIL}/markdown.png" not in lead_guard.stopped_by_csp, lead_guard.stopped_by_csp
    logouts = [r for r in lead_guard.responses if r.url.endswith("/auth/logout")]
    assert logouts == [], [r.url for r in logouts]
    lead.reload()
    expect(ui.log_out_link(lead)).to_be_visible()
    assert ui.session_cookie(lead) is not None, "viewing a ticket ended the session"
    shot(lead, "markdown-ticket")


def test_markdown_in_ticket_text_is_shown_literally(workbench: Workbench, hostile: Hostile) -> None:
    page, guard = open_as(workbench, LEAD)
    open_ticket(page, hostile.markdown_ticket)
    guard.check("ticket page with Markdown")
    expect(ui.main(page)).to_contain_text(_shown(hostile.markdown), timeout=2_000)
