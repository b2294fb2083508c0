"""``itsm serve``: the whole product in one command — a local Prefect server (SQLite, no
telemetry), the scheduled flows served against it, and the workbench.

Each part runs as its own child process, started from the command line of this package so
the core never imports Prefect or Streamlit; if one part exits, the others are stopped, and
Ctrl+C stops everything.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Prefect reports usage and checks for updates unless told not to; nothing may leave here.
QUIET_PREFECT = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


@dataclass(frozen=True)
class Part:
    name: str
    command: list[str]


def prefect_environment(prefect_home: Path, prefect_port: int) -> dict[str, str]:
    return {
        **QUIET_PREFECT,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(prefect_port),
    }


def parts(*, ui_port: int, api_port: int, prefect_port: int, with_api: bool) -> list[Part]:
    python = sys.executable
    uvicorn = [python, "-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--log-level"]
    found = [
        Part(
            "prefect server",
            [
                python,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(prefect_port),
                "--analytics-off",
            ],
        ),
        Part("flows", [python, "-m", "workflows.deployments"]),
        Part("workbench", [*uvicorn, "warning", "--port", str(ui_port), "ui.server:create_app"]),
    ]
    if with_api:
        found.append(
            Part("api", [*uvicorn, "warning", "--port", str(api_port), "itsm.api.app:create_app"])
        )
    return found


def wait_until_ready(url: str, timeout: float, still_running: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not still_running():
            raise RuntimeError(f"{url} never answered: the process exited")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def run(
    all_parts: list[Part],
    environment: Mapping[str, str],
    *,
    prefect_health: str,
    say: Callable[[str], None],
) -> int:
    """Start the parts in order (the flows only once the Prefect API answers), then wait."""
    running: list[tuple[Part, subprocess.Popen[bytes]]] = []
    env = {**os.environ, **environment}
    # A service manager stops us with SIGTERM: stop the children too, as Ctrl+C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for part in all_parts:
            process = subprocess.Popen(part.command, env=env, start_new_session=True)
            running.append((part, process))
            say(f"started {part.name} (pid {process.pid})")
            if part.name == "prefect server":
                wait_until_ready(prefect_health, 120, functools.partial(_alive, process))
                say("Prefect server ready")
        while True:
            for part, process in running:
                code = process.poll()
                if code is not None:
                    say(f"{part.name} exited with {code}; stopping the rest")
                    return code or 1
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        _stop([process for _, process in running])


def _alive(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop every part with its whole process group (a server's own workers too): SIGTERM,
    then SIGKILL for whatever is left after 15 s."""
    # A second Ctrl+C or SIGTERM must not cut the clean-up short and strand a child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in reversed(processes):
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in processes:
        _signal_group(process, signal.SIGKILL)  # the leader may be gone, its children not
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already gone
        os.killpg(process.pid, signum)
