"""Restricted evaluation of the Python expressions and scripts found in BPMN and DMN.

SpiffWorkflow runs model code with plain ``eval``/``exec``. Process owners edit models in
the browser, so that code must neither reach the operating system nor hang or exhaust the
process that runs it. Three walls, each checked once per distinct source text (cached):

1. **Allow-list** (``UnsafeScript``): the code is parsed and refused if it imports, defines
   functions, classes or lambdas, loops with ``while``, matches patterns (``match`` reads
   attributes by name), names anything starting with ``__`` or reads any attribute
   starting with ``_``, ``format``/``format_map`` (their field syntax reads attributes
   without an attribute node), ``mro`` or frame/generator/code/traceback attributes
   (``gi_``, ``cr_``, ``ag_``, ``f_``, ``tb_``, ``co_``, ``func_``, ``im_`` …) or importer
   methods. The parser has already NFKC-normalised identifiers (``open`` in fullwidth
   letters *is* ``open``), so the check sees the names Python will use. The code runs with
   a short list of builtins (functions and types only, no module, no ``getattr``/``type``/
   ``vars``/``open``); the scope holds task data only: our script environment passes
   Spiff no globals, so nothing module-like is in reach (``tests/unit/test_sandbox.py``
   walks every exposed value's public attributes to prove it).
2. **Cost class**: code that is provably cheap runs in process. "Cheap" is a positive list:
   literals, names, comparisons, boolean logic, indexing and slicing, displays, small
   arithmetic, f-strings with constant small format specs, calls of a fixed set of linear
   builtins (``len``, ``str``, ``max`` …, never ``range``) and non-mutating methods
   (``lower``, ``get``, ``startswith`` …); scripts made only of assignments to names,
   ``if`` and ``pass`` (``timer_called = True``, ``v += 1``). Such code costs at most
   (code size × data size) and has no side effect until it is done (no mutating method, no
   item assignment, ``+=`` only on immutable values). The operators whose cost depends on
   operand *values* (``*``, ``%``, ``**``, ``<<``) are compiled into guarded calls that
   check sizes first; a script that reads back a name it assigned keeps only flat, bounded
   values (so ``x = x + x`` or ``x = [x, x]`` repeated cannot double without limit); a
   container result is measured, counting shared references every time. When a guard or
   the measure finds a value would be large, the code runs again, from the same inputs, in
   the worker: the same result, as nothing had happened yet. Everything else (loops,
   comprehensions, ``range``, ``sum`` with a start, ``join`` with a computed separator,
   mutating methods, ``try``, walrus) goes to the worker directly.
3. **Isolated worker** (``itsm.engine.isolated``): one warm subprocess per process with
   ``RLIMIT_AS`` 256 MB, CPU and file/fork limits, and a 2 s wall clock enforced by the
   parent, which kills it and starts a fresh one on the next request; a stopped runaway
   raises ``ScriptAborted`` (an ``ItsmError``), which the engine adapter reports as
   ``ProcessFailed`` naming the element.

Why not everything in a subprocess: gateway conditions and DMN cells are evaluated dozens
of times per human step (bar: ≤ 5 ms per step); a worker round trip costs ~0.2 ms plus the
JSON of the task data (and ~0.1 s to start a worker), the in-process path ~1 µs. Why not
only in process: ``eval`` cannot be interrupted, and ``sum(range(10**12))`` or
``[0] * 10**9`` would hang or exhaust the whole application process. The positive list
makes unknown constructs default to the worker: a construct this module does not know is
slower, never unbounded. Why not a per-evaluation scan of the scope for modules: it costs
as much as the evaluation itself (~0.9 µs for 30 keys); instead the scope is built only
from task data (JSON by construction) and the builtins above, and tests prove neither
reaches a module.
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, time, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any, Literal, NamedTuple
from uuid import UUID

from itsm.domain.errors import ItsmError
from itsm.engine import isolated
from itsm.engine.isolated import ScriptAborted

__all__ = [
    "SAFE_BUILTINS",
    "CheckedCode",
    "ScriptAborted",
    "UnsafeScript",
    "check",
    "evaluate",
    "execute",
    "worker",
]


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

# --- wall 1: the allow-list ---------------------------------------------------------------

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
    ast.Delete,
    # Class patterns read attributes by keyword name (``case int(__class__=c)``).
    ast.Match,
    ast.match_case,
    ast.MatchClass,
)
# Attribute names that lead from an ordinary object to frames, code, globals, importers or
# the type system; ``format``/``format_map`` are here because their field syntax reads
# attributes ('{0.__class__}') without any attribute node in the AST.
_FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "format",
        "format_map",
        "mro",
        "load_module",
        "exec_module",
        "create_module",
        "find_module",
        "find_spec",
        "find_loader",
        "get_code",
        "get_source",
        "get_data",
        "get_filename",
    }
)
_FORBIDDEN_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")


def _nfkc(name: str) -> str:
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def _refusal(node: ast.AST) -> str | None:
    if isinstance(node, _FORBIDDEN_NODES):
        return f"'{type(node).__name__}' is not allowed in process scripts"
    if isinstance(node, ast.Attribute):
        attr = _nfkc(node.attr)
        if attr.startswith(_FORBIDDEN_PREFIXES) or attr in _FORBIDDEN_ATTRIBUTES:
            return f"attribute '{attr}' is not allowed in process scripts"
    if isinstance(node, ast.Name) and _nfkc(node.id).startswith("__"):
        return f"name '{node.id}' is not allowed in process scripts"
    if isinstance(node, ast.arg | ast.keyword) and (_nfkc(node.arg or "")).startswith("__"):
        return f"name '{node.arg}' is not allowed in process scripts"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return "strings containing '__' are not allowed in process scripts"
    return None


# --- wall 2: the cost class ---------------------------------------------------------------

_MAX_ITEMS = 1_000_000
"""Characters or items one repetition may build in process."""
_MAX_INT_BITS = 1 << 16
"""Bits one power, product or shift may build in process."""
_MAX_RESULT_UNITS = 4_000_000
"""Logical size (bytes of text, 16 per item) of a container result kept from in process."""
_MAX_FORMAT_TEXT = 10_000
_SMALL_CONSTANT = 1000

_CHEAP_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Expression,
        ast.Module,
        ast.Expr,
        ast.Assign,
        ast.AugAssign,
        ast.If,
        ast.Pass,
        ast.Raise,
        ast.Assert,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.Invert,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.LShift,
        ast.RShift,
        ast.BitAnd,
        ast.BitOr,
        ast.BitXor,
        ast.Compare,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.Is,
        ast.IsNot,
        ast.In,
        ast.NotIn,
        ast.IfExp,
        ast.Dict,
        ast.Set,
        ast.List,
        ast.Tuple,
        ast.Starred,
        ast.Subscript,
        ast.Slice,
        ast.Attribute,
        ast.Call,
        ast.keyword,
        ast.JoinedStr,
        ast.FormattedValue,
    }
)
# Builtins whose cost is linear in their (already bounded) arguments. Not ``range``: it is
# the one builtin that makes a huge iterable out of a small number.
_CHEAP_FUNCTIONS = frozenset(_SAFE_BUILTIN_NAMES) - {"range", "sum", "round", "str"}
# Methods that neither mutate their object nor build more than linear output.
_CHEAP_METHODS = frozenset(
    {
        # str
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "casefold",
        "title",
        "capitalize",
        "swapcase",
        "startswith",
        "endswith",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "find",
        "rfind",
        "index",
        "rindex",
        "count",
        "isdigit",
        "isalpha",
        "isalnum",
        "isnumeric",
        "isdecimal",
        "isspace",
        "islower",
        "isupper",
        "istitle",
        "isidentifier",
        "isascii",
        "removeprefix",
        "removesuffix",
        # dict, list, set (copies are shallow and nothing in cheap code mutates)
        "get",
        "keys",
        "values",
        "items",
        "copy",
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "issubset",
        "issuperset",
        "isdisjoint",
        # datetime, date, time, timedelta, numbers
        "isoformat",
        "date",
        "time",
        "weekday",
        "isoweekday",
        "isocalendar",
        "timestamp",
        "total_seconds",
        "toordinal",
        "strftime",
        "bit_length",
        "is_integer",
        "as_integer_ratio",
    }
)
# Methods that stay cheap when their arguments are small constants (and ``replace``).
_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
# Builtins whose arguments are checked at the call: passed as a value (``map(round, a, b)``)
# they would be called with arguments nobody checked.
_CHECKED_AT_CALL = frozenset({"range", "round", "sum"})
# Attributes read without a call: plain data fields of numbers and dates.
_DATA_ATTRIBUTES = frozenset(
    {
        "real",
        "imag",
        "numerator",
        "denominator",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "microsecond",
        "days",
        "seconds",
        "microseconds",
    }
)
_WIDE_FORMAT = re.compile(r"\*|\d{4,}")
_WIDE_FORMAT_BYTES = re.compile(rb"\*|\d{4,}")


def _small_constant(node: ast.AST, limit: int = _SMALL_CONSTANT) -> bool:
    if not isinstance(node, ast.Constant):
        return False
    value = node.value
    if isinstance(value, bool | int | float):
        return abs(value) <= limit
    return isinstance(value, str | bytes) and len(value) <= limit


def _call_cost(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        name = func.id
        if name not in SAFE_BUILTINS:
            # Nothing in scope but the builtins is callable (task data is JSON, callables
            # never become data): such a call fails at once, in process as in the worker.
            return None
        if name in _CHEAP_FUNCTIONS:
            return None
        if name == "sum" and len(call.args) == 1 and not call.keywords:
            return None  # a start value (sum(lists, [])) would make it quadratic
        if (
            name == "round"
            and not call.keywords
            and (
                len(call.args) == 1 or (len(call.args) == 2 and _small_constant(call.args[1], 100))
            )
        ):
            return None  # round(10, -10**9) computes 10**(10**9)
        if name == "str" and len(call.args) <= 1 and not call.keywords:
            return None  # str(b, encoding) loads codecs
        return f"call of '{name}'"
    if isinstance(func, ast.Attribute):
        method = func.attr
        if method in _CHEAP_METHODS:
            return None
        if method == "join" and _small_constant(func.value, 16):
            return None  # a short constant separator: output linear in the parts
        values = [*call.args, *(keyword.value for keyword in call.keywords)]
        if method == "replace" and all(_small_constant(value) for value in values):
            old, new = [*call.args, None, None][:2]
            if not (
                isinstance(old, ast.Constant)
                and isinstance(new, ast.Constant)
                and isinstance(old.value, str | bytes)
                and isinstance(new.value, str | bytes)
            ):
                return None  # datetime.replace(hour=0)
            if old.value and len(new.value) <= max(16, len(old.value)):
                return None  # output at most 16 times the text
        if method in _PADDING_METHODS and all(_small_constant(value) for value in values):
            return None  # output at most max(len, 1000)
        return f"call of method '{method}'"
    return "call of a computed function"


def _assigned_names(tree: ast.AST) -> tuple[set[str], str | None]:
    """Names a script binds, or why its statements are not all cheap assignments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
                for element in elements:
                    if not isinstance(element, ast.Name):
                        return names, "assignment to something other than a name"
                    names.add(element.id)
        elif isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                return names, "augmented assignment to something other than a name"
            names.add(node.target.id)
    return names, None


