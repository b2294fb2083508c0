"""Entry point: who is logged in decides which pages exist; each page is a short script."""

from __future__ import annotations

import streamlit as st

from itsm.domain.people import Role
from ui.components.redirect import go_to_auth_route
from ui.navigation import HIDDEN, MENUS
from ui.session import TOKEN_KEY, current_person, services

st.set_page_config(page_title="itsm-orchestrator", layout="wide")


def pages_for(role: Role) -> dict[str, list[st.Page]]:
    work = [
        st.Page(entry.script, title=entry.title, url_path=entry.url_path, default=index == 0)
        for index, entry in enumerate(MENUS[role])
    ]
    hidden = [
        st.Page(entry.script, title=entry.title, url_path=entry.url_path, visibility="hidden")
        for entry in HIDDEN
    ]
    return {"Work": work, "": hidden}


person = current_person()
if person is None:
    navigation = st.navigation(
        [st.Page("views/login.py", title="Log in", url_path="login")], position="hidden"
    )
else:
    st.session_state["person"] = person
    with st.sidebar:
        st.markdown(f"**{person.full_name}**  \n{person.role.value.replace('_', ' ')}")
        if person.client_id is None:  # notices are the provider's staff's only
            unread = services().notices.unread(person.username)
            if unread:
                st.markdown(f":orange-badge[{unread} unread notifications]")
        if st.button("Log out"):
            # Revoke now, server-side; the route then clears the cookie in this same tab.
            services().accounts.logout(st.session_state.pop(TOKEN_KEY, "") or "")
            st.session_state.pop("person", None)
            go_to_auth_route("/auth/logout", "itsm-logout-redirect")
            st.stop()
    navigation = st.navigation(pages_for(person.role))
navigation.run()
