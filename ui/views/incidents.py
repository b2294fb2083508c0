"""Failed automatic steps: the incidents waiting for a person, and the steps still retried."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import ItsmError, NotFound, PermissionDenied, ValidationFailed
from itsm.domain.process import InstanceStatus
from itsm.services.incidents import IncidentOutcome
from ui.components.literal import code
from ui.session import me, services

DONE_KEY = "incidents.done"


def said(outcome: IncidentOutcome, what: str) -> tuple[str, str]:
    if outcome.status.is_failed:
        return "warning", f"{outcome.ticket_number}: {what}, but the step failed again."
    waiting = ", ".join(task.name for task in outcome.next_tasks) or "nothing more"
    return "success", f"{outcome.ticket_number}: {what}; the process now waits for: {waiting}."


person = me()
desk = services()
st.title("Incidents")
try:
    incidents = desk.incidents.open_incidents(person.username)
except (PermissionDenied, NotFound):
    st.error("Incidents are not visible to you.")
    st.stop()
st.caption(
    "A service task that fails is tried again automatically, each time waiting twice as long. "
    "After the last attempt the ticket's process stops at it until someone runs it again "
    "(once the cause is fixed) or skips it, saying why: a skipped step leaves its result empty."
)
if done := st.session_state.pop(DONE_KEY, None):
    kind, text = done
    (st.warning if kind == "warning" else st.success)(text)
if not incidents:
    st.info("No incidents: every process is running.")

for incident in incidents:
    key = incident.instance_id
    with st.container(border=True):
        head, link = st.columns([5, 1], vertical_alignment="center")
        if incident.status is InstanceStatus.INCIDENT:
            state = ":red-badge[incident]"
        else:
            state = ":orange-badge[retrying]"
        tries = f"{incident.attempts} failed attempt{'s' if incident.attempts != 1 else ''}"
        next_try = (
            f" · next attempt {incident.next_retry_at:%Y-%m-%d %H:%M} UTC"
            if incident.next_retry_at is not None
            else ""
        )
        head.markdown(
            f"{state} **{incident.ticket_number}** · {incident.client_code} · step "
            f"{code(incident.element_id)} · {tries} · since "
            f"{incident.failed_since:%Y-%m-%d %H:%M} UTC{next_try}"
        )
        head.text(incident.ticket_subject)  # plain text: a subject is data, never markup
        link.page_link(
            "views/ticket.py",
            label=f"Open {incident.ticket_number}",
            query_params={"ticket": incident.ticket_number},
        )
        st.code(incident.error or "(no message)", language=None, wrap_lines=True)
        retry_column, skip_column = st.columns([1, 3])
        if retry_column.button("Retry now", key=f"incident.retry.{key}"):
            try:
                outcome = desk.incidents.retry(key, person.username, version=incident.version)
            except ItsmError as err:
                st.error(str(err))
            else:
                st.session_state[DONE_KEY] = said(outcome, "the step ran again")
                st.rerun()
        with skip_column.popover("Skip"):
            note = st.text_input("Why may this step be skipped?", key=f"incident.note.{key}")
            if st.button("Skip the step", key=f"incident.skip.{key}"):
                try:
                    outcome = desk.incidents.skip(
                        key, person.username, note, version=incident.version
                    )
                except ValidationFailed as err:
                    for problem in err.errors:
                        st.error(problem.message)
                except ItsmError as err:
                    st.error(str(err))
                else:
                    st.session_state[DONE_KEY] = said(outcome, "the step was skipped")
                    st.rerun()
