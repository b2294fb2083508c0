"""Deploying models: our lifecycle deploys once per content; foreign models are refused cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.errors import InvalidProcess
from itsm.engine.runner import SpiffProcessEngine
from itsm.process_files import read_process_source
from itsm.services.ports import EngineRun, ProcessSource
from itsm.settings import PROJECT_ROOT

LIFECYCLE = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"


def test_same_content_is_not_a_new_version(sqlite_desk: Services) -> None:
    again = sqlite_desk.processes.deploy(read_process_source(LIFECYCLE), "owner", "no change")
    assert not again.created and again.definition.version == 1


def test_changed_content_is_a_new_version(sqlite_desk: Services) -> None:
    source = read_process_source(LIFECYCLE)
    renamed = ProcessSource(
        source.bpmn_xml.replace('name="Ticket lifecycle"', 'name="Ticket lifecycle (v2)"', 1),
        source.dmn_xml,
        source.forms,
    )
    assert renamed.bpmn_xml != source.bpmn_xml
    deployment = sqlite_desk.processes.deploy(renamed, "owner", "renamed")
    assert deployment.created and deployment.definition.version == 2
    assert [d.version for d in sqlite_desk.processes.versions("ticket_lifecycle")] == [1, 2]


@pytest.mark.parametrize("name", ["A.1.0", "A.2.0", "A.3.0", "A.4.0"])
def test_descriptive_miwg_models_are_refused_as_not_executable(
    sqlite_desk: Services, external: Path, name: str
) -> None:
    with pytest.raises(InvalidProcess, match="no executable process"):
        sqlite_desk.processes.deploy(
            read_process_source(external / "bpmn" / "miwg" / f"{name}.bpmn"), "o"
        )


@pytest.mark.parametrize("name", ["B.1.0", "B.2.0", "C.1.0", "C.3.0"])
def test_unsupported_miwg_models_get_a_readable_reason(
    sqlite_desk: Services, external: Path, name: str
) -> None:
    with pytest.raises(InvalidProcess) as refused:
        sqlite_desk.processes.deploy(
            read_process_source(external / "bpmn" / "miwg" / f"{name}.bpmn"), "o"
        )
    message = str(refused.value)
    assert message and "Traceback" not in message and len(message) < 2000


def test_camunda_invoice_with_data_store_is_refused(sqlite_desk: Services, external: Path) -> None:
    with pytest.raises(InvalidProcess, match=r"(?i)data store"):
        sqlite_desk.processes.deploy(
            read_process_source(external / "bpmn" / "camunda-invoice" / "invoice.v2.bpmn"), "o"
        )


def test_service_task_with_unregistered_operation_is_refused(
    sqlite_desk: Services, external: Path
) -> None:
    path = external / "bpmn" / "spiffworkflow-tests" / "spiff-service_task.bpmn"
    source = ProcessSource(path.read_text(encoding="utf-8"))
    with pytest.raises(InvalidProcess, match=r"bamboohr/GetPayRate"):
        sqlite_desk.processes.deploy(source, "o")


def test_broken_xml_is_refused(sqlite_desk: Services, tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions><process id='x'", encoding="utf-8")
    with pytest.raises(InvalidProcess, match="well-formed"):
        sqlite_desk.processes.deploy(read_process_source(broken), "o")


SCRIPT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="script_probe" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="probe" name="Probe"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="probe"/>
    <bpmn:sequenceFlow id="f2" sourceRef="probe" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _run_script(script: str) -> EngineRun:
    from datetime import UTC, datetime

    engine = SpiffProcessEngine(ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    source = ProcessSource(SCRIPT_PROCESS.replace("SCRIPT", script))
    model = engine.inspect(source)
    return engine.start(source, model.content_hash, {"n": 2}, lambda op, params: {})


@pytest.mark.parametrize(
    "script",
    [
        "x = __import__('os').getcwd()",
        "import os",
        "x = open('/etc/hostname').read()",
        "x = ().__class__.__mro__",
        "x = '{0.__class__}'.format(1)",
    ],
)
def test_script_tasks_cannot_reach_the_system(script: str) -> None:
    run = _run_script(script)
    # Refused, not run: the instance stops at the script (an incident for the services).
    assert run.failure is not None and not run.completed
    assert run.failure.element_id == "probe" and run.failure.kind == "ScriptTask"
    assert "not allowed" in run.failure.reason or "not defined" in run.failure.reason


def test_script_tasks_compute_process_data() -> None:
    run = _run_script("doubled = n * 2")
    assert run.completed and run.failure is None
    assert run.data["doubled"] == 4
