"""Logging in and out: password check, sessions that expire and can be revoked.

Tokens are random and only their SHA-256 is stored, so a copy of the database yields no
usable session. A login first yields a one-minute, single-use ticket; the web edge redeems
it in an HTTP request that sets the long-lived cookie, so the cookie can be HttpOnly.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Protocol

from itsm.domain.directory import Person
from itsm.domain.errors import FieldError, PermissionDenied, ValidationFailed
from itsm.domain.people import Role
from itsm.services.ports import Clock, UnitOfWorkFactory

SESSION_LIFETIME = timedelta(hours=12)
TICKET_LIFETIME = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class InvalidCredentials(PermissionDenied):
    """Wrong username or password (deliberately not saying which)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountService:
    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        # Verifying against a real hash for unknown users keeps the timing the same.
        self._decoy = hasher.hash(secrets.token_urlsafe(16))

    def set_password(self, username: str, password: str, actor: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(
                [FieldError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")]
            )
        with self._uow() as uow:
            if actor != username:
                admin: Person = uow.directory.person_by_username(actor)
                if admin.role is not Role.ADMIN:
                    raise PermissionDenied("only an admin can set another person's password")
            person: Person = uow.directory.person_by_username(username)
            uow.sessions.set_password_hash(person.id, self._hasher.hash(password))
            uow.commit()

    def login(self, username: str, password: str) -> str:
        """A single-use ticket to redeem within a minute, or InvalidCredentials."""
        with self._uow(read_only=True) as uow:
            found = uow.sessions.password_hash(username.strip())
        # The (deliberately slow) hash check runs outside any transaction.
        stored = found[1] if found else None
        valid = self._hasher.verify(stored or self._decoy, password) and stored is not None
        if not valid or found is None:
            raise InvalidCredentials("wrong username or password")
        with self._uow() as uow:
            ticket = self._open(uow, found[0], TICKET_LIFETIME, "ticket")
            uow.commit()
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """Exchange a login ticket for a session token; None if it is unknown or used."""
        with self._uow() as uow:
            now = self._clock.now()
            person_id = uow.sessions.active_person_id(_digest(ticket), now, "ticket")
            if person_id is None or not uow.sessions.revoke(_digest(ticket), now):
                return None
            token = self._open(uow, person_id, SESSION_LIFETIME, "password")
            uow.commit()
        return token

    def session_for(self, person: Person, method: str) -> str:
        """A session for someone an identity provider vouched for (OIDC)."""
        with self._uow() as uow:
            token = self._open(uow, person.id, SESSION_LIFETIME, method)
            uow.commit()
        return token

    def person_for(self, token: str | None) -> Person | None:
        if not token:
            return None
        with self._uow(read_only=True) as uow:
            person_id = uow.sessions.active_person_id(_digest(token), self._clock.now())
            if person_id is None:
                return None
            person: Person = uow.directory.person(person_id)
            return person if person.active else None

    def person_by_email(self, email: str) -> Person | None:
        with self._uow(read_only=True) as uow:
            matches = [
                p
                for p in uow.directory.people()
                if (p.email or "").lower() == email.strip().lower()
            ]
        return matches[0] if len(matches) == 1 else None

    def logout(self, token: str) -> None:
        with self._uow() as uow:
            uow.sessions.revoke(_digest(token), self._clock.now())
            uow.commit()

    def _open(self, uow: object, person_id: int, lifetime: timedelta, method: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        uow.sessions.add(  # type: ignore[attr-defined]
            token_hash=_digest(token),
            person_id=person_id,
            created_at=now,
            expires_at=now + lifetime,
            method=method,
        )
        return token
