"""Log in with a local account (or the configured identity provider)."""

from __future__ import annotations

import streamlit as st

from itsm.services.accounts import InvalidCredentials, LoginThrottled
from ui.components.redirect import complete_login
from ui.session import TOKEN_KEY, oidc_available, services

_, middle, _ = st.columns([1, 2, 1])
middle.title("itsm-orchestrator")
middle.caption("Helpdesk workbench: sign in to see your queue or your tickets.")
if st.query_params.get("login") == "expired":
    st.warning("That sign-in link has expired; please sign in again.")

with middle.form("login"):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    accounts = services().accounts
    try:
        ticket = accounts.login(username, password)
    except LoginThrottled as refused:
        st.error(f"Not logged in: {refused}.")
    except InvalidCredentials:
        st.error("Wrong username or password.")
    else:
        # An HTTP route redeems the ticket and sets the HttpOnly cookie; Streamlit's
        # websocket cannot. Tests without a browser redeem it directly.
        if st.session_state.get("itsm_redeem_in_session"):
            st.session_state[TOKEN_KEY] = accounts.redeem(ticket)
            st.rerun()
        complete_login(ticket)

if oidc_available():
    st.divider()
    st.button("Sign in with your organisation", on_click=st.login)
