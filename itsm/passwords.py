"""Password hashing with argon2 (argon2-cffi), the adapter behind ``PasswordHasher``."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self, *, fast: bool = False) -> None:
        # ``fast`` is for tests and the demo seed only: it keeps argon2id but lowers the cost.
        self._argon = (
            Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1) if fast else Argon2Hasher()
        )

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._argon.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False
