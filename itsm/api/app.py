"""The HTTP API: create and read tickets, add comments — per client, by API token.

Every route calls the same services as the workbench and the CLI; errors the core raises on
purpose become one clear 4xx answer each. A token acts for its client only: anything of
another client is "not found".
"""

import hashlib
import json
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from itsm.api.schemas import (
    AlertOutcomeOut,
    AlertsOut,
    CommentIn,
    CommentOut,
    Problem,
    SmsIn,
    SmsOut,
    TicketIn,
    TicketOut,
)
from itsm.bootstrap import Services
from itsm.domain.alerts import AlertNotification
from itsm.domain.commands import NewTicket
from itsm.domain.errors import (
    ConflictError,
    ItsmError,
    NotFound,
    PermissionDenied,
    ProcessFailed,
    ValidationFailed,
)
from itsm.domain.tickets import Ticket
from itsm.services.api_access import ApiCaller
from itsm.services.intake import IdempotencyClaim

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    404: {"model": Problem},
    409: {"model": Problem},
    413: {"model": Problem},
    422: {"model": Problem},
}


class BodySizeLimit:
    """Refuses a request body over ``max_bytes`` with 413 before any route reads it: by its
    Content-Length, or — sent in chunks without one — as soon as the bytes received pass the
    limit. Nothing ever buffers or parses more than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"body larger than {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await JSONResponse({"detail": self._too_large()}, 413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the route's body read: answered as any HTTPException.
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, limited, send)


class TextRoute(APIRoute):
    """The API's routes: text containing NUL characters — in the path, the query or
    anywhere in a JSON body (as ``\\u0000``) — is refused with 422 before a route runs.
    No one writes it on purpose, and PostgreSQL cannot store it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refuse_nul(request: Request) -> Response:
            where = await _where_nul(request)
            if where:
                return JSONResponse({"detail": f"{where} must not contain NUL characters"}, 422)
            return await handler(request)

        return refuse_nul


async def _where_nul(request: Request) -> str | None:
    if any("\0" in value for value in request.path_params.values()):
        return "the path"
    if any("\0" in key or "\0" in value for key, value in request.query_params.multi_items()):
        return "the query"
    body = await request.body()  # bounded by BodySizeLimit; kept for the route
    if b"\\u0000" not in body:
        return None
    try:
        pending = [json.loads(body)]
    except (ValueError, RecursionError):
        return None  # not JSON (or too deep): the route refuses it with its own reason
    while pending:
        value = pending.pop()
        if isinstance(value, str) and "\0" in value:
            return "text"
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None


def _status_for(error: ItsmError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, ConflictError):
        return 409
    if isinstance(error, ValidationFailed):
        return 422
    if isinstance(error, ProcessFailed):
        return 503  # our process could not run; the request itself was fine
    return 400


