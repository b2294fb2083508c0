"""Managers and process owners: the newest tickets (dashboards come with the SLA work)."""

from __future__ import annotations

import streamlit as st

from ui.session import me, open_ticket, services

person = me()
desk = services()
st.title("Tickets")
number = st.text_input("Go to ticket number")
if number and st.button("Open"):
    open_ticket(number.strip())
for ticket in desk.tickets.recent(person.username, limit=50):
    left, middle, right = st.columns([4, 2, 1])
    left.markdown(f"**{ticket.number}** · {ticket.subject}")
    middle.markdown(ticket.status.value.replace("_", " "))
    if right.button("Open", key=f"t.{ticket.number}"):
        open_ticket(ticket.number)
