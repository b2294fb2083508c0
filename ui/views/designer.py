"""The process designer: edit the draft (diagram, decisions, forms, scenarios), deploy it,
compare and migrate versions, and watch where the open tickets stand."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import NotFound, PermissionDenied
from ui.components.designer.cockpit import cockpit_section
from ui.components.designer.common import editing, show_flash
from ui.components.designer.editors import (
    bpmn_section,
    dmn_section,
    forget_unmounted_editors,
    scenarios_section,
)
from ui.components.designer.forms import forms_section
from ui.components.designer.release import deploy_section, versions_section
from ui.session import me, services

DEFAULT_PROCESS = "ticket_lifecycle"  # selected first when there are several to design
SECTIONS = {
    "BPMN": bpmn_section,
    "DMN": dmn_section,
    "Forms": forms_section,
    "Scenarios": scenarios_section,
    "Deploy": deploy_section,
    "Versions": versions_section,
    "Cockpit": cockpit_section,
}

NOT_VISIBLE = "The process designer is not visible to you."

person = me()
desk = services()
st.title("Process designer")
try:
    keys = desk.designer.process_keys(person.username)
except PermissionDenied:
    st.error(NOT_VISIBLE)
    st.stop()
if not keys:
    st.info("No process to design: no draft, no deployed version and no model in bpmn/.")
    st.stop()
if len(keys) > 1:
    first = keys.index(DEFAULT_PROCESS) if DEFAULT_PROCESS in keys else 0
    key = st.selectbox("Process", keys, index=first, key="designer.process")
else:
    key = keys[0]
try:
    draft = desk.designer.open(key, person.username)
except (PermissionDenied, NotFound):
    st.error(NOT_VISIBLE)
    st.stop()

saved = (
    f", last saved by {draft.saved_by} at {draft.saved_at:%Y-%m-%d %H:%M} UTC"
    if draft.saved_at is not None
    else f" (no saved changes: the {draft.origin} version)"
)
st.caption(
    f"Draft of **{key}**, draft version {draft.version}{saved}. Saving changes only the "
    "draft; Deploy makes it the version new tickets run."
)
# Messages go into one container that is always there: an element appearing above the
# tabs would shift them, and the browser would then load the editors afresh (losing the
# view, the selection and the undo history) after every save.
with st.container():
    ctx = editing(key, person.username, draft)
    show_flash()
# Only the open tab runs: the editors load once, not seven times per rerun.
tabs = st.tabs(list(SECTIONS), key="designer.section", on_change="rerun")
for section, tab in zip(SECTIONS.values(), tabs, strict=True):
    if tab.open:
        with tab:
            section(ctx)
forget_unmounted_editors(
    bpmn_open=bool(tabs[0].open), dmn_open=bool(tabs[1].open), tables=ctx.draft.source.dmn_xml
)
