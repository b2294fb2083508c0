"""Playing a candidate model's scenarios on a throw-away desk before it may be deployed.

The desk is a fresh SQLite file (copied from a template migrated and seeded with the demo
directory once per process) with the candidate deployed on it, the real services and
service-task functions, and a manual clock the timers follow. Nothing it does reaches the
real database, mailboxes or clock. Its scenarios run one after the other, each from the
same Monday morning; an instance a scenario leaves unfinished is retired before the next
one starts, so its timers and retries cannot fire into another scenario's run.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itsm.catalog import DemoClient
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.errors import ItsmError
from itsm.domain.process import InstanceStatus
from itsm.engine.instance_data import InstanceData
from itsm.scenarios import (
    Playback,
    Scenario,
    ScenarioPlayer,
    parse_scenarios,
    requesters,
    ticket_command,
    unmet_expectations,
)
from itsm.services.ports import JsonDict, ProcessSource
from itsm.services.processes import ScenarioResult
from itsm.services.service_tasks import ServiceFunction, TaskContext
from itsm.settings import Settings
from itsm.storage.migrate import upgrade_database

START = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
"""Every scenario starts on a Monday at 9:00 in Warsaw, inside business hours."""
RUNNER = "system:scenarios"
_PASSED_KINDS = ("step", "task_completed")

DeskBuilder = Callable[..., Any]
"""``itsm.bootstrap.build``: (settings, clock=, functions=, fast_password_hashing=) → desk."""


class _FixedResults:
    """The scenario being played: where it fixes a service's result, those values win."""

    def __init__(self) -> None:
        self.results: Mapping[str, Any] = {}

    def wrap(self, operation: str, function: ServiceFunction) -> ServiceFunction:
        def call(ctx: TaskContext, **parameters: Any) -> JsonDict:
            result = function(ctx, **parameters)
            fixed = self.results.get(operation)
            return {**result, **fixed} if isinstance(fixed, Mapping) else result

        return call


class ScenarioDesk:
    """The ``ScenarioRunner`` of the process service, built by the composition root."""

    def __init__(
        self, settings: Settings, functions: Mapping[str, ServiceFunction], build: DeskBuilder
    ) -> None:
        self._settings = settings
        self._functions = dict(functions)
        self._build = build
        self._lock = threading.Lock()
        self._template: Path | None = None

    def __call__(self, source: ProcessSource, scenarios_json: str) -> list[ScenarioResult]:
        scenarios = list(parse_scenarios(scenarios_json).values())
        fixed = _FixedResults()
        functions = {op: fixed.wrap(op, function) for op, function in self._functions.items()}
        with tempfile.TemporaryDirectory(prefix="itsm-scenarios-run-") as work:
            path = Path(work) / "desk.db"
            shutil.copy(self._template_file(), path)
            clock = ManualClock(START)
            desk = self._desk(path, Path(work), clock, functions)
            try:
                try:
                    desk.processes.deploy(source, RUNNER, "candidate under test")
                except ItsmError as err:
                    reason = f"the candidate could not be deployed: {err}"
                    return [ScenarioResult(s.name, False, reason, 0) for s in scenarios]
                read = InstanceData()  # parses the candidate once for all its scenarios
                results = []
                for scenario in scenarios:
                    clock.set(START)
                    fixed.results = scenario.service_results
                    results.append(_play(desk, clock, scenario, read))
                return results
            finally:
                desk.close()

    def _template_file(self) -> Path:
        """A migrated, seeded database file, made on first use and kept while this lives."""
        with self._lock:
            if self._template is None:
                folder = Path(tempfile.mkdtemp(prefix="itsm-scenarios-"))
                weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
                path = folder / "template.db"
                upgrade_database(f"sqlite:///{path}")
                desk = self._desk(path, folder, ManualClock(START), self._functions)
                try:
                    with desk.unit_of_work() as uow:
                        seed_directory(uow, desk.catalog, START)
                        uow.commit()
                finally:
                    desk.close()
                self._template = path
            return self._template

    def _desk(
        self, path: Path, folder: Path, clock: ManualClock, functions: Mapping[str, Any]
    ) -> Any:
        settings = self._settings.model_copy(
            update={
                "database_url": f"sqlite:///{path}",
                "attachments_dir": folder / "attachments",
                "imap_host": None,
            }
        )
        return self._build(settings, clock=clock, functions=functions, fast_password_hashing=True)


