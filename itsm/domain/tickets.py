"""Tickets: what was reported, by whom, how urgent, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from itsm.domain.sla import ServiceType


class Channel(StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    MONITORING = "monitoring"
    API = "api"


class Category(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    NETWORK = "network"
    ACCOUNT_ACCESS = "account_access"
    QUESTION = "question"
    INFRASTRUCTURE = "infrastructure"


class Level(StrEnum):
    """Impact on the client's business, and urgency, share one three-step scale."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ChangeType(StrEnum):
    """Requests that change something need an authorised requester or the coordinator's yes."""

    NONE = "none"
    PERMISSION_CHANGE = "permission_change"
    HARDWARE_REMOVAL = "hardware_removal"
    SOFTWARE_REMOVAL = "software_removal"
    INFRASTRUCTURE_CHANGE = "infrastructure_change"


class TicketStatus(StrEnum):
    NEW = "new"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_REQUESTER = "awaiting_requester"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    WITH_VENDOR = "with_vendor"
    FIELD_VISIT = "field_visit"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        """For people: "in progress", not "in_progress"."""
        return self.value.replace("_", " ")

    @property
    def is_final(self) -> bool:
        return self in (TicketStatus.CLOSED, TicketStatus.REJECTED)


class Closure(StrEnum):
    CONFIRMED = "confirmed"
    AUTO_CLOSED = "auto_closed"
    REJECTED = "rejected"
    ALERT_CLEARED = "alert_cleared"  # monitoring saw the alert clear by itself


@dataclass
class Ticket:
    id: int
    number: str
    client_id: int
    requester_id: int
    channel: Channel
    category: Category
    subject: str
    description: str
    impact: Level
    urgency: Level
    service_type: ServiceType
    change_type: ChangeType
    status: TicketStatus
    created_at: datetime
    priority: str | None = None
    assignee_id: int | None = None
    support_line: str | None = None
    reaction_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    closure: Closure | None = None
    diagnosis: str | None = None
    resolution: str | None = None
    root_cause: str | None = None
    vendor_name: str | None = None
    vendor_kind: str | None = None
    vendor_reference: str | None = None
    approval_decision: str | None = None
    approved_by_id: int | None = None
    reopen_count: int = 0
    site_id: int | None = None
    reaction_target_hours: float | None = None
    resolution_target_hours: float | None = None
    reaction_warn_at: datetime | None = None
    resolution_warn_at: datetime | None = None
    sla_paused_since: datetime | None = None
    requester_verified: bool = True
    reported_contact: str | None = None
    version: int = 1


def format_ticket_number(prefix: str, year: int, sequence: int) -> str:
    """Human-friendly, sortable, unique per provider: HD-2026-000123."""
    return f"{prefix}-{year}-{sequence:06d}"