def create_api(services: Services) -> FastAPI:
    api = FastAPI(
        title="itsm-orchestrator API",
        version="1",
        description="Tickets for client integrations. Authenticate with "
        "`Authorization: Bearer <token>` (`itsm token create`).",
    )
    api.router.route_class = TextRoute

    api.add_middleware(BodySizeLimit, max_bytes=services.settings.max_api_body_bytes)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if isinstance(error.__cause__, RecursionError):  # json.loads gave up on the nesting
            return JSONResponse({"detail": "JSON nested too deeply"}, 400)
        return await http_exception_handler(request, error)

    @api.exception_handler(ItsmError)
    async def core_error(_: Request, error: ItsmError) -> JSONResponse:
        body: dict[str, Any] = {"detail": str(error)}
        if isinstance(error, ValidationFailed):
            body["errors"] = [{"field": e.path, "message": e.message} for e in error.errors]
        return JSONResponse(body, status_code=_status_for(error))

    @api.exception_handler(ValidationError)
    async def command_error(_: Request, error: ValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": "invalid request", "errors": json.loads(error.json(include_url=False))}, 422
        )

    def caller(authorization: Annotated[str | None, Header()] = None) -> ApiCaller:
        scheme, _, token = (authorization or "").partition(" ")
        found = services.api_access.caller(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            raise HTTPException(
                401, "missing or invalid API token", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    Caller = Annotated[ApiCaller, Depends(caller)]

    def ticket_out(ticket: Ticket, viewer: str) -> TicketOut:
        details = services.tickets.details(ticket.number, viewer)
        return TicketOut(
            number=ticket.number,
            status=ticket.status.value,
            priority=ticket.priority,
            subject=ticket.subject,
            category=ticket.category.value,
            channel=ticket.channel.value,
            created_at=ticket.created_at,
            engineer=details.assignee.full_name if details.assignee else None,
            reaction_due_at=ticket.reaction_due_at,
            resolution_due_at=ticket.resolution_due_at,
            resolution=ticket.resolution,
        )

    @api.post("/api/v1/tickets", status_code=201, response_model=TicketOut, responses=ERRORS)
    def create_ticket(
        body: TicketIn,
        who: Caller,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> TicketOut:
        command = NewTicket.model_validate(
            {**body.model_dump(), "client_code": who.client.code, "channel": "api"}
        )
        if idempotency_key:
            digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
            ticket, created = services.intake.register_once(
                command, who.acting_as, IdempotencyClaim(who.token_id, idempotency_key, digest)
            )
            if not created:
                response.status_code = 200
                response.headers["Idempotent-Replayed"] = "true"
        else:
            ticket = services.intake.register(command, who.acting_as)
        return ticket_out(ticket, who.acting_as)

    @api.get("/api/v1/tickets/{number}", response_model=TicketOut, responses=ERRORS)
    def get_ticket(number: str, who: Caller) -> TicketOut:
        ticket = services.tickets.details(number, who.acting_as).ticket
        return ticket_out(ticket, who.acting_as)

    @api.get("/api/v1/tickets", response_model=list[TicketOut], responses=ERRORS)
    def list_tickets(
        who: Caller, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> list[TicketOut]:
        return [
            ticket_out(t, who.acting_as)
            for t in services.tickets.recent(who.acting_as, limit=limit)
        ]

    @api.post(
        "/api/v1/tickets/{number}/comments",
        status_code=201,
        response_model=CommentOut,
        responses=ERRORS,
    )
    def add_comment(number: str, body: CommentIn, who: Caller) -> CommentOut:
        details = services.tickets.details(number, who.acting_as)
        author = body.author or details.requester.username
        if author not in {
            p.username for p in services.tickets.client_people(who.client.code, who.acting_as)
        }:
            raise NotFound(f"person '{author}' not found")
        services.collaboration.comment(number, body.body, author)
        return CommentOut(ticket_number=number, author=author)

    def webhook_guard(expected: str | None) -> Callable[..., None]:
        """A provider-level bearer token for a gateway; the webhook is off without one."""

        def guard(authorization: Annotated[str | None, Header()] = None) -> None:
            scheme, _, token = (authorization or "").partition(" ")
            if (
                not expected
                or scheme.lower() != "bearer"
                or not secrets.compare_digest(token.strip().encode(), expected.encode())
            ):
                raise HTTPException(
                    401,
                    "missing or invalid webhook token",
                    headers={"WWW-Authenticate": "Bearer"},
                )

        return guard

    monitoring = webhook_guard(services.settings.alert_webhook_token)

    @api.post(
        "/api/v1/webhooks/sms",
        response_model=SmsOut,
        responses=ERRORS,
        dependencies=[Depends(webhook_guard(services.settings.sms_webhook_token))],
    )
    def sms(body: SmsIn, client: Annotated[str | None, Query(max_length=32)] = None) -> SmsOut:
        """Inbound SMS from the gateway: a ticket, or a comment when it names the sender's
        ticket. An unknown number becomes a ticket with an unverified requester when the
        `client` query parameter names the client whose gateway number received it (one
        receiver URL per client number); without it, it is kept in quarantine with its text."""
        result = services.sms.receive(body.sender, body.text, body.id, client_code=client)
        return SmsOut(outcome=result.outcome, ticket_number=result.ticket_number)

    @api.post(
        "/api/v1/webhooks/alertmanager",
        response_model=AlertsOut,
        responses=ERRORS,
        dependencies=[Depends(monitoring)],
    )
    def alertmanager(
        body: AlertNotification, client: Annotated[str | None, Query(max_length=32)] = None
    ) -> AlertsOut:
        """Prometheus Alertmanager webhook (v4; Grafana's format is accepted too). The client
        comes from a `client` label or the `client` query parameter of the receiver URL."""
        outcomes = services.alerts.receive(body, client_code=client)
        return AlertsOut(
            outcomes=[
                AlertOutcomeOut(alert=o.alert, outcome=o.outcome, ticket_number=o.ticket_number)
                for o in outcomes
            ]
        )

    return api


def create_app() -> FastAPI:
    """Factory for uvicorn (`itsm api`)."""
    from itsm.bootstrap import build

    return create_api(build())
