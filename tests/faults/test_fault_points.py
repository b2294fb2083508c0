"""``itsm.faults``: silent unless named, then a SIGKILL at exactly the N-th time."""

from __future__ import annotations

import os
import subprocess
import sys
import timeit
from collections.abc import Iterator

import pytest

from itsm import faults

SCRIPT = """
import sys
from itsm.faults import fault_point
for i in range(1, 6):
    fault_point("other")
    print(i, flush=True)
    fault_point("here")
"""


@pytest.fixture(autouse=True)
def fresh_module() -> Iterator[None]:
    faults.reset()
    yield
    faults.reset()


def run(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENVIRONMENT_VARIABLE}
    if spec is not None:
        env[faults.ENVIRONMENT_VARIABLE] = spec
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )


def test_unset_or_another_name_does_nothing() -> None:
    for spec in (None, "", "elsewhere#1"):
        done = run(spec)
        assert (done.returncode, done.stdout.split()) == (0, ["1", "2", "3", "4", "5"])


@pytest.mark.parametrize(("spec", "printed"), [("here", 1), ("here#1", 1), ("here#3", 3)])
def test_the_nth_time_the_point_is_reached_kills_the_process(spec: str, printed: int) -> None:
    done = run(spec)
    assert done.returncode == -9  # SIGKILL: no cleanup, no exit code of its own
    assert done.stdout.split() == [str(i) for i in range(1, printed + 1)]


def test_a_point_reached_fewer_times_lets_the_process_end() -> None:
    assert run("here#9").returncode == 0


def test_the_environment_is_read_on_first_use_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "never.reached#2")
    faults.fault_point("something")  # reads it now
    assert faults.parse_target("a#2") == ("a", 2)
    with pytest.raises(ValueError, match="name#N"):
        faults.parse_target("a#0")


def test_an_unarmed_point_costs_next_to_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENVIRONMENT_VARIABLE, raising=False)
    faults.fault_point("warm-up")
    seconds = min(timeit.repeat(lambda: faults.fault_point("x"), number=100_000, repeat=3))
    assert seconds / 100_000 < 2e-6  # well under a microsecond per call in practice
