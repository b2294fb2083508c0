"""Runaway model code is stopped within 2 s and 256 MB, the next evaluation works, and cheap
code never touches the worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import pytest

from itsm.engine import isolated, sandbox
from itsm.engine.isolated import ScriptWorker
from itsm.engine.sandbox import ScriptAborted, evaluate, execute
from tests.conftest import worker_processes

Mode = Literal["eval", "exec"]
LIMIT_SECONDS = 2.0
MARGIN_SECONDS = 4.0  # asserted bound: the limit plus a noisy machine's slack

RUNAWAYS: dict[str, tuple[Mode, str]] = {
    "list of 10**9": ("eval", "[0] * 10**9"),
    "sum of 10**12": ("eval", "sum(range(10**12))"),
    "text of 10**10": ("eval", "'x' * 10**10"),
    "10**10**8": ("eval", "10 ** 10 ** 8"),
    "comprehension": ("eval", "[c for c in range(10**10)]"),
    "len of comprehension": ("eval", "len([c for c in range(10**10)])"),
    "generator": ("eval", "sum(1 for _ in range(10**12))"),
    "%-width": ("eval", "'%*d' % (10**9, 1)"),
    "f-string width": ("eval", "f'{1:>{10**9}}'"),
    "sorted range": ("eval", "sorted(range(10**9))"),
    "endless loop": ("exec", "for i in range(10**12):\n    pass"),
    "doubling text": ("exec", "x = 'ab'\nfor i in range(64):\n    x = x + x"),
    "squaring": ("exec", "n = 2\nfor i in range(40):\n    n = n * n"),
    "growing list": ("exec", "rows = []\nfor i in range(10**10):\n    rows.append([i])"),
    "shared references": ("exec", "x = 'ab'\n" + "x = [x, x]\n" * 40),  # 2**40 leaves
    "doubling without loop": ("exec", "x = 'ab'\n" + "x = x + x\n" * 40),
}


def run(mode: Mode, code: str, variables: dict[str, Any] | None = None) -> Any:
    data = dict(variables or {})
    if mode == "eval":
        return evaluate(code, data)
    execute(code, data)
    return data


@pytest.mark.parametrize(("mode", "code"), RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_runaway_is_stopped_in_time_and_the_next_evaluation_works(mode: Mode, code: str) -> None:
    worker = sandbox.worker()
    evaluate("[x for x in (1,)]", {})  # a warm worker, as in a running desk
    warm_pid = worker.pid
    started = time.monotonic()
    with pytest.raises(ScriptAborted, match=r"exceeded (2 s|256 MB)|stopped") as aborted:
        run(mode, code)
    elapsed = time.monotonic() - started
    assert elapsed < MARGIN_SECONDS, f"{code} took {elapsed:.1f} s to stop ({aborted.value})"
    assert worker.pid is None  # the runaway's worker is gone, killed and reaped
    assert warm_pid not in worker_processes()
    assert evaluate("len([x for x in items])", {"items": [1, 2, 3]}) == 3
    assert worker.pid not in (None, warm_pid)  # a fresh worker did that
    assert len(worker_processes()) == 1


def test_the_memory_limit_is_256_mb_and_the_time_limit_2_s() -> None:
    assert isolated.MEMORY_BYTES == 256 * 1024 * 1024
    assert isolated.TIMEOUT_SECONDS == LIMIT_SECONDS
    # 150 MB of text fits next to the interpreter; 300 MB does not.
    assert evaluate("len('x' * (150 * 2**20))", {}) == 150 * 2**20
    with pytest.raises(ScriptAborted, match="256 MB"):
        evaluate("len('x' * (300 * 2**20))", {})
    started = time.monotonic()
    with pytest.raises(ScriptAborted, match="2 s"):
        evaluate("sum(range(10**12))", {})
    assert LIMIT_SECONDS <= time.monotonic() - started < MARGIN_SECONDS


def test_cheap_code_never_starts_the_worker() -> None:
    """In a fresh interpreter: importing and evaluating conditions, DMN cells and simple
    scripts starts no process at all."""
    program = textwrap.dedent(
        """
        from itsm.engine import sandbox
        data = {"outcome": "resolved", "impact": "high", "n": 3, "names": ["a"]}
        for code in ["outcome == 'resolved'", '(impact) == ("high")', "n * 60 + 5",
                     "', '.join(names)", "'%s-%d' % (outcome, n)", "f'{n:>4}'", "2 ** 64"]:
            sandbox.evaluate(code, data)
        sandbox.execute("v = n + 1\\nlabel = 'x' if v > 2 else 'y'\\nv += 1", data)
        print(sandbox.worker().starts, sandbox.worker().requests, sandbox.worker().pid)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["0", "0", "None"]


