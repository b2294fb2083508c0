"""Who is using the app: the built services, the signed session cookie, the current person."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

import streamlit as st
from itsdangerous import BadSignature, TimestampSigner

from itsm.bootstrap import Services, build
from itsm.domain.directory import Person
from itsm.services.accounts import SESSION_LIFETIME
from itsm.settings import Settings

COOKIE_NAME = "itsm_session"
TOKEN_KEY = "itsm_session_token"


@cache
def services() -> Services:
    return build(Settings())


def _secret(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


@cache
def cookie_signer() -> TimestampSigner:
    return TimestampSigner(_secret(services().settings), salt="itsm-session-cookie")


def unsign_cookie(value: str | None) -> str | None:
    if not value:
        return None
    try:
        raw: bytes = cookie_signer().unsign(value, max_age=int(SESSION_LIFETIME.total_seconds()))
        return raw.decode("ascii")
    except BadSignature:
        return None


def current_person() -> Person | None:
    """The logged-in person: from this browser session, the signed cookie, or OIDC."""
    accounts = services().accounts
    token = st.session_state.get(TOKEN_KEY) or unsign_cookie(st.context.cookies.get(COOKIE_NAME))
    person = accounts.person_for(token)
    if person is not None:
        st.session_state[TOKEN_KEY] = token
        return person
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        known = accounts.person_by_email(str(st.user.get("email", "")))
        if known is not None:
            st.session_state[TOKEN_KEY] = accounts.session_for(known, "oidc")
            return known
    st.session_state.pop(TOKEN_KEY, None)
    return None


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def oidc_available() -> bool:
    return _oidc_configured()


def me() -> Person:
    """The logged-in person (pages only run after app.py found one)."""
    person = st.session_state.get("person")
    if person is None:
        st.stop()
    return person  # type: ignore[no-any-return]


def open_task(task_id: str) -> None:
    st.switch_page("views/task.py", query_params={"task": task_id})


def open_ticket(number: str) -> None:
    st.switch_page("views/ticket.py", query_params={"ticket": number})
