"""``itsm mail import``: .eml files and maildirs, one line per message, exit 0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itsm.cli import app
from itsm.clock import ManualClock
from tests.conftest import build_desk


def test_mail_import_prints_one_line_per_message(
    sqlite_url: str,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    external: Path,
) -> None:
    services, _ = build_desk(sqlite_url, clock)
    services.close()
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "blobs"))
    new = (
        b"From: Anna Kowalska <anna.kowalska@acme.example>\r\nSubject: Printer jams\r\n"
        b"Message-ID: <cli1@acme.example>\r\n\r\nIt jams.\r\n"
    )
    maildir = tmp_path / "Maildir"
    for folder in ("cur", "new", "tmp"):
        (maildir / folder).mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(new)
    shutil.copy(
        external / "email/autoreply-bounce/sisimai-rfc3834-01.eml", maildir / "cur" / "2.eml"
    )
    stranger = external / "email/replies-threading/mikel-mail-raw_email_reply.eml"

    result = CliRunner().invoke(app, ["mail", "import", str(maildir), str(stranger)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert "2.eml: ignored" in lines[0]
    assert "1.eml: ticket_created HD-" in lines[1]
    assert "raw_email_reply.eml: quarantined" in lines[2]

    again = CliRunner().invoke(app, ["mail", "import", str(maildir / "new" / "1.eml")])
    assert again.exit_code == 0 and ": duplicate HD-" in again.output
