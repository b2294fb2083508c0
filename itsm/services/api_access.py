"""API tokens for client integrations: created by an admin, shown once, scoped to one client."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsm.domain.directory import Client, Person
from itsm.domain.errors import PermissionDenied
from itsm.domain.people import Role
from itsm.services.ports import Clock, UnitOfWorkFactory

TOKEN_PREFIX = "itsm_"


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling the API: one token, acting for one client."""

    token_id: int
    name: str
    client: Client
    acting_as: str
    """A person of the client the integration acts through (the client's IT coordinator)."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiAccess:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def create_token(self, client_code: str, name: str, actor: str) -> str:
        """A new token for ``client_code``; the only time the token itself is visible."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._uow() as uow:
            admin: Person = uow.directory.person_by_username(actor)
            if admin.role is not Role.ADMIN:
                raise PermissionDenied("only an admin can create API tokens")
            client: Client = uow.directory.client_by_code(client_code)
            uow.api_tokens.add(
                name=name.strip() or "integration",
                token_hash=token_digest(token),
                client_id=client.id,
                created_at=self._clock.now(),
                created_by=actor,
            )
            uow.commit()
        return token

    def caller(self, token: str | None) -> ApiCaller | None:
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self._uow(read_only=True) as uow:
            row = uow.api_tokens.active_by_hash(token_digest(token))
            if row is None:
                return None
            client: Client = uow.directory.client(row["client_id"])
            if client.coordinator_id is None:
                return None
            coordinator: Person = uow.directory.person(client.coordinator_id)
        return ApiCaller(
            token_id=row["id"], name=row["name"], client=client, acting_as=coordinator.username
        )
