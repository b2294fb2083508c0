"""The process designer page through AppTest: who may open it, forms, deploy, versions, cockpit.

AppTest runs no JavaScript, so the diagram and decision-table editors never send a save here
(tests/e2e/test_designer.py does that in Chromium); these tests drive the parts the page
draws itself, with drafts saved through the service where an editor would have saved them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from itsm.bootstrap import Services
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT
from tests.ui.test_pages import first_task, new_ticket
from ui import session

AppFor = Callable[..., AppTest]
OWNER = "joanna.mazur"
KEY = "ticket_lifecycle"
PAGE = "views/designer.py"
SCENARIOS = (PROJECT_ROOT / "bpmn" / f"{KEY}.scenarios.json").read_text(encoding="utf-8")
L1_FORM = 'name="formJsonSchemaFilename" value="l1_triage.schema.json"'


def designer(app_as: AppFor, section: str, username: str = OWNER) -> AppTest:
    at = app_as(username, PAGE)
    if section != "BPMN":
        at.session_state["designer.section"] = section
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def save(desk: Services, *, bpmn: str | None = None, scenarios: str | None = None) -> int:
    """Save a draft as the diagram editor's Save would; its new draft version."""
    draft = desk.designer.open(KEY, OWNER)
    source = ProcessSource(
        bpmn if bpmn is not None else draft.source.bpmn_xml,
        draft.source.dmn_xml,
        draft.source.forms,
    )
    saved = desk.designer.save(
        KEY,
        source,
        scenarios if scenarios is not None else draft.scenarios,
        OWNER,
        draft.version,
        based_on_definition_id=draft.based_on_definition_id,
    )
    return saved.version


def lifecycle(desk: Services) -> str:
    return desk.designer.open(KEY, OWNER).source.bpmn_xml


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_engineers_do_not_get_the_page_and_the_service_refuses_them(app_as: AppFor) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as("jan.nowak", PAGE)
    # Run on its own, as if a menu let him through: the designer service refuses.
    at = AppTest.from_file(str(PROJECT_ROOT / "ui" / PAGE), default_timeout=30)
    with session.services().unit_of_work(read_only=True) as uow:
        at.session_state["person"] = uow.directory.person_by_username("jan.nowak")
    at.run()
    assert "The process designer is not visible to you." in errors(at)
    assert not at.tabs


def test_process_owner_and_admin_open_the_draft(app_as: AppFor) -> None:
    for username in (OWNER, "lukasz.kwiatkowski"):
        at = designer(app_as, "BPMN", username)
        assert [t.value for t in at.title] == ["Process designer"]
        assert [tab.label for tab in at.tabs] == [
            "BPMN",
            "DMN",
            "Forms",
            "Scenarios",
            "Deploy",
            "Versions",
            "Cockpit",
        ]
        assert "The model check found no problems." in [s.value for s in at.success]


def test_the_process_list_has_every_process_to_design_not_only_the_deployed(
    app_as: AppFor, ui_desk: Services
) -> None:
    # A draft of a process never deployed: the designer service lists it, so the page does.
    draft = ui_desk.designer.open(KEY, OWNER)
    ui_desk.designer.save("vendor_onboarding", draft.source, None, OWNER, 0)
    assert ui_desk.designer.process_keys(OWNER) == [KEY, "vendor_onboarding"]
    at = designer(app_as, "BPMN")
    chooser = at.selectbox(key="designer.process")
    assert (list(chooser.options), chooser.value) == ([KEY, "vendor_onboarding"], KEY)
    chooser.set_value("vendor_onboarding").run()
    assert not at.exception
    assert any("Draft of **vendor_onboarding**, draft version 1" in c.value for c in at.caption)


def test_bpmn_tab_lists_the_saved_drafts_problems_by_element_name(
    app_as: AppFor, ui_desk: Services
) -> None:
    save(ui_desk, bpmn=lifecycle(ui_desk).replace(L1_FORM, 'name="unused" value=""'))
    at = designer(app_as, "BPMN")
    assert any("1 problem to fix" in e for e in errors(at))
    listed = markdown(at)
    assert "**Triage and resolve \\(1st line\\)**" in listed and "has no form" in listed


def test_forms_tab_previews_the_form_as_the_inbox_renders_it(app_as: AppFor) -> None:
    at = designer(app_as, "Forms")
    at.selectbox(key="designer.form").set_value("l1_triage.schema.json").run()
    assert not at.exception
    schema = json.loads(at.text_area[0].value or "")
    assert schema["title"] == "Triage and resolve (1st line)"
    # The inbox's own renderer: the outcome radio, the diagnosis box, the submit button.
    assert at.radio(key="designer.preview.l1_triage.schema.json.outcome")
    assert at.text_area(key="designer.preview.l1_triage.schema.json.diagnosis")
    at.button(key="FormSubmitter:designer.preview.l1_triage.schema.json-Submit").click().run()
    assert "this field is required" in errors(at)  # the inbox's validation, too


