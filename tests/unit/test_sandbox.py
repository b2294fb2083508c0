"""Model code (scripts, conditions, DMN cells) cannot reach the operating system."""

from __future__ import annotations

import pytest

from itsm.engine.sandbox import UnsafeScript, evaluate, execute

ESCAPES = [
    "__import__('os').system('true')",
    "import os",
    "from os import system",
    "open('/etc/passwd').read()",
    "().__class__.__mro__[1].__subclasses__()",
    "''.__class__",
    "'{0.__class__}'.format(1)",
    "'{x}'.format_map({'x': 1})",
    "getattr(1, 'real')",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "globals()",
    "vars()",
    "type(1)",
    "(lambda: 1)()",
    "[x for x in ()].copy().__len__()",
    "(x for x in ()).gi_frame",
    "breakpoint()",
]


@pytest.mark.parametrize("code", ESCAPES)
def test_known_escapes_are_refused(code: str) -> None:
    with pytest.raises((UnsafeScript, NameError)):
        evaluate(code, {})


def test_scripts_cannot_define_functions_or_loop_forever() -> None:
    for script in ("def f():\n    return 1", "while True:\n    pass", "class A:\n    pass"):
        with pytest.raises(UnsafeScript):
            execute(script, {})


def test_ordinary_expressions_still_work() -> None:
    data = {"outcome": "resolved", "assignment": {"username": "jan.nowak"}, "n": 3}
    assert evaluate("outcome == 'resolved'", data) is True
    assert evaluate("assignment['username']", data) == "jan.nowak"
    assert evaluate("max(n, 5) + len([1, 2])", data) == 7
    assert evaluate("'P1' if n > 2 else 'P2'", data) == "P1"


def test_script_task_sets_and_removes_process_data() -> None:
    data = {"a": 1, "old": True}
    execute("b = a + 1\ndel_me = None", data)
    assert data == {"a": 1, "old": True, "b": 2, "del_me": None}
