"""schema_problems: what keeps a JSON schema from being a task form (the designer's check)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from itsm.services.forms import schema_problems
from itsm.settings import PROJECT_ROOT

FORMS = sorted((PROJECT_ROOT / "bpmn" / "forms").glob("*.json"))


@pytest.mark.parametrize("path", FORMS, ids=lambda path: path.name)
def test_the_bundled_forms_have_no_problems(path: Any) -> None:
    assert schema_problems(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ([], "a form must be a JSON object"),
        ({"type": "array"}, 'a form\'s schema must have "type": "object"'),
        (
            {"type": "object", "properties": {"a": {"type": "text"}}},
            "not a valid JSON schema at properties/a/type",
        ),
        (
            {"type": "object", "properties": {"a": {}}, "required": ["b"]},
            "required names fields that are not in properties: b",
        ),
        ({"type": "object", "x-order": "a"}, "x-order must be a list of field names"),
    ],
)
def test_problems_are_named(schema: Any, problem: str) -> None:
    [found] = schema_problems(schema)
    assert found.startswith(problem)
