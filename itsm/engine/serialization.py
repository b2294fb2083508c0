"""Engine state to JSON and back, without embedding the process spec.

The stock serializer writes the whole parsed process into every instance (three quarters of
its size) and re-builds it on every load. The spec is immutable per deployed version and
already cached in-process, so stored state keeps only tasks and data; the spec is supplied
again on restore from the cache.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

_STATE_FORMAT = "itsm-1"


class _SpecByReferenceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    """Dumps and loads instance state; one per process, safe to share between threads."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure()
        _SpecByReferenceConverter(BpmnWorkflow, registry)
        self._serializer = BpmnWorkflowSerializer(registry)
        self._registry = registry

    def dump(self, workflow: Any) -> str:
        dct = self._serializer.to_dict(workflow)
        dct["format"] = _STATE_FORMAT
        return json.dumps(dct, separators=(",", ":"))

    def load(self, state: str, spec: Any, subprocess_specs: dict[str, Any]) -> Any:
        dct = json.loads(state)
        if dct.pop("format", None) != _STATE_FORMAT:
            raise ValueError("instance state was written in an unknown format")
        return self._registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