def test_cheap_code_makes_no_requests_here_either() -> None:
    worker = sandbox.worker()
    before = worker.requests
    data = {"outcome": "resolved", "items": [3, 1, 2], "hours": 2, "when": datetime.now(UTC)}
    for _ in range(100):
        assert evaluate("outcome == 'resolved' and hours * 60 > 100", data) is True
        assert evaluate("sorted(items)[0] + when.year", data) > 2000
        variables = dict(data)
        execute("total = hours * 60\ntimer_called = True", variables)
    assert worker.requests == before


def test_value_dependent_operators_move_to_the_worker_only_when_large() -> None:
    worker = sandbox.worker()
    before = worker.requests
    assert evaluate("text * 3", {"text": "ab"}) == "ababab"
    assert worker.requests == before
    assert evaluate("text * n", {"text": "ab", "n": 2_000_000}) == "ab" * 2_000_000
    assert evaluate("[row] * 3", {"row": [1, 2]}) == [[1, 2]] * 3  # repeated references
    assert evaluate("2 ** n % 1000", {"n": 100_000}) == pow(2, 100_000, 1000)
    assert worker.requests == before + 3


def test_large_container_results_are_rebuilt_by_the_worker() -> None:
    worker = sandbox.worker()
    big = list(range(150_000))
    before = worker.requests
    result = evaluate("[data, data]", {"data": big})
    assert result == [big, big] and result[0] is not result[1]  # a tree, not shared
    assert worker.requests == before + 1


def test_augmented_assignment_to_a_list_runs_in_the_worker_without_touching_the_data() -> None:
    items = [0]
    variables: dict[str, Any] = {"items": items, "n": 1}
    execute("items += [1]", variables)
    assert variables["items"] == [0, 1]
    assert items == [0]  # in process it would have extended the data's own list


def test_scripts_in_the_worker_change_only_what_they_change() -> None:
    items = [1, 2, 3]
    variables: dict[str, Any] = {"items": items, "total": 0, "gone": False}
    execute("for x in items:\n    total = total + x", variables)
    assert variables == {"items": [1, 2, 3], "total": 6, "gone": False, "x": 3}
    assert variables["items"] is items  # unchanged values keep their identity


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
        datetime(2026, 10, 5, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 10, 5, 9, 0),
        date(2026, 10, 5),
        clock_time(9, 30),
        timedelta(days=2, seconds=5, microseconds=7),
        (1, "a", None),
        {1, 2},
        frozenset({"a"}),
        UUID("12345678-1234-5678-1234-567812345678"),
        Decimal("1.10"),
        b"\x00\xff",
        {1: "int key", "k": [1.5, True, None]},
        {"$sandbox": "not a tag", "v": 1},
        {"nested": {"when": [datetime(2026, 1, 1, tzinfo=UTC)]}},
        float("inf"),
    ],
    ids=repr,
)
def test_process_data_keeps_its_types_through_the_worker(value: Any) -> None:
    result = evaluate("[v for v in [value]][0]", {"value": value})
    assert result == value and type(result) is type(value)
    variables = {"value": value, "n": 0}
    execute("for i in range(1):\n    copy = value", variables)
    assert variables["copy"] == value and type(variables["copy"]) is type(value)


