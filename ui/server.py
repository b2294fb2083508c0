"""The web server: Streamlit as an ASGI app plus the two HTTP routes that own the cookie.

Streamlit pages run over a websocket and cannot set cookies, so the login page hands the
browser a one-minute ticket and sends it here; this route redeems it and sets an HttpOnly,
signed, expiring session cookie. A reload then finds the session again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import config as streamlit_config

from itsm.services.accounts import SESSION_LIFETIME
from ui.session import (
    COOKIE_NAME,
    cookie_signer,
    services,
    unsign_cookie,
)

APP_SCRIPT = Path(__file__).with_name("app.py")

# Where the workbench's pages may load from: this server only. Text a sender wrote is escaped
# before it reaches Markdown (ui/components/literal.py); should a page miss that, an image URL
# in it still cannot fetch from another origin. Scripts
# and styles need 'unsafe-inline' (Streamlit's bootstrap script, its CSS-in-JS) and
# 'unsafe-eval' (Vega's expression compiler); they are still limited to this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self' blob: data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


class SecurityHeaders:
    """Adds the CSP to every response, and ``nosniff`` to Streamlit's media endpoint, which
    serves downloads (``Content-Disposition: attachment``) with the type the page chose."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        media = "/media/" in scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("Referrer-Policy", "same-origin")
                if media:
                    headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _navigation(request: Request) -> bool:
    """A top-level navigation, not an image or fetch a page made (e.g. from a ticket's
    Markdown). Browsers send Sec-Fetch-Dest over HTTPS and to localhost."""
    return request.headers.get("sec-fetch-dest", "document") == "document"


def _not_a_navigation() -> Response:
    return PlainTextResponse("Open this address in the browser's address bar.", 403)


async def complete_login(request: Request) -> Response:
    if not _navigation(request):
        return _not_a_navigation()
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
    if not _navigation(request):
        # A same-origin image in a ticket's text must not end the viewer's session.
        return _not_a_navigation()
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
        middleware=[Middleware(SecurityHeaders)],
    )
