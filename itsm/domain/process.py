"""Deployed process versions, running instances and the human tasks they wait for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class ProcessDefinition:
    id: int
    key: str
    version: int
    content_hash: str
    bpmn_xml: str
    dmn_xml: dict[str, str]
    forms: dict[str, dict[str, Any]]
    deployed_by: str
    deployed_at: datetime
    comment: str
    scenarios_json: str | None = None
    """The scenario file this version passed when it was deployed (None: deployed without)."""


@dataclass(frozen=True)
class ProcessDraft:
    """A model being edited in the designer: saved, not deployed; one per process key.
    ``version`` counts saves (optimistic locking: a save names the version it edited)."""

    id: int
    key: str
    bpmn_xml: str
    dmn_xml: dict[str, str]
    forms: dict[str, dict[str, Any]]
    scenarios_json: str | None
    saved_by: str
    saved_at: datetime
    based_on_definition_id: int | None
    version: int


class InstanceStatus(StrEnum):
    RUNNING = "running"
    FAILING = "failing"
    """An automatic step failed; the timers' run tries it again at ``next_retry_at``."""
    INCIDENT = "incident"
    """An automatic step failed for good; it waits for an admin or the lead (retry or skip)."""
    COMPLETED = "completed"

    @property
    def is_failed(self) -> bool:
        return self in (InstanceStatus.FAILING, InstanceStatus.INCIDENT)


@dataclass(frozen=True)
class InstanceFailure:
    """Where a failing instance stands: the element it waits at, the last error, how many
    attempts failed and when the next automatic one runs (None: an incident)."""

    element_id: str
    error: str
    attempts: int
    failed_since: datetime
    next_retry_at: datetime | None = None


@dataclass
class ProcessInstance:
    id: int
    ticket_id: int
    definition_id: int
    state: str
    status: InstanceStatus
    next_timer_at: datetime | None
    started_at: datetime
    updated_at: datetime
    version: int
    failure: InstanceFailure | None = None


CLIENT_GROUPS = ("requester", "coordinator")
"""Candidate groups of tasks the client's people decide; they carry no SLA due time."""


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass
class HumanTask:
    id: str
    instance_id: int
    ticket_id: int
    client_id: int
    element_id: str
    name: str
    candidate_group: str
    form_key: str | None
    status: TaskStatus
    created_at: datetime
    assignee: str | None = None
    claimed_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    due_at: datetime | None = None
    version: int = 1
