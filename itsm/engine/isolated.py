"""One warm worker process per application process for model code that may run away.

``sandbox`` sends here only the code its cost check could not prove cheap (loops,
comprehensions, ``range``, large powers or repetitions, ...). The worker
(``isolated_worker.py``) runs under ``setrlimit`` limits; this side enforces the wall clock:
a request that has not answered within ``timeout`` seconds gets its worker killed (SIGKILL,
reaped at once) and a ``ScriptAborted``; the next request starts a fresh worker. The worker
is untrusted: its replies are size-capped JSON, decoded into plain data only.

The worker starts lazily on the first request, never at import, and is shared by the
threads of the process (Streamlit, uvicorn): a lock serialises requests, so a runaway
script delays other isolated evaluations by at most its timeout. A forked child forgets its
parent's worker and starts its own.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from itsm.domain.errors import ItsmError
from itsm.engine import isolated_worker

WORKER_PROGRAM = Path(isolated_worker.__file__).resolve()
TIMEOUT_SECONDS = 2.0
MEMORY_BYTES = 256 * 1024 * 1024
_MAX_REPLY_BYTES = 32 * 1024 * 1024
_START_TIMEOUT_SECONDS = 15.0


class ScriptAborted(ItsmError):
    """Model code was stopped: it ran too long, needed too much memory, or its worker died."""


# The model's own errors are raised again as the same built-in exception; nothing else is
# ever instantiated from a worker's reply.
_ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        ArithmeticError,
        AssertionError,
        AttributeError,
        Exception,
        IndexError,
        KeyError,
        LookupError,
        NameError,
        OverflowError,
        RecursionError,
        RuntimeError,
        TypeError,
        UnboundLocalError,
        UnicodeError,
        ValueError,
        ZeroDivisionError,
    )
}


class _Died(Exception):
    """The worker closed its output (it exited or was killed)."""


class _Protocol(_Died):
    """The worker wrote something that is not one reply line."""


class ScriptWorker:
    """A lazily started, restartable worker process with a wall-clock limit per request."""

    def __init__(
        self,
        builtin_names: Sequence[str],
        *,
        timeout: float = TIMEOUT_SECONDS,
        memory: int = MEMORY_BYTES,
        program: Path = WORKER_PROGRAM,
    ) -> None:
        self.timeout = timeout
        self.memory = memory
        self._program = program
        self._config = (
            json.dumps({"builtins": list(builtin_names), "memory": memory, "cpu": int(timeout) + 1})
            + "\n"
        ).encode()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self.starts = 0
        """Workers started so far (a restart after an abort counts)."""
        self.requests = 0
        """Requests sent so far: stays 0 while all model code is cheap."""

    @property
    def pid(self) -> int | None:
        """The running worker's process id, None when none is running."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def evaluate(self, source: str, variables: Mapping[str, Any]) -> Any:
        reply = self._request("eval", source, variables)
        if "value" not in reply:
            raise ScriptAborted("the isolated worker sent an invalid reply")
        return reply["value"]

    def execute(
        self, source: str, variables: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """Run a script; returns the variables it changed or added and those it deleted."""
        reply = self._request("exec", source, variables)
        changed, deleted = reply.get("changed"), reply.get("deleted")
        if not isinstance(changed, dict) or not isinstance(deleted, list):
            raise ScriptAborted("the isolated worker sent an invalid reply")
        return changed, [str(name) for name in deleted]

    def close(self) -> None:
        with self._lock:
            self._stop(graceful=True)

    # --- internals --------------------------------------------------------------------------

    def _request(
        self, mode: Literal["eval", "exec"], source: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        try:
            encoded = {
                str(name): isolated_worker.encode(value) for name, value in variables.items()
            }
        except (TypeError, ValueError, RecursionError) as err:
            raise TypeError(f"process data cannot be handed to an isolated script: {err}") from err
        with self._lock:
            process = self._running()
            self.requests += 1
            request = {"id": self.requests, "mode": mode, "source": source, "variables": encoded}
            line = (isolated_worker.dumps(request) + "\n").encode("utf-8")
            try:
                _write_all(process, line)
                raw = self._read_line(process, time.monotonic() + self.timeout)
            except TimeoutError:
                self._stop()
                raise ScriptAborted(f"script exceeded {self.timeout:g} s and was stopped") from None
            except (_Died, OSError) as err:
                raise ScriptAborted(f"script stopped: {self._death_reason(err)}") from err
            try:
                reply = isolated_worker.decode(raw)
                if not isinstance(reply, dict) or reply.get("id") != request["id"]:
                    raise ValueError("not the reply to this request")
            except Exception as err:  # whatever an untrusted reply may trigger in decoding
                self._stop()
                raise ScriptAborted("the isolated worker sent an invalid reply") from err
            if reply.get("abort") == "memory":
                self._stop()  # a worker that ran out of memory may be in a bad state
                raise ScriptAborted(
                    f"script exceeded {self.memory // (1024 * 1024)} MB and was stopped"
                )
        if reply.get("ok") is True:
            return reply
        raise _model_error(reply)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():  # forked: that worker belongs to the parent process
            self._process, self._owner = None, os.getpid()
        process = self._process
        if process is not None and process.poll() is None:
            return process
        self._stop()
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(self._program)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            cwd="/",
            env={},
            bufsize=0,
            start_new_session=True,  # its own process group: a kill reaches anything it forked
        )
        self._process = process
        self.starts += 1
        try:
            _write_all(process, self._config)
            ready = self._read_line(process, time.monotonic() + _START_TIMEOUT_SECONDS)
            if json.loads(ready) != {"ready": True}:
                raise _Protocol("unexpected greeting")
        except (TimeoutError, _Died, OSError, ValueError) as err:
            self._stop()
            raise ScriptAborted(f"the isolated script worker did not start: {err}") from err
        return process

    def _read_line(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        buffer = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not poller.poll(max(1, int(remaining * 1000))):
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _Died("the worker closed its output")
            end = chunk.find(b"\n")  # only the new part: a long reply stays linear
            if end >= 0:
                if end != len(chunk) - 1:  # one reply per request, nothing more
                    raise _Protocol("more than one reply")
                buffer += chunk[:end]
                return bytes(buffer)
            buffer += chunk
            if len(buffer) > _MAX_REPLY_BYTES:
                self._stop()
                raise ScriptAborted(
                    f"script result exceeded {_MAX_REPLY_BYTES // (1024 * 1024)} MB"
                )

    def _death_reason(self, err: BaseException) -> str:
        process = self._process
        code = None
        if process is not None:
            if isinstance(err, _Protocol):
                self._stop()  # alive but talking nonsense: a worker is never trusted
                return f"the isolated worker broke the protocol ({err})"
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=1)
        self._stop()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGXCPU:
                return "it exceeded its CPU time"
            if -code in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
                return f"its worker crashed ({name}), most likely out of memory"
            return f"its worker was killed ({name})"
        return f"its worker exited (code {code})"

    def _stop(self, graceful: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if graceful and process.poll() is None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the worker exits at end of input
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
        if process.returncode is None:  # not reaped yet: its pid and group are still ours
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)  # the worker and anything it forked
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._process, self._owner = None, os.getpid()


def _write_all(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    fd = process.stdin.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _model_error(reply: Mapping[str, Any]) -> Exception:
    name = reply.get("error")
    raw_args = reply.get("args")
    args = (
        [a for a in raw_args if isinstance(a, str | int | float)]
        if isinstance(raw_args, list)
        else []
    )
    cls = _ERRORS.get(name) if isinstance(name, str) else None
    if cls is None:
        return RuntimeError(f"{name}: {', '.join(map(str, args))}")
    return cls(*args)


_workers: list[ScriptWorker] = []


def register(worker: ScriptWorker) -> ScriptWorker:
    """Close ``worker`` at interpreter exit and reset it in forked children."""
    _workers.append(worker)
    return worker


def _close_all() -> None:
    for worker in _workers:
        worker.close()


def _reset_in_child() -> None:
    for worker in _workers:
        worker._after_fork_in_child()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_reset_in_child)
