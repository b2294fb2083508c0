"""Restricted evaluation of the Python expressions and scripts found in BPMN and DMN.

SpiffWorkflow runs model code with plain ``eval``/``exec``. Process owners edit models in
the browser, so that code must not reach the operating system: every snippet is parsed
and checked against an allow-list before it is compiled, and it runs with a small set of
harmless builtins. Compiled code is cached per source text because DMN cells and gateway
conditions are evaluated on every step.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from functools import lru_cache
from types import CodeType
from typing import Any, Literal

from itsm.domain.errors import ItsmError


class UnsafeScript(ItsmError):
    """Model code uses a construct the sandbox refuses."""


_SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "range",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "ValueError",
    "KeyError",
    "TypeError",
    "IndexError",
    "ZeroDivisionError",
    "Exception",
)
SAFE_BUILTINS: Mapping[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}

_FORBIDDEN_NODES: tuple[type[ast.AST], ...] = (
    ast.Import,
    ast.ImportFrom,
    ast.Global,
    ast.Nonlocal,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.While,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.With,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.GeneratorExp,
    ast.Delete,
)
# Attribute names that lead from an ordinary object to frames, code, globals or the
# type system; ``format``/``format_map`` are here because their field syntax reads
# attributes ('{0.__class__}') without any attribute node in the AST.
_FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "format",
        "format_map",
        "mro",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "ag_code",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "f_code",
        "tb_frame",
        "tb_next",
        "co_code",
        "func_globals",
        "func_code",
    }
)


def _refusal(node: ast.AST) -> str | None:
    if isinstance(node, _FORBIDDEN_NODES):
        return f"'{type(node).__name__}' is not allowed in process scripts"
    if isinstance(node, ast.Attribute) and (
        node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRIBUTES
    ):
        return f"attribute '{node.attr}' is not allowed in process scripts"
    if isinstance(node, ast.Name) and node.id.startswith("__"):
        return f"name '{node.id}' is not allowed in process scripts"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return "strings containing '__' are not allowed in process scripts"
    return None


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: Literal["eval", "exec"]) -> CodeType:
    """Parse, check and compile model code once per distinct text."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as err:
        raise UnsafeScript(f"syntax error in '{source}': {err.msg}") from err
    for node in ast.walk(tree):
        reason = _refusal(node)
        if reason is not None:
            raise UnsafeScript(f"{reason}: {source!r}")
    code: CodeType = compile(tree, "<process-script>", mode)  # type: ignore[call-overload]
    return code


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    scope: dict[str, Any] = dict(variables)
    scope["__builtins__"] = SAFE_BUILTINS
    return eval(compile_checked(expression, "eval"), scope)


def execute(script: str, variables: dict[str, Any]) -> None:
    """Run a script task; names it binds (except functions) become process data."""
    scope: dict[str, Any] = dict(variables)
    scope["__builtins__"] = SAFE_BUILTINS
    exec(compile_checked(script, "exec"), scope)
    del scope["__builtins__"]
    for name in [name for name in variables if name not in scope]:
        del variables[name]
    variables.update({k: v for k, v in scope.items() if not callable(v)})
