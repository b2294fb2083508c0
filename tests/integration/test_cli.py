"""The ``itsm`` command line end to end on a SQLite file: demo, listing, showing, working."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itsm.bootstrap import build
from itsm.cli import app
from itsm.settings import PROJECT_ROOT, Settings


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ITSM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_then_work_a_ticket_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    assert invoke(cli, "db", "upgrade")[0] == 0
    code, out = invoke(cli, "demo", "--tickets", "24", "--seed", "3")
    assert code == 0, out
    assert "demo ready: 24 tickets" in out and "jan.nowak" in out
    # Deployed with its scenario file, as `itsm process deploy` does: the designer opens it.
    scenarios = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json"
    desk = build(Settings(attachments_dir=tmp_path / "attachments"))
    try:
        [deployed] = desk.processes.versions("ticket_lifecycle")
        assert deployed.scenarios_json == scenarios.read_text(encoding="utf-8")
        draft = desk.designer.open("ticket_lifecycle", "joanna.mazur")
        assert (draft.origin, draft.scenarios) == ("deployed", deployed.scenarios_json)
    finally:
        desk.close()
    code, again = invoke(cli, "demo", "--tickets", "5")
    assert code == 1 and "--reset" in again

    code, out = invoke(
        cli,
        "ticket",
        "new",
        "--client",
        "ACME",
        "--requester",
        "anna.kowalska",
        "--subject",
        "Printer jams",
        "--category",
        "hardware",
        "--urgency",
        "high",
        "--as",
        "jan.nowak",
    )
    assert code == 0, out
    number = re.search(r"(HD-\d{4}-\d{6}) registered", out).group(1)  # type: ignore[union-attr]
    engineer = re.search(r"assigned to (.+)$", out.strip()).group(1)  # type: ignore[union-attr]

    code, shown = invoke(cli, "ticket", "show", number)
    assert code == 0 and "Timeline" in shown and "Triage and resolve" in shown
    task_id = re.search(r"waiting .*id ([0-9a-f-]{36})", shown).group(1)  # type: ignore[union-attr]
    assignee = re.search(r"waiting .*\] (\S+)\s+id", shown).group(1)  # type: ignore[union-attr]
    assert engineer

    code, bad = invoke(cli, "task", "complete", task_id, "--data", "{not json", "--as", assignee)
    assert code == 1 and "not valid JSON" in bad
    code, bad = invoke(
        cli, "task", "complete", task_id, "--data", '{"outcome": "resolved"}', "--as", assignee
    )
    assert code == 1 and "diagnosis: this field is required" in bad
    data = {
        "remote_desktop_consent": False,
        "remote_session_used": False,
        "diagnosis": "Paper path dirty",
        "outcome": "resolved",
        "resolution": "Cleaned the rollers",
        "time_spent_minutes": 15,
    }
    code, done = invoke(
        cli, "task", "complete", task_id, "--data", json.dumps(data), "--as", assignee
    )
    assert code == 0 and "Confirm resolution" in done

    code, shown = invoke(cli, "ticket", "show", number)
    assert "status     resolved" in shown and "Cleaned the rollers" in shown
    code, listing = invoke(cli, "ticket", "list", "--limit", "100")
    assert number in listing
    code, inbox = invoke(cli, "tasks", "--group", "L1", "--as", "jan.nowak")
    assert code == 0 and "open task(s)" in inbox
    code, denied = invoke(cli, "tasks", "--group", "L3", "--as", "jan.nowak")
    assert code == 1 and "cannot see the 'L3' queue" in denied
    assert invoke(cli, "timers", "run")[0] == 0


def test_deploying_a_foreign_model_fails_with_a_reason(cli: CliRunner, external: Path) -> None:
    invoke(cli, "db", "upgrade")
    code, out = invoke(cli, "process", "deploy", str(external / "bpmn" / "miwg" / "A.1.0.bpmn"))
    assert code == 1 and "no executable process" in out and "Traceback" not in out
