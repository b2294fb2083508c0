"""Deploying process versions: validate, refuse what cannot run, store a new version.

Validation is one answer for every edge (CLI, API, designer): the model check's findings,
the engine's own parse, and the model's scenarios played against the candidate on a
throw-away desk. A deploy stores nothing unless all of it passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from itsm.domain.errors import InvalidProcess
from itsm.domain.process import ProcessDefinition
from itsm.modeling.lint import LintFinding, lint_model
from itsm.scenarios import parse_scenarios, scenario_process
from itsm.services.ports import (
    Clock,
    ProcessEngine,
    ProcessModel,
    ProcessSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from itsm.services.service_tasks import ServiceRegistry
from itsm.services.steps import source_of

_REHEARSALS_KEPT = 16
"""Scenario results remembered per (model, scenario file)."""
_SHOWN_IN_MESSAGE = 8
"""Problems a refusal's message lists (all of them are on the exception and the validation)."""


@dataclass(frozen=True)
class Deployment:
    definition: ProcessDefinition
    created: bool
    """False when an identical source was already the latest version."""


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    passed: bool
    message: str
    """Why it failed (empty when it passed)."""
    steps_done: int


ScenarioRunner = Callable[[ProcessSource, str], list[ScenarioResult]]
"""Plays every scenario of a scenario file (its JSON text) against a candidate source where
it can do no harm, one result per scenario."""


@dataclass(frozen=True)
class Validation:
    model: ProcessModel | None
    """None when the engine cannot parse the source."""
    findings: list[LintFinding] = field(default_factory=list)
    scenario_results: list[ScenarioResult] = field(default_factory=list)

    @property
    def failed_scenarios(self) -> list[ScenarioResult]:
        return [result for result in self.scenario_results if not result.passed]

    @property
    def ok(self) -> bool:
        return self.model is not None and not self.findings and not self.failed_scenarios

    def problems(self) -> list[str]:
        """One line per finding and failed scenario."""
        lines = [finding.message for finding in self.findings]
        lines += [
            f"scenario {result.name} failed after {result.steps_done} step(s): {result.message}"
            for result in self.failed_scenarios
        ]
        return lines

    def summary(self) -> str:
        problems = self.problems()
        if not problems:
            return "the model is valid"
        shown = [line if len(line) <= 220 else line[:219] + "…" for line in problems]
        more = len(shown) - _SHOWN_IN_MESSAGE
        text = "; ".join(shown[:_SHOWN_IN_MESSAGE])
        return text + (f" (and {more} more)" if more > 0 else "")


