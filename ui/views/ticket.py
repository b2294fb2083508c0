"""One ticket: data, SLA clocks, where the process stands, timeline, comments, attachments."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import ItsmError, NotFound, PermissionDenied
from ui.components.designer.cockpit import ticket_path
from ui.components.literal import code, literal
from ui.components.ticket_card import ticket_summary
from ui.session import me, open_task, services

# What a client's people see of the history; the rest is the service desk's own business.
CLIENT_TIMELINE = frozenset(
    {
        "ticket_registered",
        "engineer_assigned",
        "status_changed",
        "comment",
        "attachment",
        "vendor_hand_off",
        "field_visit_ordered",
        "approval_recorded",
        "resolved",
        "reopened",
    }
)

person = me()
desk = services()
number = st.query_params.get("ticket", "")
try:
    details = desk.tickets.details(number, person.username)
except NotFound:
    st.error("This ticket does not exist or is not visible to you.")
    st.stop()
staff = person.client_id is None
ticket = details.ticket

ticket_summary(details, desk.clock.now())
failure = details.instance.failure if details.instance is not None else None
if staff and failure is not None:
    step = code(failure.element_id)
    if failure.next_retry_at is None:
        st.warning(
            f"Incident: the process stopped at step {step} after {failure.attempts} failed "
            f"attempt(s), since {failure.failed_since:%Y-%m-%d %H:%M} UTC. An admin or the "
            "service desk lead can retry or skip it on the Incidents page."
        )
    else:
        st.info(
            f"Step {step} failed ({failure.attempts} attempt(s)); it is tried again "
            f"automatically at {failure.next_retry_at:%Y-%m-%d %H:%M} UTC."
        )
    st.code(failure.error or "(no message)", language=None, wrap_lines=True)
if verified := st.session_state.pop("ticket.verified", None):
    st.success(verified)
if not ticket.requester_verified:
    # As code: the contact is whatever the gateway sent, never to be rendered as markup.
    contact = code(ticket.reported_contact or "unknown")
    st.warning(
        f"Unverified requester: reported from {contact}. Nobody was answered "
        "automatically; find out who wrote before replying."
    )
    try:
        candidates = desk.verification.candidates(ticket.number, person.username) if staff else []
    except PermissionDenied:
        candidates = []  # staff who may not verify (2nd/3rd line) just see the warning
    if candidates:
        with st.form("verify_requester"):
            chosen = st.selectbox(
                "Who reported it",
                [p.username for p in candidates],
                format_func=lambda u: next(
                    f"{p.full_name} ({p.phone or p.email or '-'})"
                    for p in candidates
                    if p.username == u
                ),
            )
            if st.form_submit_button("Verify requester"):
                try:
                    done = desk.verification.verify(ticket.number, chosen, person.username)
                    st.session_state["ticket.verified"] = f"{done.number}: requester verified."
                    st.rerun()
                except ItsmError as err:
                    st.error(str(err))
if ticket.resolution:
    st.success(f"**Resolution:** {literal(ticket.resolution)}")
if ticket.vendor_name:
    st.info(
        f"With vendor **{literal(ticket.vendor_name)}** "
        f"(their reference {literal(ticket.vendor_reference)})"
    )

waiting = [task for task in details.tasks if task.status.value == "open"]
if waiting:
    st.subheader("Waiting for")
    for task in waiting:
        left, right = st.columns([4, 1])
        left.markdown(f"{task.name} · {task.candidate_group} · {task.assignee or 'unclaimed'}")
        if right.button("Open", key=f"open.{task.id}"):
            open_task(task.id)
elif details.instance is not None and staff:
    st.caption(f"Process version {details.process_version}: {details.instance.status.value}")

timeline_tab, comments_tab, files_tab, time_tab = st.tabs(
    ["Timeline", "Comments", "Attachments", "Time"]
)

with timeline_tab:
    for event in details.timeline:
        if not staff and event["kind"] not in CLIENT_TIMELINE:
            continue
        st.markdown(
            f":gray[{event['occurred_at']:%Y-%m-%d %H:%M}] · {literal(event['summary'])} "
            f":gray[({literal(event['actor'])})]"
        )

comments, files = desk.collaboration.thread(ticket.number, person.username)
with comments_tab:
    for comment in comments:
        label = ":orange-badge[internal] " if comment["internal"] else ""
        with st.chat_message("user"):
            st.markdown(
                f"{label}**{literal(comment['author_name'])}** · "
                f"{comment['created_at']:%Y-%m-%d %H:%M}"
            )
            st.text(comment["body"])  # plain text: never rendered as markup
    with st.form("comment", clear_on_submit=True):
        body = st.text_area("Add a comment")
        internal = st.checkbox("Internal note (service desk only)") if staff else False
        if st.form_submit_button("Post"):
            try:
                desk.collaboration.comment(ticket.number, body, person.username, internal=internal)
                st.rerun()
            except ItsmError as err:
                st.error(str(err))

with files_tab:
    for attachment in files:
        left, right = st.columns([4, 1])
        left.text(f"{attachment['display_name']} · {attachment['size'] // 1024 + 1} KB")
        download = desk.collaboration.download(attachment["id"], person.username)
        right.download_button(
            "Download",
            download.data,
            file_name=download.display_name,
            mime="application/octet-stream",
            key=f"dl.{attachment['id']}",
        )
    upload = st.file_uploader("Attach a file", key="ticket.upload")
    if upload is not None and st.button("Upload"):
        try:
            desk.collaboration.attach(
                ticket.number,
                upload.name,
                upload.getvalue(),
                person.username,
                media_type=upload.type or "",
            )
            st.rerun()
        except ItsmError as err:
            st.error(str(err))

with time_tab:
    st.metric("Time spent", f"{details.minutes_spent} min")
    for entry in details.time_entries:
        st.text(
            f"{entry['recorded_at']:%Y-%m-%d %H:%M}  {entry['person_name']}  {entry['minutes']} min"
        )
    for visit in details.field_visits:
        st.markdown(
            f"Field visit: {visit['status']}, {literal(visit['outcome'] or '')} "
            f"{visit['minutes'] or ''} min by {literal(visit['technician'] or '-')}"
        )

if staff and details.instance is not None:
    st.subheader("Process path")
    ticket_path(ticket.number, person.username)
