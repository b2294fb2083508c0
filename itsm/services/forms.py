"""Human-task forms: validate submitted data against the task's JSON schema.

A form also says where its fields go: ``x-process-variables`` into the engine (the only data
gateways may decide on) and ``x-ticket-fields`` onto the ticket. Everything else stays in the
audit event of the completion, so the process data stays small.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from itsm.domain.errors import FieldError, ValidationFailed

TICKET_FIELDS = frozenset({"diagnosis", "resolution", "root_cause"})
_FORMATS = FormatChecker()
_validators: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Schemas come from immutable deployed definitions, cached by identity per process.
    validator = _validators.get(id(schema))
    if validator is None or validator.schema is not schema:
        validator = Draft202012Validator(schema, format_checker=_FORMATS)
        _validators[id(schema)] = validator
    return validator


_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")


def _path(error: Any) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        # One error per missing property; its name is only in the message.
        missing = _REQUIRED.match(str(error.message))
        return ".".join(filter(None, [path, missing["name"] if missing else ""])) or "(form)"
    return path or "(form)"


def _message(error: Any, schema: dict[str, Any]) -> str:
    if error.validator == "required":
        return "this field is required"
    if error.validator == "additionalProperties":
        return str(error.message)
    if error.validator == "enum":
        return "choose one of: " + ", ".join(map(str, error.validator_value))
    return str(error.message)


def validate_submission(schema: dict[str, Any] | None, data: Any) -> dict[str, Any]:
    """The submitted data if valid; otherwise ValidationFailed listing every field problem."""
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("(form)", "form data must be a JSON object")])
    if schema is None:
        return dict(data)
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValidationFailed(FieldError(_path(e), _message(e, schema)) for e in errors)
    return dict(data)


def process_variables(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    names = (schema or {}).get("x-process-variables", [])
    return {name: data.get(name) for name in names}


def ticket_fields(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    names = set((schema or {}).get("x-ticket-fields", [])) & TICKET_FIELDS
    return {name: data[name] for name in names if data.get(name)}
