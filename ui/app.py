"""Entry point: who is logged in decides which pages exist; each page is a short script."""

from __future__ import annotations

import streamlit as st

from itsm.domain.people import Role
from ui.session import current_person

st.set_page_config(
    page_title="itsm-orchestrator", page_icon=":material/support_agent:", layout="wide"
)

ENGINEERS = {Role.L1, Role.L2, Role.L3, Role.SERVICE_DESK_LEAD, Role.ADMIN}


def pages_for(role: Role) -> dict[str, list[st.Page]]:
    ticket = st.Page("views/ticket.py", title="Ticket", url_path="ticket", visibility="hidden")
    task = st.Page("views/task.py", title="Task", url_path="task", visibility="hidden")
    work: list[st.Page] = []
    if role in ENGINEERS:
        work += [
            st.Page("views/inbox.py", title="Inbox", url_path="inbox", default=True),
            st.Page("views/phone_intake.py", title="Phone intake", url_path="phone"),
        ]
    if role is Role.FIELD_TECHNICIAN:
        work.append(
            st.Page("views/field_visits.py", title="Field visits", url_path="field", default=True)
        )
    if role in (Role.REQUESTER, Role.COORDINATOR):
        work += [
            st.Page("views/report.py", title="Report a problem", url_path="report", default=True),
            st.Page("views/my_tickets.py", title="My tickets", url_path="mine"),
        ]
    if role is Role.COORDINATOR:
        work.append(st.Page("views/approvals.py", title="Approvals", url_path="approvals"))
    if role in (Role.MANAGER, Role.PROCESS_OWNER):
        work.append(
            st.Page("views/ticket_list.py", title="Tickets", url_path="tickets", default=True)
        )
    return {"Work": work, "": [ticket, task]}


person = current_person()
if person is None:
    navigation = st.navigation(
        [st.Page("views/login.py", title="Log in", url_path="login")], position="hidden"
    )
else:
    st.session_state["person"] = person
    with st.sidebar:
        st.markdown(f"**{person.full_name}**  \n{person.role.value.replace('_', ' ')}")
        st.link_button("Log out", "/auth/logout")
    navigation = st.navigation(pages_for(person.role))
navigation.run()
