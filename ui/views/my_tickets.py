"""Requester portal: my tickets, who handles them, and what is waiting for me."""

from __future__ import annotations

import streamlit as st

from ui.components.literal import literal
from ui.session import me, open_task, open_ticket, services

person = me()
desk = services()
st.title("My tickets")

waiting = desk.tasks.inbox(person.username, mine=True)
if waiting:
    st.subheader("Waiting for you")
    for item in waiting:
        left, right = st.columns([4, 1])
        left.markdown(
            f"**{item.ticket.number}** · {item.task.name} · {literal(item.ticket.subject)}"
        )
        if right.button("Open", key=f"task.{item.task.id}", type="primary"):
            open_task(item.task.id)

st.subheader("All my tickets" if person.role.value == "requester" else "Our tickets")
engineers = desk.tickets.engineers(person.username)
for ticket in desk.tickets.recent(person.username, limit=100):
    row = st.container(border=True)
    left, middle, right = row.columns([4, 2, 1])
    left.markdown(f"**{ticket.number}** · {literal(ticket.subject)}")
    engineer = engineers.get(ticket.assignee_id or 0, "not assigned yet")
    middle.markdown(f"{ticket.status.value.replace('_', ' ')}  \n:gray[{literal(engineer)}]")
    if right.button("Open", key=f"ticket.{ticket.number}"):
        open_ticket(ticket.number)
