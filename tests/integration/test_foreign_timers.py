"""Timer models written by others run on the application clock, not the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsm.clock import ManualClock
from itsm.engine.runner import SpiffProcessEngine
from itsm.services.ports import EngineRun, ProcessSource

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def no_services(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError(f"unexpected service call {operation}")


def started(
    external: Path, name: str
) -> tuple[SpiffProcessEngine, ManualClock, ProcessSource, str, EngineRun]:
    clock = ManualClock(T0)
    engine = SpiffProcessEngine(clock)
    path = external / "bpmn" / "spiffworkflow-tests" / name
    source = ProcessSource(path.read_text(encoding="utf-8"))
    content_hash = engine.inspect(source).content_hash
    return engine, clock, source, content_hash, engine.start(source, content_hash, {}, no_services)


def waiting(run: EngineRun) -> list[str]:
    return sorted(task.spec.element_id for task in run.waiting_tasks)


def test_timer_waits_for_the_app_clock_not_the_wall_clock(external: Path) -> None:
    engine, clock, source, content_hash, run = started(external, "bpmn-boundary_timer_on_task.bpmn")
    assert waiting(run) == ["user_task"]
    assert run.next_timer_at is not None and run.next_timer_at - T0 < timedelta(seconds=1)
    # The model's 2 ms have long passed on the wall clock, but not on the app clock.
    again = engine.fire_due_timers(source, content_hash, run.state, no_services)
    assert again.next_timer_at == run.next_timer_at and again.data.get("timer_called") is False
    clock.advance(timedelta(seconds=1))
    fired = engine.fire_due_timers(source, content_hash, again.state, no_services)
    assert [p.element_id for p in fired.passed] == ["Event_0y4hbl0", "set_variable"]
    assert fired.next_timer_at is None and waiting(fired) == ["user_task"]


def test_non_interrupting_timer_adds_work_beside_the_task(external: Path) -> None:
    engine, clock, source, content_hash, run = started(
        external, "bpmn-timer-non-interrupt-boundary.bpmn"
    )
    assert waiting(run) == ["Activity_Work"]
    clock.advance(timedelta(seconds=1))
    fired = engine.fire_due_timers(source, content_hash, run.state, no_services)
    assert waiting(fired) == ["Activity_Work", "GetReason"]


def test_cycle_timer_fires_on_the_app_clock_and_unknown_functions_fail_cleanly(
    external: Path,
) -> None:
    engine, clock, source, content_hash, run = started(external, "bpmn-timer-cycle.bpmn")
    assert waiting(run) == ["Get_Coffee"]
    first_due = run.next_timer_at
    assert first_due is not None and first_due - T0 <= timedelta(seconds=1)
    not_yet = engine.fire_due_timers(source, content_hash, run.state, no_services)
    assert not_yet.next_timer_at == first_due
    clock.set(first_due + timedelta(milliseconds=1))
    # The refill script calls print() and an undefined custom_function(): refused, not run;
    # the instance stops at the script, kept for a retry or skip (an incident).
    failed = engine.fire_due_timers(source, content_hash, run.state, no_services).failure
    assert failed is not None and failed.element_id == "Refill_Coffee"
    assert "print" in failed.reason or "custom_function" in failed.reason
