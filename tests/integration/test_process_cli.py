"""``itsm process lint | deploy | diff``: every problem listed, a non-zero exit on any."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itsm.bootstrap import build
from itsm.cli import app
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.process_files import read_process_source
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage.migrate import upgrade_database
from tests.conftest import START

BUNDLED = PROJECT_ROOT / "bpmn"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ITSM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    upgrade_database(f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def model_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The bundled lifecycle (with its DMN, forms and scenarios) in a folder of its own."""
    folder = tmp_path / "model"
    shutil.copytree(BUNDLED, folder)
    path = folder / "ticket_lifecycle.bpmn"
    if old:
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def seeded_with_lifecycle(tmp_path: Path) -> None:
    """The CLI's database (see ``cli``) with the demo directory and the lifecycle as v1."""
    services = build(Settings(), clock=ManualClock(START), fast_password_hashing=True)
    try:
        with services.unit_of_work() as uow:
            seed_directory(uow, services.catalog, START)
            uow.commit()
        services.processes.deploy(read_process_source(BUNDLED / "ticket_lifecycle.bpmn"), "t")
    finally:
        services.close()


def test_lint_a_clean_and_a_broken_model(cli: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(cli, "process", "lint", str(BUNDLED / "ticket_lifecycle.bpmn"))
    assert code == 0 and "no findings" in out
    broken = model_copy(
        tmp_path,
        '<bpmn:endEvent id="rejected" name="Rejected">',
        '<bpmn:task id="forgotten" name="Forgotten step" />'
        '<bpmn:endEvent id="rejected" name="Rejected">',
    )
    code, out = invoke(cli, "process", "lint", str(broken))
    assert code == 1 and "[unconnected] task 'Forgotten step' (forgotten)" in out
    assert "1 problem(s)" in out and "Traceback" not in out


def test_deploy_refuses_failing_scenarios_then_deploys_and_diffs(
    cli: CliRunner, tmp_path: Path
) -> None:
    seeded_with_lifecycle(tmp_path)
    wrong = model_copy(tmp_path, "outcome == 'resolved'", "outcome == 'solved'")
    scenarios = wrong.with_name("ticket_lifecycle.scenarios.json")
    raw = json.loads(scenarios.read_text(encoding="utf-8"))
    raw["scenarios"] = [s for s in raw["scenarios"] if s["name"] == "l1_resolve"]
    scenarios.write_text(json.dumps(raw), encoding="utf-8")
    code, out = invoke(cli, "process", "deploy", str(wrong), "--comment", "broken")
    assert code == 1 and "[scenario l1_resolve] failed after 1 step(s)" in out
    assert "not deployed" in out

    fixed = wrong.read_text(encoding="utf-8").replace(
        "outcome == 'solved'", "outcome == 'resolved'"
    )
    wrong.write_text(fixed.replace('name="Field visit"', 'name="Site visit"', 1), "utf-8")
    code, out = invoke(cli, "process", "deploy", str(wrong), "--comment", "site visit")
    assert code == 0 and "v2 deployed" in out and "1 scenario(s) passed" in out
    code, out = invoke(cli, "process", "diff", "ticket_lifecycle", "1", "2")
    assert code == 0 and out.strip() == "~ user task 'Site visit' (field_visit): name"
    code, out = invoke(cli, "process", "diff", "ticket_lifecycle", "1", "2", "--as", "jan.nowak")
    assert code == 1 and "PermissionDenied" in out
