"""Row ↔ domain object conversion shared by the repositories."""

from __future__ import annotations

import functools
import json
from datetime import date, time
from typing import Any

from sqlalchemy.engine import RowMapping

from itsm.domain.calendar import BusinessCalendar
from itsm.domain.directory import Client, Person, Site
from itsm.domain.people import Role
from itsm.domain.process import (
    HumanTask,
    InstanceFailure,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from itsm.domain.sla import ServiceType, SlaTier
from itsm.domain.tickets import Category, ChangeType, Channel, Closure, Level, Ticket, TicketStatus


def calendar_to_json(calendar: BusinessCalendar) -> str:
    return json.dumps(
        {
            "timezone": calendar.timezone,
            "working_days": sorted(calendar.working_days),
            "day_start": calendar.day_start.isoformat(),
            "day_end": calendar.day_end.isoformat(),
            "holidays": sorted(d.isoformat() for d in calendar.holidays),
            "round_the_clock": calendar.round_the_clock,
            "holiday_country": calendar.holiday_country,
        }
    )


@functools.lru_cache(maxsize=1024)
def calendar_from_json(text: str) -> BusinessCalendar:
    """Cached by the stored text: a calendar is immutable, and building one (time zone, holiday
    country) was repeated for every client read of every step."""
    raw = json.loads(text)
    return BusinessCalendar(
        timezone=raw["timezone"],
        working_days=frozenset(raw["working_days"]),
        day_start=time.fromisoformat(raw["day_start"]),
        day_end=time.fromisoformat(raw["day_end"]),
        holidays=frozenset(date.fromisoformat(d) for d in raw["holidays"]),
        round_the_clock=raw["round_the_clock"],
        holiday_country=raw.get("holiday_country"),
    )


def client_from_row(row: RowMapping) -> Client:
    return Client(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        sla_tier=SlaTier(row["sla_tier"]),
        default_service_type=ServiceType(row["default_service_type"]),
        language=row["language"],
        calendar=calendar_from_json(row["calendar"]),
        coordinator_id=row["coordinator_id"],
    )


def site_from_row(row: RowMapping) -> Site:
    return Site(id=row["id"], client_id=row["client_id"], name=row["name"], address=row["address"])


def person_from_row(row: RowMapping) -> Person:
    return Person(
        id=row["id"],
        username=row["username"],
        full_name=row["full_name"],
        email=row["email"],
        phone=row["phone"],
        role=Role(row["role"]),
        client_id=row["client_id"],
        is_authorised=bool(row["is_authorised"]),
        active=bool(row["active"]),
    )


_TICKET_ENUMS: dict[str, Any] = {
    "channel": Channel,
    "category": Category,
    "impact": Level,
    "urgency": Level,
    "service_type": ServiceType,
    "change_type": ChangeType,
    "status": TicketStatus,
}


def ticket_from_row(row: RowMapping) -> Ticket:
    values = {key: row[key] for key in Ticket.__dataclass_fields__}
    for key, kind in _TICKET_ENUMS.items():
        values[key] = kind(values[key])
    if values["closure"] is not None:
        values["closure"] = Closure(values["closure"])
    for key in ("reaction_target_hours", "resolution_target_hours"):
        if values[key] is not None:
            values[key] = float(values[key])
    values["requester_verified"] = bool(values["requester_verified"])
    return Ticket(**values)


def definition_from_row(row: RowMapping) -> ProcessDefinition:
    return ProcessDefinition(
        id=row["id"],
        key=row["key"],
        version=row["version"],
        content_hash=row["content_hash"],
        bpmn_xml=row["bpmn_xml"],
        dmn_xml=json.loads(row["dmn_json"]),
        forms=json.loads(row["forms_json"]),
        deployed_by=row["deployed_by"],
        deployed_at=row["deployed_at"],
        comment=row["comment"],
        scenarios_json=row["scenarios_json"],
    )


def instance_from_row(row: RowMapping) -> ProcessInstance:
    return ProcessInstance(
        id=row["id"],
        ticket_id=row["ticket_id"],
        definition_id=row["definition_id"],
        state=row["state"],
        status=InstanceStatus(row["status"]),
        next_timer_at=row["next_timer_at"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        failure=failure_from_row(row),
    )


def failure_from_row(row: RowMapping) -> InstanceFailure | None:
    if row["failed_element"] is None:
        return None
    return InstanceFailure(
        element_id=row["failed_element"],
        error=row["last_error"] or "",
        attempts=row["attempts"],
        failed_since=row["failed_since"],
        next_retry_at=row["next_retry_at"],
    )


def failure_to_row(failure: InstanceFailure | None) -> dict[str, Any]:
    """The failure columns of an instance; all empty for one that is not failing."""
    if failure is None:
        return {
            "failed_element": None,
            "last_error": None,
            "attempts": 0,
            "failed_since": None,
            "next_retry_at": None,
        }
    return {
        "failed_element": failure.element_id,
        "last_error": failure.error,
        "attempts": failure.attempts,
        "failed_since": failure.failed_since,
        "next_retry_at": failure.next_retry_at,
    }


def task_from_row(row: RowMapping) -> HumanTask:
    values = {key: row[key] for key in HumanTask.__dataclass_fields__}
    values["status"] = TaskStatus(values["status"])
    return HumanTask(**values)
