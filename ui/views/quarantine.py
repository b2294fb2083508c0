"""Messages the channels set aside (unknown senders, strangers' follow-ups, over limits)."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import ItsmError
from ui.session import me, services

person = me()
desk = services()
st.title("Quarantine")
st.caption(
    "Nothing accepted is thrown away: what could not become a ticket or a comment waits "
    "here with the reason. Once the sender is known (added as a person), try it again; "
    "or dismiss it, saying why."
)
if reviewed := st.session_state.pop("quarantine.reviewed", None):
    st.success(reviewed)

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
        again_column, dismiss_column = st.columns([1, 3])
        if again_column.button("Try again", key=f"release.{message['id']}"):
            try:
                outcome = desk.quarantine.release(message["id"], person.username)
            except ItsmError as err:
                st.error(str(err))
            else:
                if outcome.outcome == "quarantined":
                    st.warning(f"Still quarantined: {outcome.reason[:500]}")
                else:
                    done = outcome.outcome.replace("_", " ")
                    ticket = f" ({outcome.ticket_number})" if outcome.ticket_number else ""
                    st.session_state["quarantine.reviewed"] = f"Message {done}{ticket}."
                    st.rerun()
        with dismiss_column.popover("Dismiss"):
            note = st.text_input("Why", key=f"dismiss.note.{message['id']}")
            if st.button("Dismiss", key=f"dismiss.{message['id']}"):
                try:
                    desk.quarantine.dismiss(message["id"], person.username, note)
                except ItsmError as err:
                    st.error(str(err))
                else:
                    st.session_state["quarantine.reviewed"] = "Message dismissed."
                    st.rerun()
