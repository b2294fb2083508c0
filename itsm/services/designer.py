"""The process designer's back end: drafts, checks, deployment and what changed between
versions. Only process owners and admins may use it.

A draft is saved work, one per process key, with a version per save (a save names the
version it edited; a stale one is a conflict). Deploying a draft goes through the same
validation as every deploy — model check, engine parse, scenarios — and removes the draft
in the transaction that stores the new version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from itsm.domain.errors import (
    ConflictError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from itsm.domain.process import ProcessDefinition, ProcessDraft
from itsm.modeling.diff import ModelDiff, diff_sources
from itsm.modeling.lint import LintFinding
from itsm.process_files import read_process_source, read_scenarios
from itsm.services.permissions import ensure_can_design
from itsm.services.ports import Clock, ProcessSource, UnitOfWork, UnitOfWorkFactory
from itsm.services.processes import Deployment, ProcessService, ScenarioResult, Validation
from itsm.services.steps import source_of

__all__ = [
    "DesignerService",
    "Draft",
    "LintFinding",
    "ModelDiff",
    "ScenarioResult",
    "Validation",
]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,119}")
MAX_MODEL_CHARS = 5_000_000
"""Largest BPMN, DMN file or scenario file a draft keeps (the bundled lifecycle: ~90 KB)."""


@dataclass(frozen=True)
class Draft:
    key: str
    source: ProcessSource
    scenarios: str | None
    """The scenario file's JSON text (None: the model has none)."""
    version: int
    """Saves of the draft so far; 0: not saved yet (opened from a version or bundled files).
    ``save`` needs it back as ``expected_version``."""
    origin: str
    """"draft" (saved work), "deployed" (the latest version) or "bundled" (bpmn/ files)."""
    based_on_definition_id: int | None
    saved_by: str | None = None
    saved_at: datetime | None = None