def test_forms_tab_refuses_invalid_json_and_an_invalid_schema(
    app_as: AppFor, ui_desk: Services
) -> None:
    at = designer(app_as, "Forms")
    editor = at.text_area[0]
    editor.input('{"type": "object", "properties": {').run()
    assert any(e.startswith("Not valid JSON (line 1, column 35)") for e in errors(at))
    at.button(key="designer.form.save").click().run()
    assert any(e.startswith("Not saved: fix the form first.") for e in errors(at))

    at.text_area[0].input('{"type": "object", "properties": {"a": {"type": "text"}}}').run()
    assert any("not a valid JSON schema at properties/a/type" in e for e in errors(at))
    at.button(key="designer.form.save").click().run()
    assert any(e.startswith("Not saved") for e in errors(at))
    assert ui_desk.designer.open(KEY, OWNER).origin == "deployed"  # nothing was saved


def test_forms_tab_saves_a_changed_form_into_the_draft(app_as: AppFor, ui_desk: Services) -> None:
    at = designer(app_as, "Forms")
    at.selectbox(key="designer.form").set_value("l1_triage.schema.json").run()
    schema = json.loads(at.text_area[0].value or "")
    schema["title"] = "Triage (1st line)"
    at.text_area[0].input(json.dumps(schema)).run()
    at.button(key="designer.form.save").click().run()
    assert any("l1_triage.schema.json saved into the draft" in s.value for s in at.success)
    draft = ui_desk.designer.open(KEY, OWNER)
    assert draft.version == 1 and draft.source.forms["l1_triage.schema.json"] == schema


def test_deploying_an_invalid_draft_shows_the_findings_and_deploys_nothing(
    app_as: AppFor, ui_desk: Services
) -> None:
    save(ui_desk, bpmn=lifecycle(ui_desk).replace(L1_FORM, 'name="unused" value=""'))
    at = designer(app_as, "Deploy")
    at.text_input(key="designer.deploy.comment").input("Triage without a form")
    at.button(key="designer.deploy").click().run()
    assert not at.exception
    assert "Not deployed: the draft did not pass the checks. Nothing was changed." in errors(at)
    assert "has no form" in markdown(at) and "Triage and resolve" in markdown(at)
    assert [d.version for d in ui_desk.designer.versions(KEY, OWNER)] == [1]


def test_a_deploy_refused_by_its_scenarios_lists_the_failed_ones(
    app_as: AppFor, ui_desk: Services
) -> None:
    broken = json.loads(SCENARIOS)
    broken["scenarios"][0]["steps"][0]["data"]["outcome"] = "no_such_outcome"
    save(ui_desk, scenarios=json.dumps(broken, indent=2))
    at = designer(app_as, "Deploy")
    at.button(key="designer.deploy").click().run()
    assert not at.exception
    shown = errors(at)
    assert "Not deployed: the draft did not pass the checks. Nothing was changed." in shown
    assert "1 scenario failed:" in shown  # the refusal carries the failed ones only
    lines = markdown(at)
    assert ":red-badge[failed] **l1\\_resolve**" in lines and "l2\\_resolve" not in lines
    assert [d.version for d in ui_desk.designer.versions(KEY, OWNER)] == [1]


def test_deploying_a_valid_draft_makes_the_next_version(app_as: AppFor, ui_desk: Services) -> None:
    renamed = lifecycle(ui_desk).replace(
        'name="Triage and resolve (1st line)"', 'name="Triage (1st line)"'
    )
    save(ui_desk, bpmn=renamed, scenarios=SCENARIOS)
    at = designer(app_as, "Deploy")
    at.button(key="designer.validate").click().run()
    assert f"{len(json.loads(SCENARIOS)['scenarios'])} of 11 scenarios passed." in [
        s.value for s in at.success
    ]
    at.text_input(key="designer.deploy.comment").input("Shorter triage name")
    at.button(key="designer.deploy").click().run()
    assert not at.exception
    assert "Deployed version 2 of ticket_lifecycle: new tickets run it." in [
        s.value for s in at.success
    ]
    [_, latest] = ui_desk.designer.versions(KEY, OWNER)
    assert (latest.version, latest.deployed_by, latest.comment) == (
        2,
        OWNER,
        "Shorter triage name",
    )


def test_scenarios_tab_runs_the_scenarios_and_shows_each_result(
    app_as: AppFor, ui_desk: Services
) -> None:
    broken = json.loads(SCENARIOS)
    broken["scenarios"][0]["steps"][0]["data"]["outcome"] = "no_such_outcome"
    save(ui_desk, scenarios=json.dumps(broken, indent=2))
    at = designer(app_as, "Scenarios")
    at.button(key="designer.scenarios.run").click().run()
    assert not at.exception
    assert "10 of 11 scenarios passed." in errors(at)
    lines = markdown(at)
    assert ":red-badge[failed] **l1\\_resolve**" in lines
    assert ":green-badge[passed] **l2\\_resolve**" in lines


