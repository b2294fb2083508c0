"""The designer on a real desk: drafts with optimistic locking, who may use it, and deploys
that store nothing unless the model check and every scenario pass."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.errors import ConflictError, InvalidProcess, NotFound, PermissionDenied
from itsm.modeling import LintFinding, semantic_summary
from itsm.process_files import read_process_source
from itsm.services.ports import ProcessSource
from itsm.services.processes import ScenarioResult
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage.tables import audit_events
from tests.integration.conftest import register

KEY = "ticket_lifecycle"
OWNER = "joanna.mazur"  # process owner in config/demo.toml
ADMIN = "lukasz.kwiatkowski"
LIFECYCLE = read_process_source(PROJECT_ROOT / "bpmn" / f"{KEY}.bpmn")
SCENARIOS_TEXT = (PROJECT_ROOT / "bpmn" / f"{KEY}.scenarios.json").read_text(encoding="utf-8")


def scenarios(*names: str, **changes: Any) -> str:
    """The bundled scenario file with only ``names`` (``changes``: name → expect.data)."""
    raw = json.loads(SCENARIOS_TEXT)
    raw["scenarios"] = [s for s in raw["scenarios"] if s["name"] in names]
    for each in raw["scenarios"]:
        each["expect"]["data"].update(changes.get(each["name"], {}))
    return json.dumps(raw)


def edited(old: str, new: str, source: ProcessSource = LIFECYCLE) -> ProcessSource:
    assert old in source.bpmn_xml
    return dataclasses.replace(source, bpmn_xml=source.bpmn_xml.replace(old, new, 1))


def events(desk: Services, kind: str) -> list[dict[str, Any]]:
    with desk.database.connect() as connection:
        rows = connection.execute(select(audit_events).where(audit_events.c.kind == kind))
        return [dict(row) for row in rows.mappings()]


def test_open_save_and_reopen_a_draft(sqlite_desk: Services, clock: ManualClock) -> None:
    designer = sqlite_desk.designer
    opened = designer.open(KEY, OWNER)
    assert (opened.origin, opened.version, opened.scenarios) == ("deployed", 0, None)
    assert opened.based_on_definition_id == sqlite_desk.processes.versions(KEY)[0].id

    saved = designer.save(KEY, opened.source, SCENARIOS_TEXT, OWNER, expected_version=0)
    assert (saved.origin, saved.version, saved.saved_by) == ("draft", 1, OWNER)
    assert saved.saved_at == clock.now()
    again = designer.open(KEY, ADMIN)
    assert again.version == 1 and again.scenarios == SCENARIOS_TEXT
    # Opened and saved unchanged: the same model, whatever the storage did to the text.
    assert semantic_summary(again.source) == semantic_summary(LIFECYCLE)
    assert designer.diff_draft(KEY, OWNER).is_empty

    renamed = edited('name="Confirm resolution"', 'name="Confirm the fix works"')
    assert designer.save(KEY, renamed, SCENARIOS_TEXT, ADMIN, expected_version=1).version == 2
    [change] = designer.diff_draft(KEY, OWNER).changed
    assert change.element_id == "confirm_resolution" and change.aspects == ("name",)
    saves = events(sqlite_desk, "process_draft_saved")
    assert [(e["actor"], json.loads(e["payload"])["version"]) for e in saves] == [
        (OWNER, 1),
        (ADMIN, 2),
    ]
    assert designer.process_keys(OWNER) == [KEY]


def test_a_stale_save_is_a_conflict_and_changes_nothing(sqlite_desk: Services) -> None:
    designer = sqlite_desk.designer
    designer.save(KEY, LIFECYCLE, None, OWNER, expected_version=0)
    mine = edited('name="Field visit"', 'name="Site visit"')
    designer.save(KEY, mine, None, OWNER, expected_version=1)
    theirs = edited('name="Field visit"', 'name="On-site visit"')
    with pytest.raises(ConflictError, match=r"saved by joanna\.mazur .*version 2"):
        designer.save(KEY, theirs, None, ADMIN, expected_version=1)
    with pytest.raises(ConflictError):
        designer.save(KEY, theirs, None, ADMIN, expected_version=0)  # "no draft yet": stale
    assert 'name="Site visit"' in designer.open(KEY, ADMIN).source.bpmn_xml
    assert len(events(sqlite_desk, "process_draft_saved")) == 2


def test_a_first_save_after_someone_deployed_is_a_conflict(sqlite_desk: Services) -> None:
    designer = sqlite_desk.designer
    opened = designer.open(KEY, OWNER)
    sqlite_desk.processes.deploy(edited('name="Field visit"', 'name="Site visit"'), ADMIN)
    with pytest.raises(ConflictError, match="newer version"):
        designer.save(
            KEY,
            opened.source,
            None,
            OWNER,
            expected_version=opened.version,
            based_on_definition_id=opened.based_on_definition_id,
        )


@pytest.mark.parametrize("actor", ["jan.nowak", "marek.jankowski", "anna.kowalska", "nobody"])
def test_only_process_owners_and_admins_may_design(sqlite_desk: Services, actor: str) -> None:
    designer = sqlite_desk.designer
    calls = [
        lambda: designer.open(KEY, actor),
        lambda: designer.save(KEY, LIFECYCLE, None, actor, expected_version=0),
        lambda: designer.validate_draft(KEY, actor),
        lambda: designer.deploy(KEY, actor, "sneaky"),
        lambda: designer.versions(KEY, actor),
        lambda: designer.diff(KEY, 1, 1, actor),
        lambda: designer.diff_draft(KEY, actor),
        lambda: designer.process_keys(actor),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    with sqlite_desk.unit_of_work() as uow:
        assert uow.drafts.get(KEY) is None


def test_a_model_with_lint_errors_is_not_deployed(sqlite_desk: Services) -> None:
    designer = sqlite_desk.designer
    broken = edited(
        '<bpmn:endEvent id="rejected" name="Rejected">',
        '<bpmn:task id="forgotten" name="Forgotten step" />'
        '<bpmn:endEvent id="rejected" name="Rejected">',
    )
    draft = designer.save(KEY, broken, SCENARIOS_TEXT, OWNER, expected_version=0)
    started = time.perf_counter()
    with pytest.raises(InvalidProcess, match=r"Forgotten step.*not connected") as refused:
        designer.deploy(KEY, OWNER, "with a stray task")
    assert time.perf_counter() - started < 1, "scenarios ran although the model check failed"
    [finding] = refused.value.findings
    assert isinstance(finding, LintFinding) and finding.rule == "unconnected"
    assert [d.version for d in sqlite_desk.processes.versions(KEY)] == [1]
    assert designer.open(KEY, OWNER).version == draft.version  # the draft stays
    assert events(sqlite_desk, "process_deployed") == []
    checked = designer.validate_draft(KEY, OWNER)
    assert not checked.ok and checked.model is not None and checked.scenario_results == []


def test_a_model_the_engine_cannot_parse_is_not_deployed(sqlite_desk: Services) -> None:
    unparseable = edited('isExecutable="true"', 'isExecutable="false"')
    sqlite_desk.designer.save(KEY, unparseable, None, OWNER, expected_version=0)
    checked = sqlite_desk.designer.validate_draft(KEY, OWNER)
    assert checked.model is None and [f.rule for f in checked.findings] == ["engine-parse"]
    with pytest.raises(InvalidProcess, match="no executable process"):
        sqlite_desk.designer.deploy(KEY, OWNER)
    assert len(sqlite_desk.processes.versions(KEY)) == 1


def test_a_model_failing_its_scenarios_is_not_deployed(sqlite_desk: Services) -> None:
    # 1st line "resolved" now falls through to the default flow: the 2nd line.
    wrong = edited("outcome == 'resolved'", "outcome == 'solved'")
    text = scenarios("l1_resolve", "authorisation_rejected")
    sqlite_desk.designer.save(KEY, wrong, text, OWNER, expected_version=0)
    with pytest.raises(InvalidProcess, match="scenario l1_resolve failed") as refused:
        sqlite_desk.designer.deploy(KEY, OWNER, "broken routing")
    [failed] = refused.value.failed_scenarios
    assert isinstance(failed, ScenarioResult) and failed.name == "l1_resolve"
    assert failed.steps_done == 1 and "not waiting at confirm_resolution" in failed.message
    assert "l2_resolve" in failed.message  # where it went instead
    assert [d.version for d in sqlite_desk.processes.versions(KEY)] == [1]
    assert sqlite_desk.designer.open(KEY, OWNER).origin == "draft"


def test_a_scenario_expecting_other_end_data_fails(sqlite_desk: Services) -> None:
    text = scenarios("authorisation_rejected", authorisation_rejected={"priority": "P9"})
    checked = sqlite_desk.processes.validate(LIFECYCLE, text)
    [result] = checked.scenario_results
    assert not checked.ok and not result.passed and result.steps_done == 1
    assert "process data priority is 'P2', expected 'P9'" in result.message
    assert "scenario authorisation_rejected failed" in checked.summary()


def test_a_scenario_file_for_another_process_or_broken_is_a_finding(
    sqlite_desk: Services,
) -> None:
    other = json.dumps({**json.loads(scenarios("l1_resolve")), "process": "elsewhere"})
    broken_step = json.dumps({"scenarios": [{"name": "x", "steps": [{"click": "here"}]}]})
    for text in (other, "{not json", '{"scenarios": [{"name": "x"}]}', broken_step):
        checked = sqlite_desk.processes.validate(LIFECYCLE, text)
        assert [f.rule for f in checked.findings] == ["scenario-file"], text
        assert checked.scenario_results == []


def test_a_fixed_model_deploys_as_the_next_version(
    sqlite_desk: Services, clock: ManualClock
) -> None:
    designer = sqlite_desk.designer
    running = register(sqlite_desk)
    fixed = edited('name="Confirm resolution"', 'name="Confirm the fix works"')
    designer.save(KEY, fixed, SCENARIOS_TEXT, OWNER, expected_version=0)
    started = time.perf_counter()
    checked = designer.validate_draft(KEY, OWNER)
    seconds = time.perf_counter() - started
    print(f"\n{len(checked.scenario_results)} lifecycle scenarios validated in {seconds:.2f} s")
    assert checked.ok and len(checked.scenario_results) == 11, checked.problems()
    assert all(r.passed and r.steps_done > 0 for r in checked.scenario_results)

    deployment = designer.deploy(KEY, OWNER, "clearer wording")
    definition = deployment.definition
    assert deployment.created and definition.version == 2
    assert (definition.deployed_by, definition.deployed_at) == (OWNER, clock.now())
    assert definition.comment == "clearer wording"
    assert definition.scenarios_json == SCENARIOS_TEXT
    assert [v.scenarios_json for v in designer.versions(KEY, ADMIN)] == [None, SCENARIOS_TEXT]
    reopened = designer.open(KEY, OWNER)
    assert (reopened.origin, reopened.based_on_definition_id) == ("deployed", definition.id)
    [deployed] = events(sqlite_desk, "process_deployed")
    assert deployed["actor"] == OWNER and json.loads(deployed["payload"])["version"] == 2

    new = register(sqlite_desk)
    assert sqlite_desk.tickets.details(running, ADMIN).process_version == 1
    assert sqlite_desk.tickets.details(new, ADMIN).process_version == 2
    [change] = designer.diff(KEY, 1, 2, ADMIN).changed
    assert change.element_id == "confirm_resolution"
    with pytest.raises(NotFound):
        designer.diff(KEY, 1, 3, ADMIN)
    with pytest.raises(NotFound, match="no saved draft"):
        designer.deploy(KEY, OWNER)


def test_redeploying_an_unchanged_model_keeps_its_version_and_new_scenarios(
    sqlite_desk: Services,
) -> None:
    text = scenarios("authorisation_rejected")
    sqlite_desk.designer.save(KEY, LIFECYCLE, text, OWNER, expected_version=0)
    deployment = sqlite_desk.designer.deploy(KEY, OWNER, "scenarios only")
    assert not deployment.created and deployment.definition.version == 1
    assert deployment.definition.scenarios_json == text
    assert sqlite_desk.designer.open(KEY, OWNER).origin == "deployed"


@pytest.fixture
def empty_desk(sqlite_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Services]:
    """A seeded desk on which nothing is deployed yet."""
    desk = build(
        Settings(database_url=sqlite_url, attachments_dir=tmp_path / "files"),
        clock=clock,
        fast_password_hashing=True,
    )
    with desk.unit_of_work() as uow:
        seed_directory(uow, desk.catalog, clock.now())
        uow.commit()
    yield desk
    desk.close()


def test_with_nothing_deployed_the_bundled_model_opens(empty_desk: Services) -> None:
    draft = empty_desk.designer.open(KEY, OWNER)
    assert (draft.origin, draft.version, draft.based_on_definition_id) == ("bundled", 0, None)
    assert draft.scenarios == SCENARIOS_TEXT and draft.source == LIFECYCLE
    assert len(empty_desk.designer.diff_draft(KEY, OWNER).added) > 100
    with pytest.raises(NotFound):
        empty_desk.designer.open("no_such_process", OWNER)
    with pytest.raises(Exception, match="process key"):
        empty_desk.designer.open("../../etc/passwd", OWNER)
