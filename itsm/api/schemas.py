"""Request and response bodies of the HTTP API, as published in its OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from itsm.domain.sla import ServiceType
from itsm.domain.tickets import Category, ChangeType, Level


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    requester: str = Field(
        min_length=1,
        max_length=120,
        description="Username of the person of your company reporting it",
    )
    subject: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    category: Category = Category.QUESTION
    impact: Level = Level.MEDIUM
    urgency: Level = Level.MEDIUM
    change_type: ChangeType = ChangeType.NONE
    service_type: ServiceType | None = None


class TicketOut(BaseModel):
    number: str
    status: str
    priority: str | None
    subject: str
    category: str
    channel: str
    created_at: datetime
    engineer: str | None = Field(description="Full name of the engineer handling it")
    reaction_due_at: datetime | None
    resolution_due_at: datetime | None
    resolution: str | None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: str = Field(min_length=1, max_length=20_000)
    author: str | None = Field(
        default=None,
        max_length=120,
        description="Username of the author; the ticket's requester when omitted",
    )


class CommentOut(BaseModel):
    ticket_number: str
    author: str


class Problem(BaseModel):
    detail: str


class AlertOutcomeOut(BaseModel):
    alert: str
    outcome: str = Field(description="ticket_created, linked, resolved, duplicate or ignored")
    ticket_number: str | None


class AlertsOut(BaseModel):
    outcomes: list[AlertOutcomeOut]


class SmsIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, str_strip_whitespace=True)

    sender: str = Field(alias="from", min_length=3, max_length=40, description="Phone number")
    text: str = Field(min_length=1, max_length=2000)
    id: str | None = Field(default=None, max_length=200, description="The gateway's message id")


class SmsOut(BaseModel):
    outcome: str = Field(description="ticket_created, comment_added, quarantined or duplicate")
    ticket_number: str | None
