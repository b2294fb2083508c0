"""Fault injection for the crash-safety tests: die exactly like a crash at a named point.

``fault_point("uow.before_commit")`` does nothing unless the environment variable
``ITSM_FAULT_AT`` names that point, as ``name`` (the first time it is reached) or ``name#N``
(the N-th time in this process). Then the process sends itself SIGKILL: no ``finally``, no
rollback, no flush, no atexit — what a power cut or the OOM killer does to a worker.

The variable is read once, on the first call (not at import, so a test can set it before
starting a child); afterwards an unarmed point is one global load and one comparison.
See docs/reliability.md for the points and the campaign that uses them.
"""

from __future__ import annotations

import os
import signal

ENVIRONMENT_VARIABLE = "ITSM_FAULT_AT"

_UNREAD = ("", 0)
_target: tuple[str, int] | None = _UNREAD
_reached = 0


def parse_target(value: str) -> tuple[str, int] | None:
    """``"name"`` → (name, 1); ``"name#3"`` → (name, 3); empty → None."""
    value = value.strip()
    if not value:
        return None
    name, _, occurrence = value.partition("#")
    count = int(occurrence) if occurrence else 1
    if not name or count < 1:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: expected 'name' or 'name#N', N >= 1")
    return name, count


def fault_point(name: str) -> None:
    """Kill this process here if ``ITSM_FAULT_AT`` says so; otherwise return at once."""
    global _target, _reached
    target = _target
    if target is None:
        return
    if target is _UNREAD:
        target = _target = parse_target(os.environ.get(ENVIRONMENT_VARIABLE, ""))
        if target is None:
            return
    if name != target[0]:
        return
    _reached += 1
    if _reached == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Forget what was read and counted (tests of this module only)."""
    global _target, _reached
    _target = _UNREAD
    _reached = 0
