"""The draft's task forms: JSON schema on the left, the form as the inbox shows it on the right."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from itsm.domain.errors import ValidationFailed
from itsm.services.forms import schema_problems, validate_submission
from ui.components.designer.common import DraftContext, flash, model_check, save_draft
from ui.components.literal import literal
from ui.components.task_form import render_task_form

NEW_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "",
    "type": "object",
    "properties": {},
    "required": [],
    "x-process-variables": [],
}


def _tasks_by_form(ctx: DraftContext) -> dict[str, list[str]]:
    """Form file → the names of the user tasks showing it (as far as the draft parses)."""
    model = model_check(ctx).model
    by_form: dict[str, list[str]] = {name: [] for name in ctx.draft.source.forms}
    for task in model.user_tasks.values() if model is not None else ():
        if task.form_key:
            by_form.setdefault(task.form_key, []).append(task.name or task.element_id)
    return by_form


def parse_form(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The schema in ``text``, or None and what is wrong with it."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return None, [f"Not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"]
    problems = schema_problems(schema)
    return (schema if not problems else None), problems


def _label(name: str, tasks: list[str], stored: bool) -> str:
    used = ", ".join(tasks) if tasks else "no user task"
    return f"{name} · {used}" + ("" if stored else " · not created yet")


def _preview(schema: dict[str, Any], name: str) -> None:
    st.markdown(f"**{literal(schema.get('title') or name)}**")
    if schema.get("description"):
        st.caption(schema["description"])
    key = f"designer.preview.{name}"
    errors: dict[str, str] = st.session_state.get(f"{key}.errors", {})
    submitted = render_task_form(schema, key, errors)
    if submitted is None:
        return
    try:
        validate_submission(schema, submitted)
    except ValidationFailed as failed:
        st.session_state[f"{key}.errors"] = {error.path: error.message for error in failed.errors}
        st.rerun()
    st.session_state.pop(f"{key}.errors", None)
    st.success("The form accepts this entry; the process would receive:")
    variables = {name: submitted.get(name) for name in schema.get("x-process-variables", [])}
    st.json(variables)


def forms_section(ctx: DraftContext) -> None:
    forms = dict(ctx.draft.source.forms)
    by_form = _tasks_by_form(ctx)
    if not by_form:
        st.info("No user task of the draft names a form yet (its formJsonSchemaFilename).")
        return
    name = st.selectbox(
        "Form",
        sorted(by_form),
        format_func=lambda each: _label(each, by_form[each], each in forms),
        key="designer.form",
    )
    stored = forms.get(name, {**NEW_FORM, "title": name})
    editor, preview = st.columns(2, gap="large")
    text = editor.text_area(
        "JSON schema",
        json.dumps(stored, indent=2, ensure_ascii=False),
        height=560,
        key=f"designer.form.{ctx.editing_version}.{name}",
        help="Press Ctrl+Enter or click outside the box to refresh the preview.",
    )
    schema, problems = parse_form(text)
    with preview:
        st.markdown("**Preview** :gray[as the inbox shows it]")
        if schema is None:
            for problem in problems:
                st.error(problem)
        else:
            try:
                _preview(schema, name)
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                # A schema JSON Schema accepts but whose x- hints the renderer cannot use.
                st.error(f"The inbox could not show this form: {type(err).__name__}: {err}")
    if editor.button("Save form", type="primary", key="designer.form.save"):
        if schema is None:
            editor.error("Not saved: fix the form first. " + " ".join(problems))
        elif schema == forms.get(name):
            editor.info("No change to save.")
        else:
            saved = save_draft(ctx, forms={**forms, name: schema})
            if saved is not None:
                flash("success", f"{name} saved into the draft (draft version {saved.version}).")
            st.rerun()
