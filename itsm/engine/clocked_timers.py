"""Timer events that read the application's clock instead of the wall clock.

SpiffWorkflow's timer definitions call ``datetime.now()`` directly. The application injects
its clock everywhere (tests, the demo's replay of three months of history), so after parsing
we swap the timer definitions of a spec for subclasses that ask the script engine's clock.
Specs are cached in-process and never serialized, so the swap is invisible to stored state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent


def _now(my_task: Any) -> Any:
    return my_task.workflow.script_engine.clock.now()


class ClockedTimeDate(TimeDateEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.parse_time_or_duration(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDuration(DurationTimerEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            duration = TimerEventDefinition.parse_iso_duration(expression)
            now = _now(my_task)
            due = now + TimerEventDefinition.get_timedelta_from_start(duration, now)
            event_value = due.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedCycle(CycleTimerEventDefinition):  # type: ignore[misc]
    """R<n>/<start>/<interval>: fires once per elapsed interval until the repetitions run out."""

    def cycle_complete(self, my_task: Any) -> bool:
        state = my_task._get_internal_data("event_value")
        if state is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            repetitions, first, interval = TimerEventDefinition.parse_iso_recurring_interval(
                expression
            )
            parts = expression.upper().strip().lstrip("R").split("/")
            if len(parts) == 2 and parts[1].startswith("P"):
                # "R<n>/<interval>" starts one interval from now; the library reads the wall clock.
                first = _now(my_task) + interval
            state = {
                "cycles": repetitions,
                "next": first.isoformat(),
                "duration": interval.total_seconds(),
            }
        if state["cycles"] == 0:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        due = datetime.fromisoformat(state["next"])
        fired: bool = due <= _now(my_task)
        if fired:
            state["next"] = (due + timedelta(seconds=state["duration"])).isoformat()
            state["cycles"] -= 1
        my_task._set_internal_data(event_value=state)
        return fired


_REPLACEMENTS = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def use_application_clock(spec: Any) -> None:
    """Re-class the timer definitions of every catching event in ``spec``."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, CatchingEvent):
            definition = task_spec.event_definition
            replacement = _REPLACEMENTS.get(type(definition))
            if replacement is not None:
                definition.__class__ = replacement