def test_scenarios_tab_refuses_json_that_is_not_a_scenario_file(
    app_as: AppFor, ui_desk: Services
) -> None:
    at = designer(app_as, "Scenarios")
    at.text_area[0].input('{"scenarios": ').run()
    at.button(key="designer.scenarios.save").click().run()
    assert any(e.startswith("Not saved: Not valid JSON") for e in errors(at))
    at.text_area[0].input('{"process": "ticket_lifecycle"}').run()
    at.button(key="designer.scenarios.save").click().run()
    assert any('"scenarios" list' in e for e in errors(at))
    assert ui_desk.designer.open(KEY, OWNER).origin == "deployed"


def test_versions_tab_lists_authors_and_comments_and_diffs_two_versions(
    app_as: AppFor, ui_desk: Services
) -> None:
    renamed = lifecycle(ui_desk).replace(
        'name="Triage and resolve (1st line)"', 'name="Triage (1st line)"'
    )
    save(ui_desk, bpmn=renamed)
    ui_desk.designer.deploy(KEY, OWNER, "Shorter triage name")
    at = designer(app_as, "Versions")
    table = at.dataframe[0].value
    assert list(table["Version"]) == [2, 1]
    assert list(table["Deployed by"]) == [OWNER, "test-setup"]
    assert list(table["Comment"]) == ["Shorter triage name", "bundled"]
    changes = at.dataframe[1].value
    assert list(changes["Change"]) == ["changed"]
    assert list(changes["Element"]) == ["user task 'Triage (1st line)' (l1_triage)"]
    assert "name" in changes["What changed"][0]
    assert "**Elements:** 0 added, 0 removed, 1 changed" in markdown(at)


def test_versions_tab_migrates_waiting_tickets_after_a_dry_run(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk)
    renamed = lifecycle(ui_desk).replace(
        'name="Triage and resolve (1st line)"', 'name="Triage (1st line)"'
    )
    save(ui_desk, bpmn=renamed)
    ui_desk.designer.deploy(KEY, OWNER, "Shorter triage name")
    at = designer(app_as, "Versions")
    at.button(key="designer.migrate.plan").click().run()
    plan = at.dataframe[-1].value
    assert list(plan["Ticket"]) == [number] and list(plan["Can move"]) == ["yes"]
    assert "l1_triage" in plan["Waiting at"][0]
    at.button(key="designer.migrate.run").click().run()
    assert not at.exception
    assert f"Moved 1 ticket from v1 to v2: {number}." in [s.value for s in at.success]
    assert ui_desk.tickets.details(number, OWNER).process_version == 2
    task_id, _ = first_task(ui_desk, number)
    assert ui_desk.tasks.task(task_id, "lukasz.kwiatkowski").name == "Triage (1st line)"


def test_cockpit_lists_the_tickets_waiting_at_a_step_with_links(
    app_as: AppFor, ui_desk: Services
) -> None:
    numbers = sorted(new_ticket(ui_desk) for _ in range(2))
    at = designer(app_as, "Cockpit")
    step = at.selectbox(key="designer.cockpit.element")
    assert step.value == "l1_triage"
    assert step.format_func(step.value).startswith("Triage and resolve (1st line) · 2 open")
    links = at.get("page_link")
    assert [link.proto.label for link in links] == [f"Open {number}" for number in numbers]
    assert all("ticket" in link.proto.page for link in links)


def test_ticket_page_shows_staff_the_tickets_process_version(
    app_as: AppFor, ui_desk: Services
) -> None:
    number = new_ticket(ui_desk)
    staff = app_as("jan.nowak", "views/ticket.py", ticket=number)
    assert not staff.exception
    assert "Process path" in [h.value for h in staff.subheader]
    [path] = [c.value for c in staff.caption if c.value.startswith("Process version 1:")]
    assert "it waits at **Triage and resolve \\(1st line\\)**" in path
    client = app_as("anna.kowalska", "views/ticket.py", ticket=number)
    assert "Process path" not in [h.value for h in client.subheader]


def test_a_save_over_someone_elses_newer_draft_is_refused(
    app_as: AppFor, ui_desk: Services
) -> None:
    at = designer(app_as, "Forms")  # opened at draft version 0
    at.selectbox(key="designer.form").set_value("l1_triage.schema.json").run()
    draft = ui_desk.designer.open(KEY, OWNER)
    ui_desk.designer.save(
        KEY, draft.source, draft.scenarios, "lukasz.kwiatkowski", 0, based_on_definition_id=1
    )
    at.run()
    assert any("the stored draft became draft version 1 by lukasz" in w.value for w in at.warning)
    schema = json.loads(at.text_area[0].value or "")
    at.text_area[0].input(json.dumps({**schema, "title": "Mine"})).run()
    at.button(key="designer.form.save").click().run()
    assert any(e.startswith("Not saved: someone else changed the draft first") for e in errors(at))
    stored = ui_desk.designer.open(KEY, OWNER)
    assert (stored.version, stored.saved_by) == (1, "lukasz.kwiatkowski")
    at.button(key="designer.reload").click().run()
    assert not at.warning
