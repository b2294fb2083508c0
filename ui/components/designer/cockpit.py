"""Where the open tickets stand on a deployed version, and one ticket's own way through it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import streamlit as st

from itsm.domain.errors import ItsmError, NotFound, PermissionDenied
from itsm.modeling.semantics import bpmn_elements
from ui.components.designer.common import DraftContext
from ui.components.literal import code, literal
from ui.components.modeler import ElementFigures, bpmn_modeler
from ui.session import services

CLICKED_KEY = "designer.cockpit.element"


def duration(seconds: float | None) -> str:
    """An average stay, short enough for a badge: 45 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return ""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@lru_cache(maxsize=16)
def element_names(bpmn_xml: str) -> dict[str, str]:
    """Element id → the name people read (the id when it has none); deployed models only
    (they never change, so the cache is keyed by the text itself)."""
    try:
        records = bpmn_elements(bpmn_xml)
    except ItsmError:
        return {}
    return {element: record.get("name") or element for element, record in records.items()}


def overlays(figures: Mapping[str, Any]) -> dict[str, ElementFigures]:
    return {
        element: ElementFigures(count=each.open_count, avg=duration(each.avg_seconds))
        for element, each in figures.items()
    }


def cockpit_section(ctx: DraftContext) -> None:
    desk = services()
    versions = desk.designer.versions(ctx.key, ctx.actor)
    if not versions:
        st.info("No version of this process is deployed yet: nothing runs to look at.")
        return
    by_id = {definition.id: definition for definition in versions}
    chosen = st.selectbox(
        "Version",
        list(reversed(by_id)),
        format_func=lambda i: f"v{by_id[i].version} · deployed {by_id[i].deployed_at:%Y-%m-%d}",
        key="designer.cockpit.version",
    )
    definition = by_id[chosen]
    figures = desk.cockpit.figures(ctx.key, ctx.actor, definition_id=definition.id)
    st.caption(
        "Each badge: open tickets waiting at the step and their average time there so far. "
        "Click a step to list its tickets."
    )
    value = bpmn_modeler(
        definition.bpmn_xml,
        key=f"designer.cockpit.{definition.id}",
        height=600,
        read_only=True,
        overlays=overlays(figures),
    )
    clicked = None
    if value and value.get("event") == "click":
        # A click picks the step in the list below (which keeps the choice); a remounted
        # viewer counts its clicks from 1 again, hence the element too.
        marker = (value.get("seq"), value.get("element_id"))
        if marker != st.session_state.get(f"{CLICKED_KEY}.seq"):
            st.session_state[f"{CLICKED_KEY}.seq"] = marker
            clicked = str(value.get("element_id"))
            st.session_state[CLICKED_KEY] = clicked
    waiting = sorted(
        (element for element, each in figures.items() if each.open_count),
        key=lambda element: -figures[element].open_count,
    )
    if not waiting:
        st.info(f"No open ticket runs version {definition.version}.")
        return
    names = element_names(definition.bpmn_xml)
    if st.session_state.get(CLICKED_KEY) not in waiting:
        st.session_state.pop(CLICKED_KEY, None)
        if clicked is not None:
            st.info(f"No ticket waits at {literal(names.get(clicked, clicked))} now.")
    element = st.selectbox(
        "Step",
        waiting,
        format_func=lambda e: (
            f"{names.get(e, e)} · {figures[e].open_count} open"
            + (f" · ⌀ {duration(figures[e].avg_seconds)}" if figures[e].avg_seconds else "")
        ),
        key=CLICKED_KEY,
    )
    st.markdown(f"**Tickets waiting at {literal(names.get(element, element))}** ({code(element)})")
    for number in figures[element].ticket_numbers:
        st.page_link("views/ticket.py", label=f"Open {number}", query_params={"ticket": number})


def ticket_path(number: str, actor: str) -> None:
    """The ticket's process version with the steps it went through and waits at, in blue."""
    desk = services()
    try:
        path = desk.cockpit.ticket_path(number, actor)
    except (NotFound, PermissionDenied):
        return
    except ItsmError as err:
        st.caption(f"The process path cannot be shown: {literal(err)}")
        return
    definition = desk.processes.definition(path.definition_id)
    names = element_names(definition.bpmn_xml)
    waiting = ", ".join(f"**{literal(names.get(each, each))}**" for each in path.waiting)
    st.caption(
        f"Process version {path.version}: the steps this ticket went through are blue"
        + (f"; it waits at {waiting}." if waiting else ".")
    )
    bpmn_modeler(
        definition.bpmn_xml,
        key=f"ticket.path.{number}",
        height=460,
        read_only=True,
        highlight=[*path.visited, *path.waiting],
    )
