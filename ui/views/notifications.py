"""Staff's own notices (SLA warnings and breaches so far), newest first, unread ones marked."""

from __future__ import annotations

import streamlit as st

from ui.session import me, services

KIND_LABELS = {"sla_warning": "SLA warning", "sla_breach": "SLA breach"}
# Enough to take every unread notice when marking them read, not only the page's newest.
ALL_UNREAD = 10_000

person = me()
desk = services()
st.title("Notifications")

notices = desk.notices.mine(person.username)
unread = desk.notices.unread(person.username)
if unread and st.button(f"Mark all as read ({unread})", key="notices.mark_all"):
    ids = [n["id"] for n in desk.notices.mine(person.username, unread_only=True, limit=ALL_UNREAD)]
    desk.notices.mark_read(person.username, ids)
    st.rerun()  # the sidebar's count was drawn before this click was handled
if not notices:
    st.info("No notifications.")
for notice in notices:
    kind = KIND_LABELS.get(notice["kind"], notice["kind"].replace("_", " ").capitalize())
    with st.container(border=True):
        text, link = st.columns([5, 1], vertical_alignment="center")
        new = "" if notice["read_at"] else ":orange-badge[unread] "
        text.markdown(f"{new}**{kind}** · :gray[{notice['created_at']:%Y-%m-%d %H:%M}]")
        text.text(notice["summary"])  # plain text: a summary is data, never markup
        if notice["ticket_number"]:
            link.page_link(
                "views/ticket.py",
                label=f"Open {notice['ticket_number']}",
                query_params={"ticket": notice["ticket_number"]},
            )
