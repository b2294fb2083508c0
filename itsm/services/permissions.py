"""Who may see and work what. Enforced here, in the services, never only in a UI."""

from __future__ import annotations

from itsm.domain.directory import Person
from itsm.domain.errors import NotFound, PermissionDenied
from itsm.domain.people import ROLE_GROUPS, Role
from itsm.domain.process import HumanTask
from itsm.domain.tickets import Ticket

SUPERVISORS = frozenset({Role.SERVICE_DESK_LEAD, Role.ADMIN})
DESIGNERS = frozenset({Role.PROCESS_OWNER, Role.ADMIN})
"""Who may edit, check and deploy process models."""
_CLIENT_GROUPS = frozenset({"requester", "coordinator"})


def ensure_can_see_ticket(person: Person, ticket: Ticket) -> None:
    """Client people see their own client's tickets only; others' look nonexistent."""
    if person.client_id is not None and person.client_id != ticket.client_id:
        raise NotFound(f"ticket {ticket.number} not found")
    if person.role is Role.REQUESTER and ticket.requester_id != person.id:
        raise NotFound(f"ticket {ticket.number} not found")


def groups_of(person: Person) -> frozenset[str]:
    return frozenset(ROLE_GROUPS.get(person.role, frozenset()))


def ensure_can_see_task(person: Person, task: HumanTask, ticket: Ticket | None = None) -> None:
    """Client people see their own client's tasks only; a requester, only the tasks waiting
    for them and (given ``ticket``) those of tickets they reported — as with tickets."""
    if person.client_id is not None and person.client_id != task.client_id:
        raise NotFound(f"task {task.id} not found")
    reported = (
        ticket is not None and ticket.id == task.ticket_id and ticket.requester_id == person.id
    )
    if person.role is Role.REQUESTER and task.assignee != person.username and not reported:
        raise NotFound(f"task {task.id} not found")
    provider_outsider = person.client_id is None and person.role not in SUPERVISORS
    if task.candidate_group in _CLIENT_GROUPS and provider_outsider:
        raise NotFound(f"task {task.id} not found")


def ensure_can_work(person: Person, task: HumanTask) -> None:
    ensure_can_see_task(person, task)
    if task.candidate_group not in groups_of(person):
        raise PermissionDenied(
            f"{person.username} ({person.role.value}) cannot work tasks of group "
            f"'{task.candidate_group}'"
        )
    if task.candidate_group == "requester" and task.assignee != person.username:
        raise PermissionDenied("only the requester of the ticket can confirm its resolution")
    if task.assignee is not None and task.assignee != person.username:
        raise PermissionDenied(
            f"task is assigned to {task.assignee}; claim it after they release it or ask the "
            "service desk lead to reassign it"
        )


def ensure_can_design(person: Person) -> None:
    if person.role not in DESIGNERS:
        raise PermissionDenied(
            f"{person.username} ({person.role.value}) cannot change process models: only "
            "process owners and admins can"
        )
