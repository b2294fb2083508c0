"""The exceptions the core raises, so edges can map each kind to one user-facing answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ItsmError(Exception):
    """Base of every error the core raises on purpose; anything else is a bug."""


class ConfigError(ItsmError):
    """A configuration file is missing or invalid; the message names the file and the field."""


class NotFound(ItsmError):
    """The requested object does not exist (or is not visible to the caller)."""


class ConflictError(ItsmError):
    """The object changed since it was read (stale version) or the request clashes with it."""


class PermissionDenied(ItsmError):
    """The caller's role or authorisation does not allow the action."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; `path` is dotted, e.g. "sites[0].address"."""

    path: str
    message: str


class ValidationFailed(ItsmError):
    """Input was rejected; carries every field problem so a form can show them all at once."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        summary = "; ".join(f"{error.path}: {error.message}" for error in self.errors)
        super().__init__(summary or "validation failed")


class InvalidProcess(ItsmError):
    """A BPMN/DMN model cannot be parsed or deployed; the message says what to fix.

    A refused deployment also carries each reason on its own: ``findings`` (what the model
    check found) and ``failed_scenarios`` (the scenarios that did not pass)."""

    def __init__(
        self,
        message: str,
        *,
        findings: Iterable[object] = (),
        failed_scenarios: Iterable[object] = (),
    ) -> None:
        super().__init__(message)
        self.findings: tuple[object, ...] = tuple(findings)
        self.failed_scenarios: tuple[object, ...] = tuple(failed_scenarios)


class ProcessFailed(ItsmError):
    """An instance could not advance: a script, condition or service task failed."""

    def __init__(self, element_id: str, reason: str) -> None:
        self.element_id = element_id
        self.reason = reason
        super().__init__(f"step '{element_id}' failed: {reason}")