class ProcessService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        engine: ProcessEngine,
        registry: ServiceRegistry,
        clock: Clock,
        *,
        scenarios: ScenarioRunner | None = None,
    ) -> None:
        self._uow = uow
        self._engine = engine
        self._registry = registry
        self._clock = clock
        self._scenarios = scenarios
        self._definitions: dict[int, ProcessDefinition] = {}
        self._rehearsed: dict[tuple[str, str], list[ScenarioResult]] = {}

    def check(self, source: ProcessSource) -> ProcessModel:
        """Whether the engine can run the source: it parses and its service tasks call
        registered functions (``validate`` says everything a deploy verifies)."""
        model = self._engine.inspect(source, validate=True)
        unknown = sorted(model.service_operations - self._registry.operations)
        if unknown:
            raise InvalidProcess(
                "service tasks call operations that are not registered: " + ", ".join(unknown)
            )
        return model

    def validate(self, source: ProcessSource, scenarios: str | None = None) -> Validation:
        """Everything a deploy verifies, without deploying: the model check, the engine's
        parse and, given a scenario file's text and a clean model, its scenarios."""
        findings = lint_model(source, self._registry.operations)
        model = None
        if not any(finding.rule == "xml-syntax" for finding in findings):
            try:
                model = self._engine.inspect(source, validate=True)
            except InvalidProcess as err:
                findings.insert(0, LintFinding("engine-parse", None, "", str(err)))
        if scenarios is None:
            return Validation(model, findings)
        problem = _scenario_file_problem(scenarios, model)
        if problem is not None:
            findings.append(LintFinding("scenario-file", None, "", problem))
        if model is None or findings:
            return Validation(model, findings)  # scenarios need a model that can deploy
        if self._scenarios is None:
            problem = "scenarios cannot be run here: no scenario runner is configured"
            return Validation(model, [LintFinding("scenario-file", None, "", problem)])
        return Validation(model, findings, self._played(source, model, scenarios))

    def _played(
        self, source: ProcessSource, model: ProcessModel, scenarios: str
    ) -> list[ScenarioResult]:
        """Scenario runs are deterministic (same model, file, functions and start time): the
        designer's "validate, then deploy" plays them once."""
        assert self._scenarios is not None
        key = (model.content_hash, hashlib.sha256(scenarios.encode("utf-8")).hexdigest())
        results = self._rehearsed.get(key)
        if results is None:
            results = self._scenarios(source, scenarios)
            while len(self._rehearsed) >= _REHEARSALS_KEPT:
                self._rehearsed.pop(next(iter(self._rehearsed)))
            self._rehearsed[key] = results
        return list(results)

    def deploy(
        self,
        source: ProcessSource,
        deployed_by: str,
        comment: str = "",
        scenarios: str | None = None,
        *,
        key: str | None = None,
        then: Callable[[UnitOfWork, Deployment], None] | None = None,
    ) -> Deployment:
        """Validate (with ``scenarios``, the scenario file's text, if given) and store a new
        version; refuses with ``InvalidProcess`` (each finding and failed scenario on it)
        unless all passed. ``key``: refuse a model of another process. ``then`` runs inside
        the deploying transaction, before its commit."""
        validation = self.validate(source, scenarios)
        if not validation.ok or validation.model is None:
            raise InvalidProcess(
                f"the model cannot be deployed: {validation.summary()}",
                findings=validation.findings,
                failed_scenarios=validation.failed_scenarios,
            )
        model = validation.model
        if key is not None and model.process_key != key:
            raise InvalidProcess(
                f"the model's executable process is '{model.process_key}', not '{key}'"
            )
        with self._uow() as uow:
            deployment = self._store(uow, model, source, deployed_by, comment, scenarios)
            if then is not None:
                then(uow, deployment)
            uow.commit()
        self._definitions[deployment.definition.id] = deployment.definition
        return deployment

    def _store(
        self,
        uow: UnitOfWork,
        model: ProcessModel,
        source: ProcessSource,
        deployed_by: str,
        comment: str,
        scenarios: str | None,
    ) -> Deployment:
        latest_id = uow.processes.latest_definition_id(model.process_key)
        if latest_id is not None:
            latest = self.definition(latest_id, uow)
            if latest.content_hash == model.content_hash:
                if scenarios is not None and scenarios != latest.scenarios_json:
                    # The same model passed a changed scenario file: keep the newer one.
                    uow.processes.set_scenarios(latest.id, scenarios)
                    latest = uow.processes.definition(latest.id)
                return Deployment(latest, created=False)
        definition = uow.processes.add_definition(
            key=model.process_key,
            content_hash=model.content_hash,
            bpmn_xml=source.bpmn_xml,
            dmn_xml=dict(source.dmn_xml),
            forms=dict(source.forms),
            deployed_by=deployed_by,
            deployed_at=self._clock.now(),
            comment=comment,
            scenarios_json=scenarios,
        )
        return Deployment(definition, created=True)

    def definition(self, definition_id: int, uow: object | None = None) -> ProcessDefinition:
        """Deployed versions never change, so each is read from the database once."""
        cached = self._definitions.get(definition_id)
        if cached is None:
            if uow is None:
                with self._uow(read_only=True) as fresh:
                    cached = fresh.processes.definition(definition_id)
            else:
                cached = uow.processes.definition(definition_id)  # type: ignore[attr-defined]
            self._definitions[definition_id] = cached
        return cached

    def source(self, definition_id: int, uow: object | None = None) -> ProcessSource:
        return source_of(self.definition(definition_id, uow))

    def versions(self, key: str | None = None) -> list[ProcessDefinition]:
        """Read afresh: a redeploy of an unchanged model may have updated its scenarios."""
        with self._uow(read_only=True) as uow:
            found = [uow.processes.definition(each) for each in uow.processes.definition_ids(key)]
        self._definitions.update({each.id: each for each in found})
        return found


def _scenario_file_problem(scenarios: str, model: ProcessModel | None) -> str | None:
    try:
        parse_scenarios(scenarios)
        process = scenario_process(scenarios)
    except (ValueError, KeyError, TypeError) as err:
        return f"the scenario file is not valid: {type(err).__name__}: {err}"
    if model is not None and process is not None and process != model.process_key:
        return f"the scenario file is for process '{process}', the model is '{model.process_key}'"
    return None
