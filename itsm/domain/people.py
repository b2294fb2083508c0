"""The roles people play in the helpdesk and which task candidate groups each role may work."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person does: client-side roles first, then the provider's staff."""

    REQUESTER = "requester"
    COORDINATOR = "coordinator"
    L1 = "l1"
    L2 = "l2"
    L3 = "l3"
    FIELD_TECHNICIAN = "field_technician"
    SERVICE_DESK_LEAD = "service_desk_lead"
    MANAGER = "manager"
    PROCESS_OWNER = "process_owner"
    ADMIN = "admin"


CLIENT_ROLES: frozenset[Role] = frozenset({Role.REQUESTER, Role.COORDINATOR})
"""Roles held by employees of a client company."""

PROVIDER_ROLES: frozenset[Role] = frozenset(Role) - CLIENT_ROLES
"""Roles held by the outsourcing provider's staff."""

_SUPPORT_LINES = frozenset({"L1", "L2", "L3", "field"})

ROLE_GROUPS: dict[Role, frozenset[str]] = {
    Role.REQUESTER: frozenset({"requester"}),
    Role.COORDINATOR: frozenset({"coordinator"}),
    Role.L1: frozenset({"L1"}),
    Role.L2: frozenset({"L2"}),
    Role.L3: frozenset({"L3"}),
    Role.FIELD_TECHNICIAN: frozenset({"field"}),
    # The lead adds resources when the queue or the SLA is at risk, so may pick up any line's task.
    Role.SERVICE_DESK_LEAD: _SUPPORT_LINES,
    # Manager and process owner watch and report; they do not work tickets.
    Role.MANAGER: frozenset(),
    Role.PROCESS_OWNER: frozenset(),
    # Coordinator tasks are the client's decisions, so not even an admin may take them.
    Role.ADMIN: _SUPPORT_LINES,
}
"""Task candidate groups (BPMN lane names) each role may claim; every role has an entry."""
