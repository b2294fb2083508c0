"""Send the browser to another URL of this app (the login hand-off to the cookie route)."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

_JS = """
export default function(component) {
    const { data } = component;
    if (data && typeof data.path === "string" && data.path.startsWith("/auth/")) {
        window.location.assign(data.path);
    }
}
"""
_redirect = st.components.v2.component("itsm.redirect", js=_JS)


def go_to_auth_route(path: str, key: str) -> None:
    """Navigate this tab to one of the app's /auth/ routes (which set or clear the cookie)."""
    _redirect(data={"path": path}, key=key)


def complete_login(ticket: str) -> None:
    path = "/auth/complete?" + urlencode({"ticket": ticket})
    _redirect(data={"path": path}, key="itsm-login-redirect")
    st.info("Signing you in…")
    st.markdown(f"If nothing happens, [continue]({path}).")
