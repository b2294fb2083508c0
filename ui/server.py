"""The web server: Streamlit as an ASGI app plus the two HTTP routes that own the cookie.

Streamlit pages run over a websocket and cannot set cookies, so the login page hands the
browser a one-minute ticket and sends it here; this route redeems it and sets an HttpOnly,
signed, expiring session cookie. A reload then finds the session again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from streamlit import config as streamlit_config

from itsm.services.accounts import SESSION_LIFETIME
from ui.session import (
    COOKIE_NAME,
    cookie_signer,
    services,
    unsign_cookie,
)

APP_SCRIPT = Path(__file__).with_name("app.py")


async def complete_login(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    token = services().accounts.redeem(ticket) if ticket else None
    response = RedirectResponse("/", status_code=303)
    if token is None:
        return RedirectResponse("/?login=expired", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie_signer().sign(token).decode("ascii"),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=services().settings.secure_cookies,
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    token = unsign_cookie(request.cookies.get(COOKIE_NAME))
    if token:
        services().accounts.logout(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


# Set in code: under uvicorn, Streamlit does not read STREAMLIT_* environment variables.
STREAMLIT_OPTIONS = {
    "browser.gatherUsageStats": False,
    "server.headless": True,
    "client.toolbarMode": "minimal",
    "global.developmentMode": False,
}


def create_app() -> st.App:
    options = {
        **STREAMLIT_OPTIONS,
        # The uploader shows and enforces this; the service enforces the exact byte limit.
        "server.maxUploadSize": max(1, -(-services().settings.max_attachment_bytes // 2**20)),
    }
    for key, value in options.items():
        streamlit_config.set_option(key, value, "ui.server")
    return st.App(
        APP_SCRIPT,
        routes=[
            Route("/auth/complete", complete_login, methods=["GET"]),
            Route("/auth/logout", logout, methods=["GET"]),
        ],
    )
