"""Logging in and out: password check, sessions that expire and can be revoked.

Tokens are random and only their SHA-256 is stored, so a copy of the database yields no
usable session. A login first yields a one-minute, single-use ticket; the web edge redeems
it in an HTTP request that sets the long-lived cookie, so the cookie can be HttpOnly.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
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


class LoginThrottled(InvalidCredentials):
    """Too many wrong passwords for one username lately: no password is checked until the
    oldest of them is older than the window (whether the username exists or not)."""


@dataclass(frozen=True)
class LoginThrottle:
    """At most ``max_failures`` wrong passwords per username within ``window``."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        throttle: LoginThrottle = LoginThrottle(),
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
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
        """A single-use ticket to redeem within a minute, or InvalidCredentials (with
        LoginThrottled after too many wrong passwords for this username)."""
        username = username.strip()[:120]
        since = self._clock.now() - self._throttle.window
        with self._uow(read_only=True) as uow:
            failures = uow.sessions.failures_since(username, since)
            found = uow.sessions.password_hash(username)
        if len(failures) >= self._throttle.max_failures:
            wait = failures[-self._throttle.max_failures] + self._throttle.window
            minutes = max(1, math.ceil((wait - self._clock.now()).total_seconds() / 60))
            raise LoginThrottled(
                f"too many wrong passwords for this username: try again in {minutes} min"
            )
        # The (deliberately slow) hash check runs outside any transaction.
        stored = found[1] if found else None
        valid = self._hasher.verify(stored or self._decoy, password) and stored is not None
        with self._uow() as uow:
            if not valid or found is None:
                uow.sessions.forget_failures(username, before=since)
                uow.sessions.record_failure(username, self._clock.now())
                uow.commit()
                raise InvalidCredentials("wrong username or password")
            uow.sessions.forget_failures(username)
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