def test_data_that_is_not_data_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="type 'object' is not process data"):
        evaluate("[x for x in (1,)]", {"thing": object()})
    with pytest.raises(TypeError, match="not process data"):
        evaluate("[len][0]", {})  # a function is not a result


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("[x for x in items][5]", IndexError, "list index out of range"),
        ("{k: 1 for k in 'a'}['b']", KeyError, "'b'"),
        ("[undefined for x in (1,)]", NameError, "name 'undefined' is not defined"),
        ("[1 / x for x in (0,)]", ZeroDivisionError, "division by zero"),
        ("[int(x) for x in ('a',)]", ValueError, "invalid literal"),
        ("[open('x') for x in (1,)]", NameError, "name 'open' is not defined"),
    ],
)
def test_errors_in_the_worker_keep_their_type_and_message(
    code: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        evaluate(code, {"items": [1]})
    assert message in str(raised.value)
    assert type(raised.value) is error


def test_concurrent_threads_share_one_worker_safely() -> None:
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(5):
                results[n] = evaluate("sum(x * n for x in range(100))", {"n": n})
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == {n: 4950 * n for n in range(8)}
    assert len(worker_processes()) == 1


def test_cheap_code_keeps_running_while_another_thread_waits_for_a_runaway() -> None:
    evaluate("[x for x in (1,)]", {})
    done = threading.Event()
    outcome: list[BaseException] = []

    def runaway() -> None:
        try:
            evaluate("sum(range(10**12))", {})
        except BaseException as err:
            outcome.append(err)
        done.set()

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    for _ in range(1000):
        assert evaluate("outcome == 'resolved'", {"outcome": "resolved"})
    assert time.monotonic() - started < 0.5
    assert not done.is_set()  # the runaway was still running meanwhile
    thread.join()
    assert isinstance(outcome[0], ScriptAborted)


def test_a_forked_child_starts_its_own_worker() -> None:
    evaluate("[x for x in (1,)]", {})
    parent_worker = sandbox.worker().pid
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            value = evaluate("sum([x for x in range(10)])", {})
            message = f"{value} {sandbox.worker().pid}"
        except BaseException as err:
            message = f"error {err!r}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    answer = os.read(read, 1000).decode().split()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer[0] == "45" and int(answer[1]) != parent_worker
    assert sandbox.worker().pid == parent_worker  # the parent's worker was left alone


# --- the worker is untrusted, and limited even if the allow-list were breached -------------


@pytest.fixture
def breached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScriptWorker, Path]]:
    """A worker given ``open`` and ``__import__``, as if an escape had got past the check."""
    worker = ScriptWorker([*sandbox._SAFE_BUILTIN_NAMES, "open", "__import__"])
    folder = tmp_path_factory.mktemp("breach")
    yield worker, folder
    worker.close()
    assert list(folder.iterdir()) == [], "the breached worker wrote into the file system"


@pytest.mark.parametrize(
    "code",
    [
        "open('FOLDER/marker', 'w').write('x')",
        "open('/etc/passwd').read()",
        "__import__('os').system('touch FOLDER/marker')",
        "__import__('subprocess').run(['touch', 'FOLDER/marker'])",
        "__import__('os').fork()",
        "__import__('socket').socket()",
    ],
)
def test_a_breached_worker_still_cannot_open_files_or_start_processes(
    breached: tuple[ScriptWorker, Path], code: str
) -> None:
    worker, folder = breached
    try:
        result = worker.evaluate(code.replace("FOLDER", str(folder)), {})
    except (RuntimeError, ScriptAborted, OSError) as err:
        assert (
            "Too many open files" in str(err)
            or "unavailable" in str(err)
            or ("not permitted" in str(err))
        )
    else:
        assert result != 0  # os.system: the shell could not even start


def _fake_worker(tmp_path: Path, body: str) -> ScriptWorker:
    program = tmp_path / "fake_worker.py"
    program.write_text(
        "import sys\nsys.stdin.buffer.readline()\n"
        "sys.stdout.write('{\"ready\": true}\\n'); sys.stdout.flush()\n"
        "sys.stdin.buffer.readline()\n" + textwrap.dedent(body)
    )
    return ScriptWorker(sandbox._SAFE_BUILTIN_NAMES, program=program)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sys.stdout.write('not json\\n'); sys.stdout.flush()", "invalid reply"),
        (
            'sys.stdout.write(\'{"ok": true, "value": 1}\\n{"ok": true}\\n\'); sys.stdout.flush()',
            "broke the protocol",
        ),
        ("sys.stdout.write('[' * 100000 + '\\n'); sys.stdout.flush()", "invalid reply"),
        (
            'sys.stdout.write(\'{"ok": true, "value": {"$sandbox": "datetime"}}\\n\');'
            "sys.stdout.flush()",
            "invalid reply",
        ),
        # 40 MB through a pipe: on a loaded machine the 2 s clock may run out first.
        ("sys.stdout.write('x' * (40 * 2**20)); sys.stdout.flush()", "exceeded (32 MB|2 s)"),
        ("sys.exit(3)", "exited"),
        ("import time; time.sleep(30)", "exceeded 2 s"),
    ],
    ids=["garbage", "two replies", "deep nesting", "bad tag", "huge", "exit", "silent"],
)
def test_a_hostile_worker_reply_is_an_abort_not_a_crash(
    tmp_path: Path, body: str, message: str
) -> None:
    worker = _fake_worker(tmp_path, body)
    with pytest.raises(ScriptAborted, match=message):
        worker.evaluate("[x for x in (1,)]", {})
    assert worker.pid is None
    worker.close()
