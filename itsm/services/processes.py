"""Deploying process versions: validate, refuse what cannot run, store a new version."""

from __future__ import annotations

from dataclasses import dataclass

from itsm.domain.errors import InvalidProcess
from itsm.domain.process import ProcessDefinition
from itsm.services.ports import Clock, ProcessEngine, ProcessModel, ProcessSource, UnitOfWorkFactory
from itsm.services.service_tasks import ServiceRegistry
from itsm.services.steps import source_of


@dataclass(frozen=True)
class Deployment:
    definition: ProcessDefinition
    created: bool
    """False when an identical source was already the latest version."""


class ProcessService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        engine: ProcessEngine,
        registry: ServiceRegistry,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._engine = engine
        self._registry = registry
        self._clock = clock
        self._definitions: dict[int, ProcessDefinition] = {}

    def check(self, source: ProcessSource) -> ProcessModel:
        """Everything deploy verifies, without deploying."""
        model = self._engine.inspect(source, validate=True)
        unknown = sorted(model.service_operations - self._registry.operations)
        if unknown:
            raise InvalidProcess(
                "service tasks call operations that are not registered: " + ", ".join(unknown)
            )
        return model

    def deploy(self, source: ProcessSource, deployed_by: str, comment: str = "") -> Deployment:
        model = self.check(source)
        with self._uow() as uow:
            latest_id = uow.processes.latest_definition_id(model.process_key)
            if latest_id is not None:
                latest = self.definition(latest_id, uow)
                if latest.content_hash == model.content_hash:
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
            )
            uow.commit()
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
        with self._uow(read_only=True) as uow:
            ids = uow.processes.definition_ids(key)
            return [self.definition(each, uow) for each in ids]
