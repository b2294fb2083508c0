"""Requester portal: report a problem or ask for a change."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from itsm.domain.commands import NewTicket
from itsm.domain.errors import ItsmError
from itsm.domain.tickets import Category, ChangeType
from ui.session import me, services

person = me()
desk = services()
st.title("Report a problem")

if done := st.session_state.pop("report.done", None):
    st.success(done["message"])
    st.page_link(
        "views/ticket.py", label="View the ticket", query_params={"ticket": done["number"]}
    )

CHANGE_LABELS = {
    "none": "No, something is broken or I have a question",
    "permission_change": "Change someone's permissions or access",
    "hardware_removal": "Remove hardware",
    "software_removal": "Remove software",
    "infrastructure_change": "Change the infrastructure (network, servers, firewall)",
}
with st.form("report", clear_on_submit=True):
    subject = st.text_input("Subject")
    description = st.text_area("Description")
    category = st.selectbox(
        "Category", [c.value for c in Category], format_func=lambda v: v.replace("_", " ")
    )
    urgency = st.radio("Urgency", ["low", "medium", "high"], index=1, horizontal=True)
    change = st.selectbox(
        "Is this a change request?",
        [c.value for c in ChangeType],
        format_func=CHANGE_LABELS.__getitem__,
    )
    files = st.file_uploader("Attachments", accept_multiple_files=True)
    submitted = st.form_submit_button("Submit ticket", type="primary")

if submitted:
    client = desk.tickets.clients(person.username)[0]
    try:
        command = NewTicket.model_validate(
            {
                "client_code": client.code,
                "requester": person.username,
                "channel": "portal",
                "category": category,
                "subject": subject,
                "description": description or subject,
                "urgency": urgency,
                "change_type": change,
            }
        )
        ticket = desk.intake.register(command, person.username)
        for upload in files or []:
            desk.collaboration.attach(
                ticket.number,
                upload.name,
                upload.getvalue(),
                person.username,
                media_type=upload.type or "",
            )
    except ValidationError as err:
        for problem in err.errors():
            st.error(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}")
    except ItsmError as err:
        st.error(str(err))
    else:
        details = desk.tickets.details(ticket.number, person.username)
        engineer = details.assignee.full_name if details.assignee else "the service desk"
        st.session_state["report.done"] = {
            "number": ticket.number,
            "message": f"Ticket {ticket.number} registered and assigned to {engineer}.",
        }
        st.rerun()