class DesignerService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        processes: ProcessService,
        clock: Clock,
        *,
        bundled_dir: Path | None = None,
    ) -> None:
        self._uow = uow
        self._processes = processes
        self._clock = clock
        self._bundled_dir = bundled_dir

    def process_keys(self, actor: str) -> list[str]:
        """Processes to design: those with a draft or a deployed version, and the bundled."""
        with self._uow(read_only=True) as uow:
            _ensure_designer(uow, actor)
            keys = set(uow.drafts.process_keys())
        if self._bundled_dir is not None:
            keys.update(path.stem for path in self._bundled_dir.glob("*.bpmn"))
        return sorted(key for key in keys if _KEY.fullmatch(key))

    def open(self, key: str, actor: str) -> Draft:
        """The saved draft, else the latest deployed version, else the bundled model."""
        _check_key(key)
        with self._uow(read_only=True) as uow:
            _ensure_designer(uow, actor)
            saved = uow.drafts.get(key)
            if saved is not None:
                return _from_draft(saved)
            latest_id = uow.processes.latest_definition_id(key)
            if latest_id is not None:
                latest = uow.processes.definition(latest_id)
                return Draft(
                    key, source_of(latest), latest.scenarios_json, 0, "deployed", latest.id
                )
        bundled = self._bundled(key)
        if bundled is None:
            raise NotFound(f"process {key} has no draft, no deployed version and no bundled model")
        source, scenarios = bundled
        return Draft(key, source, scenarios, 0, "bundled", None)

    def save(
        self,
        key: str,
        source: ProcessSource,
        scenarios: str | None,
        actor: str,
        expected_version: int,
        *,
        based_on_definition_id: int | None = None,
    ) -> Draft:
        """Keep the draft (valid or not). ``expected_version``: the version it was opened
        at; ``based_on_definition_id`` (the opened draft's) also refuses a first save after
        someone deployed a newer version meanwhile."""
        _check_key(key)
        _check_sizes(source, scenarios)
        with self._uow() as uow:
            _ensure_designer(uow, actor)
            existing = uow.drafts.get(key)
            latest_id = uow.processes.latest_definition_id(key)
            if (
                expected_version == 0
                and based_on_definition_id is not None
                and latest_id != based_on_definition_id
            ):
                raise ConflictError(
                    f"a newer version of {key} was deployed after you opened it: open it again"
                )
            saved = uow.drafts.save(
                key=key,
                bpmn_xml=source.bpmn_xml,
                dmn_xml=dict(source.dmn_xml),
                forms=dict(source.forms),
                scenarios_json=scenarios,
                saved_by=actor,
                saved_at=self._clock.now(),
                based_on_definition_id=(
                    existing.based_on_definition_id if existing is not None else latest_id
                ),
                expected_version=expected_version,
            )
            uow.audit.record(
                ticket_id=None,
                actor=actor,
                kind="process_draft_saved",
                summary=f"Draft of {key} saved (version {saved.version})",
                at=saved.saved_at,
                key=key,
                version=saved.version,
            )
            uow.commit()
        return _from_draft(saved)

    def validate_draft(self, key: str, actor: str) -> Validation:
        """What a deploy of the draft (or of what ``open`` returns) would find."""
        draft = self.open(key, actor)
        return self._processes.validate(draft.source, draft.scenarios)

    def deploy(self, key: str, actor: str, comment: str = "") -> Deployment:
        """Validate the saved draft and deploy it as the next version (refused, with
        nothing stored, unless valid); the draft goes in the same transaction."""
        _check_key(key)
        with self._uow(read_only=True) as uow:
            _ensure_designer(uow, actor)
            draft = uow.drafts.get(key)
        if draft is None:
            raise NotFound(f"there is no saved draft of {key} to deploy")

        def record(uow: UnitOfWork, deployment: Deployment) -> None:
            # A save made while the checks ran is newer work: it stays a draft.
            uow.drafts.delete(key, version=draft.version)
            definition = deployment.definition
            state = "deployed as" if deployment.created else "unchanged from"
            uow.audit.record(
                ticket_id=None,
                actor=actor,
                kind="process_deployed",
                summary=f"Draft {draft.version} of {key} {state} version {definition.version}",
                at=self._clock.now(),
                key=key,
                version=definition.version,
                created=deployment.created,
                draft_version=draft.version,
            )

        return self._processes.deploy(
            _from_draft(draft).source,
            actor,
            comment,
            draft.scenarios_json,
            key=key,
            then=record,
        )

    def versions(self, key: str, actor: str) -> list[ProcessDefinition]:
        self._ensure(actor)
        return self._processes.versions(key)

    def diff(self, key: str, from_version: int, to_version: int, actor: str) -> ModelDiff:
        """What changed from one deployed version to another."""
        by_version = {each.version: each for each in self.versions(key, actor)}
        missing = [v for v in (from_version, to_version) if v not in by_version]
        if missing:
            raise NotFound(f"{key} has no version {missing[0]}")
        return diff_sources(source_of(by_version[from_version]), source_of(by_version[to_version]))

    def diff_draft(self, key: str, actor: str) -> ModelDiff:
        """What the draft (or what ``open`` returns) changes against the latest version;
        without a deployed version, everything in it is new."""
        draft = self.open(key, actor)
        with self._uow(read_only=True) as uow:
            # The latest version only, cached by id: the Deploy tab asks on every rerun.
            latest_id = uow.processes.latest_definition_id(key)
            base = (
                ProcessSource("") if latest_id is None else self._processes.source(latest_id, uow)
            )
        return diff_sources(base, draft.source)

    def _ensure(self, actor: str) -> None:
        with self._uow(read_only=True) as uow:
            _ensure_designer(uow, actor)

    def _bundled(self, key: str) -> tuple[ProcessSource, str | None] | None:
        if self._bundled_dir is None:
            return None
        path = self._bundled_dir / f"{key}.bpmn"
        if not path.is_file():
            return None
        return read_process_source(path), read_scenarios(path)


def _ensure_designer(uow: UnitOfWork, actor: str) -> None:
    try:
        person = uow.directory.person_by_username(actor)
    except NotFound as err:
        raise PermissionDenied("only process owners and admins can change process models") from err
    ensure_can_design(person)


def _check_key(key: str) -> None:
    if not _KEY.fullmatch(key):
        raise ValidationFailed(
            [FieldError("key", "a process key is a BPMN id, e.g. ticket_lifecycle")]
        )


def _check_sizes(source: ProcessSource, scenarios: str | None) -> None:
    texts = {"bpmn_xml": source.bpmn_xml, "scenarios": scenarios or ""}
    texts.update({f"dmn_xml.{name}": xml for name, xml in source.dmn_xml.items()})
    errors = [
        FieldError(name, f"larger than {MAX_MODEL_CHARS:,} characters")
        for name, text in texts.items()
        if len(text) > MAX_MODEL_CHARS
    ]
    if errors:
        raise ValidationFailed(errors)


def _from_draft(draft: ProcessDraft) -> Draft:
    return Draft(
        key=draft.key,
        source=ProcessSource(draft.bpmn_xml, draft.dmn_xml, draft.forms),
        scenarios=draft.scenarios_json,
        version=draft.version,
        origin="draft",
        based_on_definition_id=draft.based_on_definition_id,
        saved_by=draft.saved_by,
        saved_at=draft.saved_at,
    )
