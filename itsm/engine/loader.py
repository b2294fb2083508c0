"""Parse a process source into engine specs, once per content hash.

Parsing BPMN and DMN costs milliseconds and XSD validation more; a ticket step must not pay
either. Deployed sources are immutable, so a parsed spec is cached under the source's content
hash for the life of the process and shared by every instance of that version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from itsm.domain.errors import InvalidProcess
from itsm.engine.clocked_timers import use_application_clock
from itsm.services.ports import ProcessModel, ProcessSource, UserTaskSpec

HUMAN_TASK_TYPES = (UserTask, ManualTask)
"""Tasks that wait for a person; both become rows in the inbox."""


@dataclass(frozen=True)
class ParsedProcess:
    model: ProcessModel
    spec: Any
    subprocess_specs: dict[str, Any]


@cache
def _validator() -> Any:
    # Building the XSD validator costs ~10 ms: once per process, and only for deploys.
    from SpiffWorkflow.spiff.parser.process import VALIDATOR

    return VALIDATOR


def _parse_error(err: Exception) -> InvalidProcess:
    if isinstance(err, etree.XMLSyntaxError):
        return InvalidProcess(f"the file is not well-formed XML: {err}")
    message = str(err).strip() or type(err).__name__
    return InvalidProcess(message.splitlines()[0] if len(message) > 2000 else message)


def parse_source(source: ProcessSource, *, validate: bool) -> ParsedProcess:
    parser = SpiffBpmnParser(validator=_validator() if validate else None)
    try:
        parser.add_bpmn_str(source.bpmn_xml.encode("utf-8"), filename="process.bpmn")
        for name, dmn_xml in sorted(source.dmn_xml.items()):
            parser.add_dmn_str(dmn_xml.encode("utf-8"), filename=name)
        executable = [
            pid
            for pid in parser.get_process_ids()
            if parser.get_process_parser(pid).process_executable
        ]
        if not executable:
            raise InvalidProcess(
                'the model has no executable process (isExecutable="true"): it can be '
                "viewed but not deployed"
            )
        if len(executable) > 1:
            raise InvalidProcess(
                f"one executable process per deployment, found {len(executable)}: "
                + ", ".join(sorted(executable))
            )
        process_key = executable[0]
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except InvalidProcess:
        raise
    except (SpiffWorkflowException, etree.Error, ValueError, KeyError, TypeError) as err:
        raise _parse_error(err) from err
    for each in (spec, *subprocess_specs.values()):
        use_application_clock(each)
    model = ProcessModel(
        process_key=process_key,
        process_name=spec.description or process_key,
        content_hash=source.content_hash(),
        user_tasks=_user_tasks(spec, source),
        service_operations=frozenset(
            each.operation_name
            for each in spec.task_specs.values()
            if getattr(each, "operation_name", None)
        ),
    )
    return ParsedProcess(model=model, spec=spec, subprocess_specs=subprocess_specs)


def user_task_spec(task_spec: Any) -> UserTaskSpec:
    properties: dict[str, str] = task_spec.extensions.get("properties", {}) or {}
    lane = task_spec.lane
    return UserTaskSpec(
        element_id=task_spec.bpmn_id,
        name=task_spec.bpmn_name or task_spec.bpmn_id,
        lane=lane,
        candidate_group=properties.get("candidate_group") or lane or "unassigned",
        form_key=properties.get("formJsonSchemaFilename"),
        ticket_status=properties.get("ticket_status"),
        support_line=properties.get("support_line"),
    )


def _user_tasks(spec: Any, source: ProcessSource) -> dict[str, UserTaskSpec]:
    found: dict[str, UserTaskSpec] = {}
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, HUMAN_TASK_TYPES):
            info = user_task_spec(task_spec)
            if info.form_key is not None and info.form_key not in source.forms:
                raise InvalidProcess(
                    f"user task '{info.name}' ({info.element_id}) uses form "
                    f"'{info.form_key}', which is not part of the deployment"
                )
            found[info.element_id] = info
    return found


class SpecCache:
    """Parsed specs by content hash; thread-safe, shared by every request of the process."""

    def __init__(self) -> None:
        self._parsed: dict[str, ParsedProcess] = {}
        self._lock = threading.Lock()

    def get(self, source: ProcessSource, content_hash: str) -> ParsedProcess:
        parsed = self._parsed.get(content_hash)
        if parsed is None:
            parsed = parse_source(source, validate=False)
            with self._lock:
                parsed = self._parsed.setdefault(content_hash, parsed)
        return parsed
