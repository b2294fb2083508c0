"""Messages the channels set aside (unknown senders, strangers' follow-ups, over limits)."""

from __future__ import annotations

import streamlit as st

from ui.session import me, services

person = me()
desk = services()
st.title("Quarantine")
st.caption(
    "Nothing accepted is thrown away: what could not become a ticket or a comment waits "
    "here with the reason. Register it by phone intake once the sender is known."
)

messages = desk.quarantine.messages(person.username)
if not messages:
    st.info("Nothing in quarantine.")
for message in messages:
    with st.container(border=True):
        st.markdown(
            f"**{message['channel']}** · {message['received_at']:%Y-%m-%d %H:%M} · "
            f"from `{message['sender']}`"
        )
        st.text(message["subject"] or "(no subject)")  # plain text: never rendered as markup
        st.caption(message["reason"][:500])
        if message.get("raw_sha256"):
            original = desk.quarantine.raw(message["id"], person.username)
            st.download_button(
                "Download original",
                original.data,
                file_name=original.display_name,
                mime="application/octet-stream",
                key=f"raw.{message['id']}",
            )
