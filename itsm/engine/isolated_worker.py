"""The isolated script worker: runs model code that may run long or allocate a lot.

``itsm.engine.isolated`` starts this file as its own program, ``python -I -S <this file>``:
isolated mode, no site-packages, no environment, working directory ``/``, no inherited file
descriptors but the three pipes. It imports the standard library only, so the same file is
also imported by the parent for the value codec below.

Before it reads any model code it limits itself (``setrlimit``): address space (256 MB), no
file may be written (``RLIMIT_FSIZE`` 0), no file or socket may be opened (``RLIMIT_NOFILE``
at the three pipes), no process may be forked (``RLIMIT_NPROC`` 0), no core dump; started as
root it first becomes ``nobody`` (root ignores ``RLIMIT_NPROC``). The parent starts it in a
session of its own and kills the whole process group. CPU time is limited per request
(``RLIMIT_CPU``, a backstop: the parent's wall-clock timeout is the limit that counts).

Protocol, one JSON document per line in each direction:

* parent → worker, once: ``{"builtins": [names], "memory": bytes, "cpu": seconds}``;
  worker → parent: ``{"ready": true}``.
* parent → worker: ``{"id": n, "mode": "eval"|"exec", "source": text, "variables": {...}}``.
* worker → parent: ``{"id": n, "ok": true, "value": v}`` (eval), ``{"id": n, "ok": true,
  "changed": {...}, "deleted": [...]}`` (exec), ``{"id": n, "ok": false, "error":
  "TypeError", "args": [...]}`` or ``{"id": n, "ok": false, "abort": "memory"}``.

Values travel as JSON with a few tagged types (see ``encode``); the parent decodes a reply
with ``decode`` only, which builds nothing but plain data. Nothing is ever pickled.
"""

from __future__ import annotations

import builtins
import json
import os
import resource
import sys
import unicodedata  # noqa: F401 (loaded now: '\N{...}' escapes need it once files are closed)
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

TAG = "$sandbox"
"""Key marking an encoded non-JSON value; a plain dict holding this key is encoded too."""

_PLAIN = (str, int, float, bool)


def encode(value: Any) -> Any:
    """Task data to JSON-able data; raises ``TypeError`` for anything that is not data."""
    kind = type(value)
    if value is None or kind in _PLAIN:
        return value
    if kind is list:
        return [encode(item) for item in value]
    if kind is dict:
        if TAG not in value and all(type(key) is str for key in value):
            return {key: encode(item) for key, item in value.items()}
        return {TAG: "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if kind is tuple:
        return {TAG: "tuple", "v": [encode(item) for item in value]}
    if kind is set or kind is frozenset:
        return {TAG: kind.__name__, "v": [encode(item) for item in value]}
    if kind is datetime or kind is date or kind is time:
        return {TAG: kind.__name__, "v": value.isoformat()}
    if kind is timedelta:
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if kind is Decimal or kind is UUID:
        return {TAG: kind.__name__, "v": str(value)}
    if kind is bytes:
        return {TAG: "bytes", "v": value.decode("latin-1")}
    raise TypeError(f"a value of type '{kind.__name__}' is not process data")


def _restore(tagged: dict[str, Any]) -> Any:
    kind, value = tagged.get(TAG), tagged["v"]
    if kind == "dict":
        return {key: item for key, item in value}
    if kind == "tuple":
        return tuple(value)
    if kind == "set":
        return set(value)
    if kind == "frozenset":
        return frozenset(value)
    if kind in _FROM_TEXT and type(value) is str:
        return _FROM_TEXT[kind](value)
    if kind == "timedelta":
        days, seconds, microseconds = value
        return timedelta(days=days, seconds=seconds, microseconds=microseconds)
    raise ValueError(f"unknown tagged value {kind!r}")


_FROM_TEXT: dict[str, Any] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "Decimal": Decimal,
    "UUID": UUID,
    "bytes": lambda text: text.encode("latin-1"),
}


def _hook(obj: dict[str, Any]) -> Any:
    return _restore(obj) if TAG in obj else obj


def decode(text: str | bytes) -> Any:
    """JSON text (as written by ``dumps``) back to data; builds only plain data types."""
    return json.loads(text, object_hook=_hook)


def dumps(value: Any) -> str:
    """One protocol line (without the newline) for an already encoded value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- the worker program -------------------------------------------------------------------


_NOBODY = 65534


def _limit_self(memory: int) -> None:
    if os.geteuid() == 0:  # never run model code as root (containers, CI)
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)
    limits = [
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 3),
        (resource.RLIMIT_NPROC, 0),
    ]
    for which, value in limits:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. NPROC where the kernel does not allow it
            if which in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE):
                raise


def _cpu_budget(seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _error(err: BaseException) -> dict[str, Any]:
    args = [arg if type(arg) in _PLAIN else str(arg) for arg in err.args[:3]]
    args = [arg[:2000] if type(arg) is str else arg for arg in args]
    return {"ok": False, "error": type(err).__name__, "args": args}


def _run(request: dict[str, Any], raw: dict[str, Any], safe: dict[str, Any]) -> dict[str, Any]:
    mode, source, variables = request["mode"], request["source"], request["variables"]
    scope = dict(variables)
    scope["__builtins__"] = safe
    code = compile(source, "<process-script>", "eval" if mode == "eval" else "exec")
    if mode == "eval":
        value = eval(code, scope)
        if callable(value):
            raise TypeError(f"a value of type '{type(value).__name__}' is not process data")
        return {"ok": True, "value": encode(value)}
    exec(code, scope)
    del scope["__builtins__"]
    before = raw["variables"]
    changed = {}
    for name, value in scope.items():
        if callable(value):
            continue  # as in process: functions never become process data
        encoded = encode(value)
        if name not in before or before[name] != encoded:
            changed[name] = encoded
    deleted = [name for name in variables if name not in scope]
    return {"ok": True, "changed": changed, "deleted": deleted}


def _aborted(line: bytes) -> str:
    """The reply for a request that ran out of memory (with as little memory as possible)."""
    start = line.find(b'"id":') + 5
    end = line.find(b",", start)
    number = line[start:end] if start > 4 and end > start else b"null"
    return '{"id":' + number.decode("ascii", "replace") + ',"ok":false,"abort":"memory"}'


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config = json.loads(stdin.readline())
    safe = {name: getattr(builtins, name) for name in config["builtins"] if hasattr(builtins, name)}
    cpu = int(config["cpu"])
    _limit_self(int(config["memory"]))
    stdout.write(b'{"ready":true}\n')
    stdout.flush()
    for line in stdin:
        raw: dict[str, Any] = {}
        try:
            raw = json.loads(line)
            request = decode(line)
            _cpu_budget(cpu)
            reply = dumps({"id": raw.get("id"), **_run(request, raw, safe)})
        except MemoryError:
            reply = _aborted(line)
        except Exception as err:  # the model's own error, reported to the parent
            try:
                reply = dumps({"id": raw.get("id"), **_error(err)})
            except MemoryError:
                reply = _aborted(line)
        stdout.write(reply.encode("utf-8") + b"\n")
        stdout.flush()


if __name__ == "__main__":
    main()
