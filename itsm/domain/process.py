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


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


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
