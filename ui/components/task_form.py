"""One renderer for every task form: widgets from the JSON schema, errors beside the fields.

Schema hints: ``x-order`` (field order), ``x-widget`` (textarea, radio, checkbox, number,
datetime), ``x-enum-labels`` (option → label), ``title`` (label), ``description`` (help).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st


def option_label(prop: dict[str, Any], value: Any) -> str:
    labels = prop.get("x-enum-labels") or {}
    return str(labels.get(value, str(value).replace("_", " ")))


def _timezone() -> Any:
    try:
        return ZoneInfo(st.context.timezone or "UTC")
    except Exception:  # an unknown or missing browser zone
        return UTC


def _field(name: str, prop: dict[str, Any], required: bool, key: str) -> Any:
    label = prop.get("title", name) + (" *" if required else "")
    help_text = prop.get("description")
    widget = prop.get("x-widget")
    kind = prop.get("type")
    widget_key = f"{key}.{name}"
    if "enum" in prop:
        options = list(prop["enum"])
        if widget == "radio":
            return st.radio(
                label,
                options,
                index=None,
                help=help_text,
                key=widget_key,
                format_func=lambda v: option_label(prop, v),
                horizontal=True,
            )
        return st.selectbox(
            label,
            options,
            index=None,
            help=help_text,
            key=widget_key,
            format_func=lambda v: option_label(prop, v),
        )
    if kind == "boolean":
        return st.checkbox(label, help=help_text, key=widget_key)
    if kind in ("integer", "number"):
        step: int | float = 1 if kind == "integer" else 0.5
        return st.number_input(
            label,
            min_value=prop.get("minimum"),
            max_value=prop.get("maximum"),
            value=None,
            step=step,
            help=help_text,
            key=widget_key,
        )
    if prop.get("format") == "date-time" or widget == "datetime":
        day_column, time_column = st.columns(2)
        day = day_column.date_input(label, value=None, help=help_text, key=f"{widget_key}.day")
        at = time_column.time_input(
            "Time", value=None, key=f"{widget_key}.time", label_visibility="visible"
        )
        if day is None:
            return None
        local = datetime.combine(day, at or time(0, 0), tzinfo=_timezone())
        return local.isoformat()
    if widget == "textarea":
        return st.text_area(label, help=help_text, key=widget_key)
    return st.text_input(label, help=help_text, key=widget_key)


def render_task_form(
    schema: dict[str, Any], key: str, errors: dict[str, str]
) -> dict[str, Any] | None:
    """Draw the form; on submit return the data (empty fields left out), else None."""
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    order = schema.get("x-order") or list(properties)
    required = set(schema.get("required", []))
    values: dict[str, Any] = {}
    with st.form(key):
        if "(form)" in errors:
            st.error(errors["(form)"])
        for name in order:
            prop = properties[name]
            values[name] = _field(name, prop, name in required, key)
            if name in errors:
                st.error(errors[name], icon=None)
        submitted = st.form_submit_button("Submit", type="primary")
    if not submitted:
        return None
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if properties[name].get("type") == "integer" and isinstance(value, float):
            value = int(value)
        data[name] = value.strip() if isinstance(value, str) else value
    return data