def _play(desk: Any, clock: ManualClock, scenario: Scenario, read: InstanceData) -> ScenarioResult:
    try:
        client = _client(desk, scenario)
        requester = _requester(client, scenario)
        command = ticket_command(scenario, client.code, requester)
        ticket = desk.intake.register(command, requester)
    except ItsmError as err:
        return ScenarioResult(scenario.name, False, f"the ticket was not registered: {err}", 0)
    playback = Playback(ticket.number)
    try:
        ScenarioPlayer(desk, clock).play(scenario, ticket.number, playback=playback)
    except ItsmError as err:
        done = playback.completed_steps
        step = scenario.steps[done] if done < len(scenario.steps) else {}
        what = f"task {step['task']}" if "task" in step else f"timer {step.get('timer', '?')}"
        message = f"step {done + 1} ({what}): {err}{_failure(desk, ticket.id)}"
        _retire(desk, clock, ticket.id)
        return ScenarioResult(scenario.name, False, message, done)
    passed, completed, data, failure = _outcome(desk, ticket.id, read)
    _retire(desk, clock, ticket.id)
    problems = unmet_expectations(scenario, passed, completed, data)
    message = "; ".join(problems) + failure
    return ScenarioResult(scenario.name, not problems, message, playback.completed_steps)


def _client(desk: Any, scenario: Scenario) -> DemoClient:
    """The client the scenario names (``client_code``), else one of its SLA tier."""
    clients: tuple[DemoClient, ...] = desk.catalog.demo.clients
    start = scenario.start
    wanted = [c for c in clients if c.code == start.get("client_code")] or [
        c for c in clients if c.tier.value == start.get("sla_tier")
    ]
    return (wanted or list(clients))[0]


def _requester(client: DemoClient, scenario: Scenario) -> str:
    """A requester of the client fitting the scenario, the one it names if it names one."""
    people = requesters(client, scenario)
    named = [p for p in people if p.username == scenario.start.get("requester_username")]
    return (named or people)[0].username


def _outcome(
    desk: Any, ticket_id: int, read: InstanceData
) -> tuple[list[str], bool, dict[str, Any], str]:
    with desk.unit_of_work(read_only=True) as uow:
        instance = uow.processes.instance_for_ticket(ticket_id)
        events = uow.audit.for_ticket(ticket_id)
    if instance is None:
        return [], False, {}, " (no process instance was started)"
    passed = [e["element_id"] for e in events if e["kind"] in _PASSED_KINDS and e["element_id"]]
    data = read(desk.processes.source(instance.definition_id), instance.state)
    completed = instance.status is InstanceStatus.COMPLETED
    return passed, completed, data, _failure(desk, ticket_id)


def _failure(desk: Any, ticket_id: int) -> str:
    with desk.unit_of_work(read_only=True) as uow:
        instance = uow.processes.instance_for_ticket(ticket_id)
    failure = None if instance is None else instance.failure
    if failure is None:
        return ""
    return f" (the instance failed at {failure.element_id}: {failure.error})"


def _retire(desk: Any, clock: ManualClock, ticket_id: int) -> None:
    """Stop an unfinished instance (throw-away desk only): no timer or retry of it may run
    while the next scenario plays."""
    with desk.unit_of_work() as uow:
        instance = uow.processes.instance_for_ticket(ticket_id)
        if instance is None or instance.status is InstanceStatus.COMPLETED:
            return
        uow.processes.save_instance(
            instance.id,
            expected_version=instance.version,
            state=instance.state,
            status=InstanceStatus.COMPLETED.value,
            next_timer_at=None,
            at=clock.now(),
        )
        uow.commit()
