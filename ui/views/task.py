"""A human task: the form generated from its JSON schema beside the ticket it belongs to."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import (
    ConflictError,
    ItsmError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ui.components.task_form import render_task_form
from ui.components.ticket_card import ticket_summary
from ui.session import me, open_ticket, services

person = me()
desk = services()
task_id = st.query_params.get("task", "")
try:
    opened = desk.tasks.open(task_id, person.username)
except NotFound:
    st.error("This task does not exist or is not visible to you.")
    st.stop()
task, ticket, form = opened.task, opened.ticket, opened.form

if done := st.session_state.pop("task.done", None):
    st.success(done)
    # A link, not a button: a button's click would rerun a page that no longer shows it.
    st.page_link(
        "views/ticket.py", label="Back to the ticket", query_params={"ticket": ticket.number}
    )
    st.stop()

st.title(task.name)
form_column, ticket_column = st.columns([3, 2], gap="large")

with ticket_column:
    details = desk.tickets.details(ticket.number, person.username)
    ticket_summary(details, desk.clock.now())
    client = details.client
    if person.client_id is None:
        authorised = [
            p.full_name for p in desk.tickets.authorised_people(client.code, person.username)
        ]
        st.markdown("**Authorised persons:** " + (", ".join(authorised) or "none"))
        with st.expander("Similar solved problems"):
            articles = desk.tickets.similar_articles(ticket.number, person.username)
            for article in articles:
                st.markdown(f"**{article['title']}**  \n{article['solution']}")
            if not articles:
                st.caption("No similar knowledge-base articles yet.")
    with st.expander("History"):
        for event in details.timeline[-15:]:
            st.caption(f"{event['occurred_at']:%Y-%m-%d %H:%M} · {event['summary']}")
    if st.button("Open the ticket"):
        open_ticket(ticket.number)

with form_column:
    if task.status.value != "open":
        by = f" by {task.completed_by}" if task.completed_by else ""
        if st.session_state.get(f"FormSubmitter:task.{task.id}-Submit"):
            st.error(
                f"Someone else changed this first: the task was {task.status.value}{by}"
                " before you submitted, so your entry was not saved."
            )
        else:
            st.info(f"This task is {task.status.value}{by}.")
        st.stop()
    if form and form.get("description"):
        st.caption(form["description"])
    if person.client_id is None:
        claim_column, release_column, reassign_column = st.columns([1, 1, 3])
        try:
            if task.assignee is None:
                st.warning("Unclaimed: claim it before you work on it.")
                if claim_column.button("Claim"):
                    desk.tasks.claim(task.id, person.username)
                    st.rerun()
            elif task.assignee == person.username and release_column.button("Release"):
                desk.tasks.release(task.id, person.username)
                st.rerun()
            if person.role.value in ("service_desk_lead", "admin"):
                people = desk.tickets.colleagues_for(task.candidate_group, person.username)
                with reassign_column.popover("Reassign"):
                    target = st.selectbox(
                        "To",
                        [p.username for p in people],
                        format_func=lambda u: next(p.full_name for p in people if p.username == u),
                    )
                    if st.button("Reassign", key="reassign.confirm"):
                        desk.tasks.reassign(task.id, target, person.username)
                        st.rerun()
        except ItsmError as err:
            st.error(str(err))
    errors: dict[str, str] = st.session_state.get(f"task.errors.{task.id}", {})
    submitted = render_task_form(form or {"properties": {}}, f"task.{task.id}", errors)
    if submitted is not None:
        try:
            result = desk.tasks.complete(task.id, submitted, person.username)
        except ValidationFailed as err:
            st.session_state[f"task.errors.{task.id}"] = {e.path: e.message for e in err.errors}
            st.rerun()
        except ConflictError as err:
            st.error(f"Someone else changed this first: {err}. Reload to see where it stands.")
        except PermissionDenied as err:
            st.error(str(err))
        except ItsmError as err:
            st.error(f"The process could not continue: {err}")
        else:
            st.session_state.pop(f"task.errors.{task.id}", None)
            waiting = ", ".join(t.name for t in result.next_tasks) or "nothing more"
            st.session_state["task.done"] = (
                f"Task completed. {result.ticket_number} now waits for: {waiting}."
                if result.held_up is None
                else f"Task completed. The next step of {result.ticket_number} "
                f"({result.held_up}) could not run yet; it is tried again automatically and "
                "the service desk is told if it keeps failing."
            )
            st.rerun()
