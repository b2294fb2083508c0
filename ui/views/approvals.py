"""The client's IT coordinator approves or rejects change requests from non-authorised staff."""

from __future__ import annotations

import streamlit as st

from ui.session import me, open_task, services

person = me()
desk = services()
st.title("Approvals")
st.caption("Change requests from people who are not authorised to order changes themselves.")

items = desk.tasks.inbox(person.username, group="coordinator")
if not items:
    st.info("No change request is waiting for your decision.")
for item in items:
    row = st.container(border=True)
    left, right = row.columns([4, 1])
    left.markdown(
        f"**{item.ticket.number}** · {item.ticket.subject}  \n"
        f"{item.ticket.change_type.value.replace('_', ' ')}"
    )
    if right.button("Open", key=f"approve.{item.task.id}", type="primary"):
        open_task(item.task.id)
