"""AppTest fixtures: the real app script against a seeded SQLite file, logged in for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.settings import PROJECT_ROOT
from tests.conftest import build_desk
from ui import session

APP = str(PROJECT_ROOT / "ui" / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture
def ui_desk(
    sqlite_url: str, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    monkeypatch.setenv("ITSM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ITSM_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("ITSM_SECRET_KEY", "test-only-secret")
    monkeypatch.setenv("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    desk, seeded = build_desk(sqlite_url, clock)
    for username in seeded.person_ids:
        desk.accounts.set_password(username, PASSWORD, username)
    session.services.cache_clear()
    session.cookie_signer.cache_clear()
    yield desk
    session.services().close()
    session.services.cache_clear()
    desk.close()


@pytest.fixture
def app_as(ui_desk: Services) -> Callable[..., AppTest]:
    """An AppTest logged in as ``username`` (through the real password check)."""

    def make(username: str | None, page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        if username is not None:
            accounts = session.services().accounts  # the app's own clock decides expiry
            token = accounts.redeem(accounts.login(username, PASSWORD))
            at.session_state[session.TOKEN_KEY] = token
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(page)
            at.run()
        return at

    return make
