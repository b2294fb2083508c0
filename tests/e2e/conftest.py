"""Browser tests of the Streamlit workbench: a real server on a seeded demo database, driven by
Debian's Chromium through Playwright.

One server per test session (per xdist worker), one browser per session, one browser context
per user, so every user has their own cookies exactly as on separate machines.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from itsm.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from itsm.bootstrap import Services

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
DEMO_PASSWORD = "helpdesk-demo"
DEMO_TICKETS = 40
SERVER_START_TIMEOUT = 60.0
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
ITSM = Path(sys.executable).with_name("itsm")
# Streamlit reruns a page on every interaction; give each expectation room for a slow machine.
EXPECT_TIMEOUT_MS = 20_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: browser test of the web workbench (Playwright + /usr/bin/chromium)"
    )


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} not found: the browser tests use Debian's Chromium. Enable them with "
            "`apt-get install -y chromium chromium-driver` (never `playwright install`)."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is missing: pip install -e '.[test]'")
    return CHROMIUM


# --- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Server:
    base_url: str
    data_dir: Path
    log: Path


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of ``itsm`` commands on the demo database in ``data_dir``."""
    return {
        **os.environ,
        "ITSM_DATABASE_URL": f"sqlite:///{data_dir / 'e2e.db'}",
        "ITSM_ATTACHMENTS_DIR": str(data_dir / "att"),
        "ITSM_SECRET_KEY": "test-secret",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@contextlib.contextmanager
def serving(data_dir: Path, env: dict[str, str], log_name: str = "ui.log") -> Iterator[Server]:
    """``itsm ui`` on a free loopback port until the block ends; waits until it is healthy."""
    port = _free_port()
    log = data_dir / log_name
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(ITSM), "ui", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"itsm ui exited with {process.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200 and reply.read().strip() == b"ok":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"itsm ui not healthy after {SERVER_START_TIMEOUT:.0f} s:\n{_tail(log)}"
                )
            time.sleep(0.25)
        yield Server(base_url=base_url, data_dir=data_dir, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Server]:
    """A fresh demo database and ``itsm ui`` serving it on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("e2e")
    env = server_env(data_dir)
    seeded = subprocess.run(
        [str(ITSM), "demo", "--reset", "--tickets", str(DEMO_TICKETS)],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if seeded.returncode != 0:
        pytest.fail(f"itsm demo failed ({seeded.returncode}):\n{seeded.stdout}\n{seeded.stderr}")
    with serving(data_dir, env) as server:
        yield server


@pytest.fixture(scope="module")
def own_server(ui_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second ``itsm ui`` for one test module, on a copy of the session's demo database:
    what the module changes for everyone (a newly deployed process version) stays in it."""
    data_dir = tmp_path_factory.mktemp("e2e-own")
    with (
        contextlib.closing(sqlite3.connect(ui_server.data_dir / "e2e.db")) as source,
        contextlib.closing(sqlite3.connect(data_dir / "e2e.db")) as copy,
    ):
        source.backup(copy)  # consistent even while the session's server writes
    with serving(data_dir, server_env(data_dir)) as server:
        yield server


@pytest.fixture(scope="module")
def own_desk(own_server: Server) -> Iterator[Services]:
    """The services on the module server's database, for setting up and checking data."""
    from itsm.bootstrap import build
    from itsm.settings import Settings

    desk = build(
        Settings(
            database_url=f"sqlite:///{own_server.data_dir / 'e2e.db'}",
            attachments_dir=own_server.data_dir / "att",
        )
    )
    yield desk
    desk.close()


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Browser]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


class Shots:
    """``shot(page, name)``: numbered screenshots under test-artifacts/screenshots/<test>/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(SCREENSHOTS / _slug(request.node.name))


@dataclass
class Workbench:
    """Opens the workbench for one user at a time, each in their own browser context."""

    server: Server
    browser: Browser
    shot: Shots
    pages: dict[str, Page] = field(default_factory=dict)
    contexts: list[BrowserContext] = field(default_factory=list)

    def new_page(self, label: str) -> Page:
        context = self.browser.new_context(
            base_url=self.server.base_url,
            viewport={"width": 1400, "height": 1400},
            locale="en-GB",
            timezone_id="Europe/Warsaw",
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        self.pages[label] = page
        return page

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Page:
        """A new browser context for ``username``, logged in, on its start page."""
        from tests.e2e import ui

        page = self.new_page(username)
        ui.open_app(page)
        ui.log_in(page, username, password, shot=self.shot)
        return page

    def close(self, failed: bool) -> None:
        for label, page in self.pages.items():
            if failed and not page.is_closed():
                # The page may be gone; the test's own failure matters more.
                with contextlib.suppress(Exception):
                    self.shot(page, f"FAILED-{label}")
        for context in self.contexts:
            context.close()


@pytest.fixture
def workbench(
    request: pytest.FixtureRequest, ui_server: Server, browser: Browser, shot: Shots
) -> Iterator[Workbench]:
    bench = Workbench(server=ui_server, browser=browser, shot=shot)
    yield bench
    bench.close(failed=request.node.stash.get(_FAILED, False))


@pytest.fixture
def own_workbench(
    request: pytest.FixtureRequest, own_server: Server, browser: Browser, shot: Shots
) -> Iterator[Workbench]:
    """The workbench of the module's own server (``own_server``)."""
    bench = Workbench(server=own_server, browser=browser, shot=shot)
    yield bench
    bench.close(failed=request.node.stash.get(_FAILED, False))


@pytest.fixture
def login(workbench: Workbench) -> Callable[[str], Page]:
    return workbench.login
