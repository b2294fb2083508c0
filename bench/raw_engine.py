"""Raw SpiffWorkflow baseline: replay the ticket lifecycle scenarios purely in memory.

Parses bpmn/ticket_lifecycle.bpmn and both DMN tables once with SpiffBpmnParser, then replays every
scenario of bpmn/ticket_lifecycle.scenarios.json on a plain ``BpmnWorkflow``: no database, no
serialization, service tasks answered by a tiny in-memory stub environment.  This is the ceiling
the real service layer is measured against.

    .venv/bin/python bench/raw_engine.py                 # verify every scenario
    .venv/bin/python bench/raw_engine.py --repeat 200    # verify, then benchmark

Other benchmarks import ``run_raw(repeat) -> tickets per second``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = BPMN_DIR / "forms"
PROCESS_ID = "ticket_lifecycle"
BPMN_FILE = BPMN_DIR / "ticket_lifecycle.bpmn"
DMN_FILES = (BPMN_DIR / "priority_matrix.dmn", BPMN_DIR / "sla_targets.dmn")
SCENARIOS_FILE = BPMN_DIR / "ticket_lifecycle.scenarios.json"

# Parameters every operation must receive, and the values some of them may take.
OPERATIONS: dict[str, set[str]] = {
    "notify": {"ticket_id", "template", "recipient"},
    "apply_classification": {"ticket_id", "priority", "reaction_hours", "resolution_hours"},
    "check_authorisation": {"ticket_id"},
    "request_approval": {"ticket_id"},
    "record_approval": {"ticket_id", "decision", "approver"},
    "assign_engineer": {"ticket_id", "group"},
    "hand_off_to_vendor": {"ticket_id", "vendor_name", "vendor_kind", "vendor_reference"},
    "schedule_field_visit": {"ticket_id", "ordered_by"},
    "record_visit_report": {
        "ticket_id",
        "technician",
        "arrived_at",
        "minutes",
        "outcome",
        "parts_used",
        "report",
    },
    "mark_resolved": {"ticket_id"},
    "reopen_ticket": {"ticket_id"},
    "close_ticket": {"ticket_id", "closure"},
    "publish_knowledge": {"ticket_id"},
    "deduct_hours": {"ticket_id"},
}
OPTIONAL: dict[str, set[str]] = {"notify": {"message"}}
TEMPLATES = {
    "information_requested",
    "ticket_registered",
    "engineer_assigned",
    "handed_off_to_vendor",
    "field_visit_scheduled",
    "resolved",
    "closed",
    "rejected",
}
CLOSURES = {"confirmed", "auto_closed", "rejected", "alert_cleared"}
DEFAULT_ACTOR = "jan.nowak"
L1_ENGINEER = {"username": "jan.nowak", "full_name": "Jan Nowak"}


# ----------------------------------------------------------------------------- service stubs
def _stub_result(operation: str, p: dict[str, Any]) -> dict[str, Any]:
    """Plausible answers of the real services, computed from the evaluated parameters."""
    now = datetime.now(UTC)
    if operation == "notify":
        assert p["template"] in TEMPLATES, p
        assert p["recipient"] == "requester", p
        return {"sent": True, "template": p["template"], "recipient": p["recipient"]}
    if operation == "apply_classification":
        assert p["priority"] in {"P1", "P2", "P3", "P4"}, p
        assert isinstance(p["reaction_hours"], int), p
        resolution_hours = p["resolution_hours"]
        assert resolution_hours is None or isinstance(resolution_hours, int), p
        return {
            "priority": p["priority"],
            "reaction_due_at": (now + timedelta(hours=p["reaction_hours"])).isoformat(),
            "resolution_due_at": None
            if resolution_hours is None
            else (now + timedelta(hours=resolution_hours)).isoformat(),
        }
    if operation == "check_authorisation":
        return {"requester_authorised": True}
    if operation == "request_approval":
        return {"requested": True, "approvers": ["katarzyna.zielinska"]}
    if operation == "record_approval":
        assert p["decision"] in {"approve", "reject"} and p["approver"], p
        return {"recorded": True, "decision": p["decision"], "approver": p["approver"]}
    if operation == "assign_engineer":
        assert p["group"] == "L1", p
        return dict(L1_ENGINEER)
    if operation == "hand_off_to_vendor":
        assert p["vendor_name"] and p["vendor_kind"] and p["vendor_reference"], p
        return {
            "handed_off": True,
            "vendor_name": p["vendor_name"],
            "vendor_reference": p["vendor_reference"],
        }
    if operation == "schedule_field_visit":
        assert p["ordered_by"], p
        return {"scheduled": True, "ordered_by": p["ordered_by"], "technician": "tomasz.wojcik"}
    if operation == "record_visit_report":
        assert p["technician"] and p["minutes"] and p["outcome"], p
        return {"visit_id": 1, "outcome": p["outcome"]}
    if operation == "mark_resolved":
        return {"status": "resolved"}
    if operation == "reopen_ticket":
        return {"status": "in_progress", "reopened": True}
    if operation == "close_ticket":
        assert p["closure"] in CLOSURES, p
        return {"status": "closed", "closure": p["closure"]}
    if operation == "publish_knowledge":
        return {"published": True, "article_id": 1000 + int(p["ticket_id"])}
    if operation == "deduct_hours":
        return {"deducted": True}
    raise KeyError(f"unknown operation {operation!r}")


class StubServiceEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Task-data script environment whose service calls are answered in memory."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__({})
        self.overrides = overrides or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call_service(
        self,
        context: dict[str, Any],
        operation_name: str,
        operation_params: dict[str, dict[str, Any]],
    ) -> str:
        params = {name: spec["value"] for name, spec in operation_params.items()}
        expected = OPERATIONS.get(operation_name)
        if expected is None:
            raise KeyError(f"unknown operation {operation_name!r}")
        allowed = expected | OPTIONAL.get(operation_name, set())
        if not expected <= set(params) <= allowed:
            raise ValueError(f"{operation_name}: parameters {sorted(params)} != {sorted(expected)}")
        self.calls.append((operation_name, params))
        result = _stub_result(operation_name, params)
        result.update(self.overrides.get(operation_name, {}))
        return json.dumps(result)


class StubScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """PythonScriptEngine whose call_service reports service errors properly.

    (The library's own error path references an undefined name and raises NameError.)
    """

    def call_service(self, task: Any, **kwargs: Any) -> str:
        try:
            return self.environment.call_service(task.data, **kwargs)  # type: ignore[no-any-return]
        except Exception as exc:
            raise WorkflowTaskException(
                f"service {kwargs.get('operation_name')!r} failed: {exc}", task=task, exception=exc
            ) from exc


# ----------------------------------------------------------------------------- model
class Model:
    """The parsed process spec plus scenarios and form schemas (by user task id)."""

    def __init__(
        self,
        spec: Any,
        subprocess_specs: dict[str, Any],
        default_start: dict[str, Any],
        scenarios: list[dict[str, Any]],
        forms: dict[str, dict[str, Any]],
    ) -> None:
        self.spec = spec
        self.subprocess_specs = subprocess_specs
        self.default_start = default_start
        self.scenarios = scenarios
        self.forms = forms

    def process_variables(self, task_id: str) -> list[str]:
        return list(self.forms[task_id]["x-process-variables"])


_MODEL: Model | None = None


def load_model(validate_xsd: bool = True) -> Model:
    """Parse BPMN + DMN once (XSD-validated) and load scenarios and forms; cached."""
    global _MODEL
    if _MODEL is not None:
        return _MODEL
    parser = SpiffBpmnParser(validator=VALIDATOR if validate_xsd else None)
    parser.add_bpmn_file(str(BPMN_FILE))
    parser.add_dmn_files([str(f) for f in DMN_FILES])
    spec = parser.get_spec(PROCESS_ID)
    subprocess_specs = parser.get_subprocess_specs(PROCESS_ID)
    doc = json.loads(SCENARIOS_FILE.read_text(encoding="utf-8"))
    assert doc["process"] == PROCESS_ID, doc["process"]
    forms: dict[str, dict[str, Any]] = {}
    for task_spec in spec.task_specs.values():
        props = getattr(task_spec, "extensions", {}).get("properties", {})
        if "formJsonSchemaFilename" in props:
            form_path = FORMS_DIR / props["formJsonSchemaFilename"]
            forms[task_spec.bpmn_id] = json.loads(form_path.read_text(encoding="utf-8"))
    _MODEL = Model(spec, subprocess_specs, doc["default_start"], doc["scenarios"], forms)
    return _MODEL


# ----------------------------------------------------------------------------- replay
class ScenarioFailure(AssertionError):
    pass


def _ready_user_task(workflow: BpmnWorkflow, task_id: str) -> Any:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    matching = [t for t in ready if t.task_spec.bpmn_id == task_id]
    if len(matching) != 1:
        waiting = sorted(str(t.task_spec.bpmn_id) for t in ready)
        raise ScenarioFailure(
            f"expected user task {task_id!r} to be READY; READY user tasks: {waiting}"
        )
    return matching[0]


def _fire_timer(workflow: BpmnWorkflow, timer_id: str) -> None:
    """Let time pass until the timer is due: move its computed deadline into the past."""
    waiting = [
        t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == timer_id
    ]
    if len(waiting) != 1:
        raise ScenarioFailure(f"expected timer {timer_id!r} to be waiting, found {len(waiting)}")
    task = waiting[0]
    due = task._get_internal_data("event_value")
    if due is None:
        raise ScenarioFailure(f"timer {timer_id!r} has no deadline yet")
    if TimerEventDefinition.get_datetime(due) <= datetime.now(UTC):
        raise ScenarioFailure(f"timer {timer_id!r} was already due ({due}) before time passed")
    past = datetime.now(UTC) - timedelta(seconds=1)
    task._set_internal_data(event_value=past.isoformat())
    workflow.refresh_timers()
    workflow.do_engine_steps()
    if task.state != TaskState.COMPLETED:
        raise ScenarioFailure(
            f"timer {timer_id!r} did not fire (state {TaskState.get_name(task.state)})"
        )


def start_data(model: Model, scenario: dict[str, Any]) -> dict[str, Any]:
    data = dict(model.default_start)
    data.update(scenario.get("start", {}))
    return data


def replay(model: Model, scenario: dict[str, Any]) -> tuple[BpmnWorkflow, StubServiceEnvironment]:
    """Run one scenario to its end on a fresh in-memory workflow."""
    env = StubServiceEnvironment(scenario.get("service_results"))
    workflow = BpmnWorkflow(
        model.spec, model.subprocess_specs, script_engine=StubScriptEngine(environment=env)
    )
    start = workflow.get_tasks(state=TaskState.READY)
    if len(start) != 1:
        raise ScenarioFailure(f"expected one READY start task, found {len(start)}")
    start[0].data.update(start_data(model, scenario))
    workflow.do_engine_steps()
    for number, step in enumerate(scenario["steps"], 1):
        try:
            if "timer" in step:
                _fire_timer(workflow, step["timer"])
                continue
            task = _ready_user_task(workflow, step["task"])
            data = step.get("data", {})
            update = {name: data.get(name) for name in model.process_variables(step["task"])}
            update["last_actor"] = step.get("actor", DEFAULT_ACTOR)
            task.data.update(update)
            task.run()
            workflow.do_engine_steps()
        except ScenarioFailure as exc:
            raise ScenarioFailure(f"{scenario['name']}, step {number} {step}: {exc}") from None
    return workflow, env


def _end_event(workflow: BpmnWorkflow) -> tuple[str | None, Any]:
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        if task.task_spec.__class__.__name__ == "EndEvent":
            return task.task_spec.bpmn_id, task
    return None, None


def check(workflow: BpmnWorkflow, scenario: dict[str, Any], full: bool = True) -> None:
    """Assert the scenario's expectations on a replayed workflow."""
    name = scenario["name"]
    expect = scenario["expect"]
    if not workflow.is_completed():
        pending = sorted(
            str(t.task_spec.bpmn_id)
            for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
            if t.task_spec.bpmn_id
        )
        raise ScenarioFailure(f"{name}: workflow not completed; unfinished: {pending}")
    end_id, end_task = _end_event(workflow)
    if end_id != expect["end_event"]:
        raise ScenarioFailure(f"{name}: ended in {end_id!r}, expected {expect['end_event']!r}")
    if not full:
        return
    completed = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    missing = [i for i in expect.get("visited", []) if i not in completed]
    if missing:
        raise ScenarioFailure(f"{name}: not visited: {missing}")
    unexpected = [i for i in expect.get("not_visited", []) if i in completed]
    if unexpected:
        raise ScenarioFailure(f"{name}: visited but should not have been: {unexpected}")
    for key, value in expect.get("data", {}).items():
        if key not in end_task.data:
            raise ScenarioFailure(f"{name}: {key!r} missing from the final data")
        if end_task.data[key] != value:
            raise ScenarioFailure(
                f"{name}: data[{key!r}] = {end_task.data[key]!r}, expected {value!r}"
            )


def validate_scenario_forms(model: Model) -> int:
    """Check each step's form data against its user task's JSON Schema (needs jsonschema)."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:  # pragma: no cover - jsonschema is a project dependency
        return 0
    validators = {
        task_id: Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for task_id, schema in model.forms.items()
    }
    for schema in model.forms.values():
        Draft202012Validator.check_schema(schema)
    checked = 0
    for scenario in model.scenarios:
        for step in scenario["steps"]:
            if "task" in step:
                errors = sorted(validators[step["task"]].iter_errors(step.get("data", {})), key=str)
                if errors:
                    raise ScenarioFailure(
                        f"{scenario['name']}: {step['task']} form data invalid: {errors[0].message}"
                    )
                checked += 1
    return checked


def verify_all(verbose: bool = True) -> None:
    """Replay every scenario once with the full set of expectations."""
    model = load_model()
    forms_checked = validate_scenario_forms(model)
    known = {t.bpmn_id for t in model.spec.task_specs.values() if t.bpmn_id}
    for scenario in model.scenarios:
        expect = scenario["expect"]
        named = [expect["end_event"], *expect.get("visited", []), *expect.get("not_visited", [])]
        named += [s.get("task") or s.get("timer") for s in scenario["steps"]]
        unknown = sorted({i for i in named if i not in known})
        if unknown:
            raise ScenarioFailure(f"{scenario['name']}: unknown element ids {unknown}")
    for scenario in model.scenarios:
        workflow, env = replay(model, scenario)
        check(workflow, scenario, full=True)
        if verbose:
            print(
                f"ok  {scenario['name']:<24} -> {scenario['expect']['end_event']:<8} "
                f"({len(scenario['steps'])} steps, {len(env.calls)} service calls)"
            )
    print(f"{len(model.scenarios)} scenarios passed; {forms_checked} form submissions valid")


def run_raw(repeat: int) -> float:
    """Replay the scenarios ``repeat`` times round-robin in memory; return tickets per second.

    Parsing happens once, outside the timing.  Each replay still asserts its expected end event.
    """
    model = load_model()
    scenarios = model.scenarios
    if repeat <= 0:
        raise ValueError("repeat must be positive")
    for scenario in scenarios:  # warm-up (also the first correctness check)
        check(replay(model, scenario)[0], scenario, full=False)
    began = time.perf_counter()
    for i in range(repeat):
        scenario = scenarios[i % len(scenarios)]
        workflow, _ = replay(model, scenario)
        check(workflow, scenario, full=False)
    elapsed = time.perf_counter() - began
    return repeat / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="benchmark: replay the scenarios N times round-robin (default: verify only)",
    )
    ap.add_argument("--quiet", action="store_true", help="do not list the scenarios")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    load_model()
    print(f"parsed BPMN + 2 DMN (XSD-validated) in {(time.perf_counter() - began) * 1000:.1f} ms")
    try:
        verify_all(verbose=not args.quiet)
    except ScenarioFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    if args.repeat > 0:
        rate = run_raw(args.repeat)
        print(f"raw in-memory: {rate:.1f} tickets/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
