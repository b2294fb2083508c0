"""Human-task forms: validate submitted data against the task's JSON schema.

A form also says where its fields go: ``x-process-variables`` into the engine (the only data
gateways may decide on) and ``x-ticket-fields`` onto the ticket. Everything else stays in the
audit event of the completion, so the process data stays small.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

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


def schema_problems(schema: Any) -> list[str]:
    """What keeps ``schema`` from being a task form the renderer and validation can use."""
    if not isinstance(schema, dict):
        return ["a form must be a JSON object"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(part) for part in err.absolute_path)
        return [f"not a valid JSON schema{f' at {where}' if where else ''}: {err.message}"]
    if schema.get("type") != "object":
        return ['a form\'s schema must have "type": "object"']
    properties = schema.get("properties", {})
    if not all(isinstance(prop, dict) for prop in properties.values()):
        return ["every property must be an object describing one field"]
    problems = []
    for hint in ("x-order", "required", "x-process-variables", "x-ticket-fields"):
        names = schema.get(hint, [])
        if not isinstance(names, list):
            problems.append(f"{hint} must be a list of field names")
            continue
        unknown = [str(name) for name in names if name not in properties]
        if unknown:
            problems.append(f"{hint} names fields that are not in properties: {', '.join(unknown)}")
    return problems
