"""Reading an instance's process data from its stored state, as plain JSON-able values.

For checks outside a step (a scenario's expected end data); a step gets the same data in
its ``EngineRun``. Restores the whole workflow: not for hot paths.
"""

from __future__ import annotations

from typing import Any

from itsm.engine.loader import SpecCache
from itsm.engine.serialization import StateSerializer
from itsm.services.ports import ProcessSource


class InstanceData:
    """Reads instances' data; keeps the specs it parsed, by content hash."""

    def __init__(self) -> None:
        self._specs = SpecCache()
        self._states = StateSerializer()

    def __call__(self, source: ProcessSource, state: str) -> dict[str, Any]:
        """The data of the last task the instance completed (its end data once ended)."""
        parsed = self._specs.get(source, source.content_hash())
        workflow = self._states.load(state, parsed.spec, parsed.subprocess_specs)
        last = workflow.last_task
        return dict(last.data) if last is not None else dict(workflow.data)
