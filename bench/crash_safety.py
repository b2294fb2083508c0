r"""Crash-safety campaign, full run: SIGKILL a real ``itsm`` process at every fault point.

Run on demand (not part of the tests; CI runs a bounded sample through
``tests/faults/test_crash_safety.py``), from the project root:

    .venv/bin/python bench/crash_safety.py [--runs N] [--workers 2] [--only deliver_all]

Each run copies a prepared SQLite database, starts ``itsm ticket new | task complete |
timers run | mail import | outbox deliver`` with ``ITSM_FAULT_AT=<point>#<n>``, checks what
the crash left, retries like a person or the scheduler would, delivers the outbox after the
dead worker's lease and checks every invariant (``tests/faults/campaign.py``). The figures go
into docs/reliability.md. Exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.faults.campaign import (
    POINTS,
    CampaignRun,
    Fault,
    Receivers,
    RunResult,
    Summary,
    Template,
    build_template,
    full_plan,
    sample,
)

_state: dict[str, object] = {}


def _start_worker(folder: str) -> None:
    """Once per worker process: its own template copy source and loopback receivers."""
    root = Path(tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=folder))
    _state["root"] = root
    _state["template"] = build_template(root / "template")
    _state["receivers"] = Receivers()


def _run(index: int, fault: Fault) -> tuple[RunResult | None, str]:
    root = _state["root"]
    assert isinstance(root, Path)
    template, receivers = _state["template"], _state["receivers"]
    assert isinstance(template, Template) and isinstance(receivers, Receivers)
    folder = root / f"run-{index:04d}"
    try:
        return CampaignRun(template, receivers, folder).run(fault), ""
    except Exception as err:  # reported with the fault, the campaign goes on
        return None, "".join(traceback.format_exception(err))[-4000:]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _campaign(
    faults: list[Fault], folder: str, workers: int
) -> Iterator[tuple[Fault, RunResult | None, str]]:
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(folder,)) as pool:
        futures = {pool.submit(_run, i, fault): fault for i, fault in enumerate(faults)}
        for future in as_completed(futures):
            yield futures[future], *future.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("ITSM_FAULT_RUNS", 0)),
        help="Runs (default: the whole plan, once; more repeats it)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", help="Only faults of this operation (e.g. deliver_all)")
    args = parser.parse_args(argv)

    plan = [f for f in full_plan() if args.only in (None, f.operation)]
    faults = sample(plan, args.runs or len(plan))
    print(
        f"crash-safety campaign: {len(faults)} runs over {len(plan)} distinct faults "
        f"({sum(f.double for f in plan)} of them double), {args.workers} workers",
        flush=True,
    )
    summary = Summary()
    per_operation: Counter[str] = Counter()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="itsm-faults-") as folder:
        for done, (fault, result, error) in enumerate(_campaign(faults, folder, args.workers), 1):
            per_operation[fault.operation] += 1
            if result is None:
                summary.runs += 1
                summary.failures.append(f"{fault.id}\n{error}")
                print(f"FAILED {fault.id}\n{error}", flush=True)
            else:
                summary.add(result)
            if done % 25 == 0:
                print(f"  {done}/{len(faults)} runs, {time.monotonic() - began:.0f} s", flush=True)
    elapsed = time.monotonic() - began

    print()
    print(f"runs                      {summary.runs}")
    print(f"faults injected           {summary.faults_injected} (SIGKILL at the point)")
    print(f"  + crashes in the retry  {summary.double_faults_injected} (double faults)")
    print(f"points not reached        {summary.not_reached} (ran to the end; checked as well)")
    for point in POINTS:
        print(f"  kills at {point:<22} {summary.by_point[point]}")
    print("runs per operation        " + ", ".join(f"{k} {v}" for k, v in per_operation.items()))
    print(f"losses                    {len(summary.failures)} (runs where any check failed)")
    print(f"notifications delivered   {summary.delivered} outbox rows, all sent")
    print(
        f"duplicate deliveries      {summary.duplicates} (same Message-ID; each one a crash "
        "between send and mark-sent)"
    )
    print(f"elapsed                   {elapsed:.0f} s")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
