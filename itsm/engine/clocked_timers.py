"""Timer events that read the application's clock instead of the wall clock.

SpiffWorkflow's timer definitions call ``datetime.now()`` directly. The application injects
its clock everywhere (tests, the demo's replay of three months of history), so after parsing
we swap the timer definitions of a spec for subclasses that ask the script engine's clock.
Specs are cached in-process and never serialized, so the swap is invisible to stored state.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
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
            due = _now(my_task) + TimerEventDefinition.get_timedelta_from_start(duration)
            event_value = due.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


_REPLACEMENTS = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
}


def use_application_clock(spec: Any) -> None:
    """Re-class the timer definitions of every catching event in ``spec``.

    Cycle timers are left alone: the lifecycle has none, and deploy validation refuses them
    until they are needed (their due time would otherwise drift from the app clock).
    """
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, CatchingEvent):
            definition = task_spec.event_definition
            replacement = _REPLACEMENTS.get(type(definition))
            if replacement is not None:
                definition.__class__ = replacement
