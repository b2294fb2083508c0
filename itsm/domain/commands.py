"""Commands: validated requests to change something, as every edge (CLI, UI, API) sends them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from itsm.domain.sla import ServiceType
from itsm.domain.tickets import Category, ChangeType, Channel, Level


class NewTicket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    client_code: str = Field(min_length=1, max_length=32, description="The client company's code")
    requester: str = Field(min_length=1, max_length=120, description="Requester's username")
    channel: Channel = Field(description="Where the report came from")
    category: Category = Field(description="What kind of problem or request it is")
    subject: str = Field(min_length=3, max_length=300, description="One-line summary")
    description: str = Field(min_length=1, max_length=20_000, description="Full description")
    impact: Level = Field(default=Level.MEDIUM, description="Impact on the client's business")
    urgency: Level = Field(default=Level.MEDIUM, description="How soon it hurts")
    service_type: ServiceType | None = Field(
        default=None, description="Service type; the client's default when omitted"
    )
    change_type: ChangeType = Field(
        default=ChangeType.NONE, description="Kind of change requested, if any"
    )
    site_id: int | None = Field(default=None, description="Client site concerned, if any")
