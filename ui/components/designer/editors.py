"""The draft's diagram, decision tables and scenarios: edit, save, see what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterable

import streamlit as st

from ui.components.designer.common import (
    REFUSED,
    VALIDATION_KEY,
    DraftContext,
    flash,
    forget_saves,
    full_validation,
    lint_marks,
    model_check,
    new_save,
    save_draft,
    show_findings,
    show_scenario_results,
)
from ui.components.modeler import bpmn_modeler, dmn_editor

BPMN_HANDLED = "designer.bpmn.handled"
BPMN_REFUSED = f"{REFUSED}bpmn"
DMN_HANDLED = "designer.dmn.handled"


def _saved_message(problems: int, version: int) -> str:
    if not problems:
        return f"Draft saved (draft version {version}); no problems found."
    return (
        f"Draft saved (draft version {version}) with {problems} problem"
        f"{'s' if problems != 1 else ''} to fix before it can be deployed; see below."
    )


def bpmn_section(ctx: DraftContext) -> None:
    checked = model_check(ctx)
    # A save the service refused stays in the editor: showing the stored draft would undo it.
    refused = st.session_state.get(BPMN_REFUSED)
    value = bpmn_modeler(
        refused if refused is not None else ctx.draft.source.bpmn_xml,
        key="designer.bpmn",
        height=720,
        lint=lint_marks(checked.findings),
    )
    xml = new_save(value, BPMN_HANDLED)
    if xml is not None:
        saved = save_draft(ctx, bpmn_xml=xml)
        if saved is None:
            st.session_state[BPMN_REFUSED] = xml
        else:
            st.session_state.pop(BPMN_REFUSED, None)
            problems = len(model_check(ctx.saved_as(saved)).findings)
            flash("warning" if problems else "success", _saved_message(problems, saved.version))
        st.rerun()
    if refused is not None and st.button("Discard my unsaved diagram", key="designer.discard"):
        st.session_state.pop(BPMN_REFUSED, None)
        st.rerun()
    st.caption(
        "Edit the diagram, then press Save in its toolbar (or Ctrl+S): the draft is stored and "
        "checked. Problems are outlined in red on the diagram (hover the badge) and listed here; "
        "the scenarios run on the Scenarios and Deploy tabs."
    )
    show_findings(checked.findings)


def dmn_section(ctx: DraftContext) -> None:
    tables = dict(ctx.draft.source.dmn_xml)
    if not tables:
        st.info("This process calls no decision tables.")
        return
    name = st.radio("Decision table file", sorted(tables), horizontal=True, key="designer.dmn")
    refused_key = f"{REFUSED}dmn.{name}"
    refused = st.session_state.get(refused_key)
    value = dmn_editor(
        refused if refused is not None else tables[name], key=f"designer.dmn.{name}", height=520
    )
    xml = new_save(value, f"{DMN_HANDLED}.{name}")
    if xml is not None:
        saved = save_draft(ctx, dmn_xml={**tables, name: xml})
        if saved is None:
            st.session_state[refused_key] = xml
        else:
            st.session_state.pop(refused_key, None)
            flash("success", f"{name} saved into the draft (draft version {saved.version}).")
        st.rerun()
    forget_saves(*(f"{DMN_HANDLED}.{other}" for other in tables if other != name))
    st.caption("Edit the rules, then press Save above the table: the file is stored in the draft.")


def forget_unmounted_editors(*, bpmn_open: bool, dmn_open: bool, tables: Iterable[str]) -> None:
    """Editors not drawn in this run lose their value; their next save starts at seq 1."""
    if not bpmn_open:
        forget_saves(BPMN_HANDLED)
    if not dmn_open:
        forget_saves(*(f"{DMN_HANDLED}.{name}" for name in tables))


def _scenario_json_problem(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        return f"Not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("scenarios"), list):
        return 'The scenario file must be a JSON object with a "scenarios" list.'
    return None


def scenarios_section(ctx: DraftContext) -> None:
    st.caption(
        "Each scenario starts an instance of the draft, completes its user tasks with the "
        "given form data, lets its timers fire, and checks where the instance ended."
    )
    text = st.text_area(
        "Scenarios (JSON)",
        ctx.draft.scenarios or "",
        height=420,
        key=f"designer.scenarios.{ctx.editing_version}",
        placeholder=(
            'No scenario file yet. Its shape: {"process": "ticket_lifecycle", "default_start": '
            '{...}, "scenarios": [{"name", "start", "steps": [{"task", "actor", "data"} or '
            '{"timer"}], "expect"}]}, as in bpmn/ticket_lifecycle.scenarios.json.'
        ),
    )
    save_column, run_column = st.columns(2)
    save = save_column.button("Save scenarios", key="designer.scenarios.save")
    run = run_column.button("Run scenarios", type="primary", key="designer.scenarios.run")
    if save or run:
        if problem := _scenario_json_problem(text):
            st.error(f"Not saved: {problem}")
            return
        if text != (ctx.draft.scenarios or ""):
            saved = save_draft(ctx, scenarios=text or None)
            if saved is None or not run:
                if saved is not None:
                    flash("success", f"Scenarios saved (draft version {saved.version}).")
                st.rerun()
            ctx = ctx.saved_as(saved)
        elif not run:
            st.info("No change to save.")
    if run:
        st.session_state.pop(VALIDATION_KEY, None)
    checked = full_validation(ctx, run=run)
    if checked is None:
        return
    if checked.findings:
        st.warning("The scenarios run only on a draft without problems:")
        show_findings(checked.findings)
    else:
        show_scenario_results(checked.scenario_results)