def _cost(tree: ast.AST) -> str | None:
    """Why ``tree`` may not run in process (None: it is cheap), once ``_assigned_names``
    found only assignments to names."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if type(node) not in _CHEAP_NODES:
            return f"'{type(node).__name__}'"
        if isinstance(node, ast.Name):
            if node.id == "range":
                return "'range'"
            if node.id in _CHECKED_AT_CALL and id(node) not in called:
                return f"'{node.id}' used as a value"
        elif isinstance(node, ast.Call):
            reason = _call_cost(node)
            if reason is not None:
                return reason
        elif isinstance(node, ast.Attribute):
            if id(node) not in called and node.attr not in _DATA_ATTRIBUTES:
                return f"method '{node.attr}' used as a value"
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = node.format_spec
            if not isinstance(spec, ast.JoinedStr) or not all(
                isinstance(part, ast.Constant)
                and isinstance(part.value, str)
                and not _WIDE_FORMAT.search(part.value)
                for part in spec.values
            ):
                return "a computed or wide format spec"
    return None


class _Isolate(BaseException):
    """Raised by a guard: this value would be large, run the code in the worker instead."""


_SHORT_SCALARS = (int, float, bool, type(None))


def _check_repeat(sequence: Any, times: int) -> None:
    if times <= 1:
        return
    if len(sequence) * times > _MAX_ITEMS:
        raise _Isolate
    if not isinstance(sequence, str | bytes) and not all(
        isinstance(item, _SHORT_SCALARS) or (isinstance(item, str) and len(item) <= 64)
        for item in sequence
    ):
        raise _Isolate  # repeated references to containers multiply their logical size


_SEQUENCES = (str, bytes, list, tuple)


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > _MAX_INT_BITS:
            raise _Isolate
    elif isinstance(b, int) and isinstance(a, _SEQUENCES):
        _check_repeat(a, b)
    elif isinstance(a, int) and isinstance(b, _SEQUENCES):
        _check_repeat(b, a)
    return a * b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        if len(a) > _MAX_FORMAT_TEXT or _WIDE_FORMAT.search(a):
            raise _Isolate  # '%*d', '%999999999s': the output size comes from the format
    elif isinstance(a, bytes) and (len(a) > _MAX_FORMAT_TEXT or _WIDE_FORMAT_BYTES.search(a)):
        raise _Isolate
    return a % b


def _pow(a: Any, b: Any) -> Any:
    if (
        isinstance(a, int)
        and isinstance(b, int)
        and b > 0
        and a not in (-1, 0, 1)
        and b * a.bit_length() > _MAX_INT_BITS
    ):
        raise _Isolate
    return a**b


def _lshift(a: Any, b: Any) -> Any:
    if (
        isinstance(a, int)
        and isinstance(b, int)
        and a
        and b > 0
        and a.bit_length() + b > _MAX_INT_BITS
    ):
        raise _Isolate
    return a << b


_GUARDS: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Mult: ("__sandbox_mul__", _mul),
    ast.Mod: ("__sandbox_mod__", _mod),
    ast.Pow: ("__sandbox_pow__", _pow),
    ast.LShift: ("__sandbox_lshift__", _lshift),
}
_AUGMENTED: dict[str, Callable[[Any, Any], Any]] = {
    "Add": operator.add,
    "Sub": operator.sub,
    "Mult": _mul,
    "Div": operator.truediv,
    "FloorDiv": operator.floordiv,
    "Mod": _mod,
    "Pow": _pow,
    "LShift": _lshift,
    "RShift": operator.rshift,
    "BitAnd": operator.and_,
    "BitOr": operator.or_,
    "BitXor": operator.xor,
}
_IMMUTABLE_SCALARS = (int, float, bool, str, complex)


def _augment(op: str, a: Any, b: Any) -> Any:
    # Only immutable values, so ``x += y`` never changes an object the data shares.
    if not isinstance(a, _IMMUTABLE_SCALARS):
        raise _Isolate
    return _AUGMENTED[op](a, b)


_KEPT_SCALARS = (int, float, bool, complex, type(None), date, time, timedelta, Decimal, UUID)


def _keep(value: Any) -> Any:
    """A value a script assigns and may read again: only flat, bounded values, so that
    ``x = x + x`` or ``x = [x, x]`` repeated cannot grow it without limit."""
    if isinstance(value, str | bytes):
        if len(value) > _MAX_ITEMS:
            raise _Isolate
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _MAX_INT_BITS:
            raise _Isolate
    elif not isinstance(value, _KEPT_SCALARS):
        if not isinstance(value, list | tuple | set | frozenset | dict):
            raise _Isolate
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        if len(items) > _MAX_ITEMS or not all(
            isinstance(item, _KEPT_SCALARS) or (isinstance(item, str) and len(item) <= 64)
            for item in items
        ):
            raise _Isolate  # nested containers or long texts: their sharing multiplies size
    return value


_INPROCESS_BUILTINS: dict[str, Any] = {
    **SAFE_BUILTINS,
    **{name: guard for name, guard in _GUARDS.values()},
    "__sandbox_augment__": _augment,
    "__sandbox_keep__": _keep,
}


class _Guarded(ast.NodeTransformer):
    """Routes value-dependent operators through the guards (names no model code can use);
    in a script that reads names it assigns, every assigned value goes through ``_keep``."""

    def __init__(self, keep: bool) -> None:
        self._keep = keep

    def _kept(self, value: ast.expr) -> ast.expr:
        if not self._keep:
            return value
        call = ast.Call(func=ast.Name("__sandbox_keep__", ast.Load()), args=[value], keywords=[])
        return ast.copy_location(call, value)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        node.value = self._kept(node.value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(
            func=ast.Name(guard[0], ast.Load()), args=[node.left, node.right], keywords=[]
        )
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        assert isinstance(node.target, ast.Name)  # check sends anything else to the worker
        name = node.target.id
        value = ast.Call(
            func=ast.Name("__sandbox_augment__", ast.Load()),
            args=[ast.Constant(type(node.op).__name__), ast.Name(name, ast.Load()), node.value],
            keywords=[],
        )
        return ast.copy_location(
            ast.Assign(targets=[ast.Name(name, ast.Store())], value=value), node
        )


_SCALAR_RESULTS = frozenset({str, int, float, bool, type(None)})


def _within_size(value: Any) -> bool:
    """Whether a container result is small, counting shared references every time."""
    if type(value) in _SCALAR_RESULTS:
        return True
    units = 0
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            units += len(item)
        elif kind is dict:
            units += 16 * len(item) + 16
            if units > _MAX_RESULT_UNITS:
                return False
            pending.extend(item.keys())
            pending.extend(item.values())
        elif kind is list or kind is tuple or kind is set or kind is frozenset:
            units += 16 * len(item) + 16
            if units > _MAX_RESULT_UNITS:
                return False
            pending.extend(item)
        else:
            units += 16
        if units > _MAX_RESULT_UNITS:
            return False
    return True


# --- checking and compiling, once per source text -----------------------------------------


class CheckedCode(NamedTuple):
    source: str
    """The text as it is compiled (an expression is stripped)."""
    mode: Literal["eval", "exec"]
    in_process: CodeType | None
    """Compiled with guards when the code is cheap; None: it always runs in the worker."""
    isolated_because: str | None
    """Why the code runs in the worker (None when it is cheap)."""
    assigned: tuple[str, ...]
    """Names a cheap script binds (their values are measured before they are kept)."""


@lru_cache(maxsize=4096)
def check(source: str, mode: Literal["eval", "exec"]) -> CheckedCode:
    """Parse and check model code; refuse it (``UnsafeScript``) or say where it runs."""
    text = source.strip() if mode == "eval" else source
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as err:
        raise UnsafeScript(f"syntax error in '{source}': {err.msg}") from err
    except (RecursionError, MemoryError, ValueError) as err:
        raise UnsafeScript(f"model code too complex to check: {source[:80]!r}") from err
    for node in ast.walk(tree):
        reason = _refusal(node)
        if reason is not None:
            raise UnsafeScript(f"{reason}: {source!r}")
    assigned, costly = _assigned_names(tree)
    costly = costly or _cost(tree)
    if costly is not None:
        return CheckedCode(text, mode, None, costly, ())
    reads_back = any(
        isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned
        for node in ast.walk(tree)
    )
    try:
        guarded = ast.fix_missing_locations(_Guarded(keep=reads_back).visit(tree))
        code: CodeType = compile(guarded, "<process-script>", mode)
    except (RecursionError, MemoryError, ValueError) as err:
        raise UnsafeScript(f"model code too complex to compile: {source[:80]!r}") from err
    return CheckedCode(text, mode, code, None, tuple(sorted(assigned)))


_worker = isolated.register(isolated.ScriptWorker(_SAFE_BUILTIN_NAMES))


def worker() -> isolated.ScriptWorker:
    """The process's isolated worker (for tests and monitoring: ``starts``, ``pid``)."""
    return _worker


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    checked = check(expression, "eval")
    if checked.in_process is not None:
        scope: dict[str, Any] = dict(variables)
        scope["__builtins__"] = _INPROCESS_BUILTINS
        try:
            result = eval(checked.in_process, scope)
        except _Isolate:
            pass
        else:
            if type(result) in _SCALAR_RESULTS:
                return result
            if not callable(result) and _within_size(result):
                return result  # a callable goes to the worker, which refuses it as data
    return _worker.evaluate(checked.source, variables)


def execute(script: str, variables: dict[str, Any]) -> None:
    """Run a script task; names it binds (except functions) become process data."""
    checked = check(script, "exec")
    if checked.in_process is not None:
        scope: dict[str, Any] = dict(variables)
        scope["__builtins__"] = _INPROCESS_BUILTINS
        try:
            exec(checked.in_process, scope)
        except _Isolate:
            pass
        else:
            if all(_within_size(scope[name]) for name in checked.assigned if name in scope):
                del scope["__builtins__"]
                for name in [name for name in variables if name not in scope]:
                    del variables[name]
                variables.update({k: v for k, v in scope.items() if not callable(v)})
                return
    changed, deleted = _worker.execute(checked.source, variables)
    for name in deleted:
        variables.pop(name, None)
    variables.update(changed)
