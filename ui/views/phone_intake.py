"""Record a phone call as a ticket on behalf of the caller."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from itsm.domain.commands import NewTicket
from itsm.domain.errors import ItsmError
from itsm.domain.tickets import Category, ChangeType, Level
from ui.session import me, services

person = me()
desk = services()
st.title("Phone intake")

if done := st.session_state.pop("phone.done", None):
    st.success(f"Ticket {done} registered.")
    st.page_link("views/ticket.py", label="Open it", query_params={"ticket": done})

clients = desk.tickets.clients(person.username)
client_code = st.selectbox(
    "Client",
    [c.code for c in clients],
    format_func=lambda code: next(c.name for c in clients if c.code == code),
)
callers = desk.tickets.client_people(client_code, person.username)
with st.form("phone", clear_on_submit=True):
    caller = st.selectbox(
        "Caller",
        [p.username for p in callers],
        format_func=lambda u: next(
            f"{p.full_name} ({p.phone or '-'})" for p in callers if p.username == u
        ),
    )
    subject = st.text_input("Subject")
    description = st.text_area("What the caller said")
    columns = st.columns(4)
    category = columns[0].selectbox("Category", [c.value for c in Category])
    impact = columns[1].selectbox("Impact", [v.value for v in Level], index=1)
    urgency = columns[2].selectbox("Urgency", [v.value for v in Level], index=1)
    change = columns[3].selectbox("Change type", [c.value for c in ChangeType])
    submitted = st.form_submit_button("Register call", type="primary")

if submitted:
    try:
        command = NewTicket.model_validate(
            {
                "client_code": client_code,
                "requester": caller,
                "channel": "phone",
                "category": category,
                "subject": subject,
                "description": description or subject,
                "impact": impact,
                "urgency": urgency,
                "change_type": change,
            }
        )
        st.session_state["phone.done"] = desk.intake.register(command, person.username).number
        st.rerun()
    except ValidationError as err:
        for problem in err.errors():
            st.error(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}")
    except ItsmError as err:
        st.error(str(err))
