"""Fixtures of the crash-safety campaign: one prepared database and one pair of loopback
receivers per test session (and xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.campaign import Receivers, Template, build_template


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: kills real itsm processes at fault points (tests/faults)"
    )


@pytest.fixture(scope="session")
def fault_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("fault-template"))


@pytest.fixture(scope="session")
def receivers() -> Iterator[Receivers]:
    loopback = Receivers()
    yield loopback
    loopback.close()
