"""The process cockpit: per-element figures checked against a hand-computed set of tickets
driven with a manual clock, and the path one ticket took, shown only to who may see it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.errors import NotFound, PermissionDenied
from itsm.domain.process import TaskStatus
from itsm.process_files import read_process_source
from itsm.scenarios import ScenarioPlayer, load_scenarios, ticket_command
from itsm.services.ports import ProcessSource
from itsm.services.process_cockpit import ElementFigures
from itsm.settings import PROJECT_ROOT
from tests.conftest import START

SCENARIOS = load_scenarios(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json")
RESOLVE = dict(SCENARIOS["l1_resolve"].steps[0]["data"])
KEY = "ticket_lifecycle"
MANAGER = "marek.jankowski"
ADMIN = "lukasz.kwiatkowski"
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def register(desk: Services) -> str:
    command = ticket_command(SCENARIOS["l1_resolve"], "ACME", "anna.kowalska")
    number: str = desk.intake.register(command, "jan.nowak").number
    return number


def complete(desk: Services, clock: ManualClock, number: str, data: dict[str, Any]) -> None:
    details = desk.tickets.details(number, ADMIN)
    [task] = [t for t in details.tasks if t.status is TaskStatus.OPEN]
    actor = ScenarioPlayer(desk, clock).default_actor(task, details.ticket)
    if task.assignee is None:
        desk.tasks.claim(task.id, actor)
    desk.tasks.complete(task.id, data, actor)


def figures(desk: Services, **kwargs: Any) -> dict[str, tuple[int, float | None, tuple[str, ...]]]:
    found = desk.cockpit.figures(KEY, MANAGER, **kwargs)
    return {
        element: (
            f.open_count,
            None if f.avg_seconds is None else round(f.avg_seconds, 1),
            f.ticket_numbers,
        )
        for element, f in found.items()
    }


def test_waiting_counts_and_average_times_match_the_hand_computed_ones(
    desk: Services, clock: ManualClock
) -> None:
    t0 = START
    first = register(desk)  # l1_triage open from t0
    clock.set(t0 + timedelta(minutes=10))
    second = register(desk)  # l1_triage open from t0+10m
    clock.set(t0 + timedelta(minutes=30))
    complete(desk, clock, first, RESOLVE)  # triage 30 min; confirmation open from t0+30m
    clock.set(t0 + timedelta(minutes=70))
    complete(desk, clock, second, RESOLVE)  # triage 60 min; confirmation open from t0+70m
    clock.set(t0 + timedelta(hours=2))
    third = register(desk)  # waits at l1_triage
    clock.set(t0 + timedelta(hours=3))
    complete(desk, clock, first, {"confirmation": "confirm"})  # confirmation 150 min

    assert figures(desk) == {
        "l1_triage": (1, 45 * MINUTE, (third,)),
        "confirm_resolution": (1, 150 * MINUTE, (second,)),
        "auto_close_timer": (1, None, (second,)),  # the boundary timer of its open task
        "follow_up_timer": (1, None, (first,)),
    }

    # The second requester stays silent: auto-closed five days after the confirmation opened.
    clock.set(t0 + timedelta(minutes=70) + timedelta(days=5))
    assert desk.timers.run_due().advanced == 1
    # The confirmation was open five days until the timer ended it (a cancelled task counts
    # the time it was open); the timer itself waited the same five days.
    confirm_average = (150 * MINUTE + 5 * DAY) / 2
    assert figures(desk) == {
        "l1_triage": (1, 45 * MINUTE, (third,)),
        "confirm_resolution": (0, confirm_average, ()),
        "auto_close_timer": (0, 5 * DAY, ()),
        "follow_up_timer": (2, None, tuple(sorted((first, second)))),
    }

    # The first one's follow-up falls due seven days after it was closed.
    clock.set(t0 + timedelta(hours=3) + timedelta(days=7))
    assert desk.timers.run_due().advanced == 1
    assert figures(desk) == {
        "l1_triage": (1, 45 * MINUTE, (third,)),
        "confirm_resolution": (0, confirm_average, ()),
        "auto_close_timer": (0, 5 * DAY, ()),
        "follow_up_timer": (1, 7 * DAY, (second,)),
        "follow_up_check": (1, None, (first,)),
    }

    # Per version: all of them are on v1; a new v2 has nobody yet.
    [v1] = desk.processes.versions(KEY)
    assert figures(desk, definition_id=v1.id) == figures(desk)
    source = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")
    renamed = ProcessSource(
        source.bpmn_xml.replace('name="Confirm resolution"', 'name="Confirm it works"'),
        source.dmn_xml,
        source.forms,
    )
    v2 = desk.processes.deploy(renamed, "joanna.mazur", "wording").definition
    assert figures(desk, definition_id=v2.id) == {}
    with pytest.raises(NotFound):
        desk.cockpit.figures(KEY, MANAGER, definition_id=v2.id + 1)
    with pytest.raises(NotFound):
        desk.cockpit.figures("no_such_process", MANAGER)


@pytest.mark.parametrize("actor", ["ewa.kozlowska", "joanna.mazur", ADMIN])
def test_lead_process_owner_and_admin_see_the_figures(desk: Services, actor: str) -> None:
    number = register(desk)
    assert desk.cockpit.figures(KEY, actor)["l1_triage"] == ElementFigures(1, None, (number,))


@pytest.mark.parametrize("actor", ["jan.nowak", "robert.pawlak", "anna.kowalska"])
def test_engineers_and_client_people_do_not_see_the_figures(desk: Services, actor: str) -> None:
    register(desk)
    with pytest.raises(PermissionDenied):
        desk.cockpit.figures(KEY, actor)


LIFECYCLE_PATH = (
    "ticket_registered",
    "notify_ticket_registered",
    "determine_priority",
    "determine_sla_targets",
    "store_classification",
    "gw_change_request",
    "gw_authorisation_join",
    "assign_l1_engineer",
    "notify_engineer_assigned",
    "gw_l1_merge",
    "l1_triage",
    "gw_l1_outcome",
    "gw_resolved_merge",
    "mark_ticket_resolved",
    "notify_resolved",
    "confirm_resolution",
    "gw_confirmation",
    "close_confirmed",
    "gw_closing_merge",
    "publish_to_knowledge_base",
    "deduct_package_hours",
    "notify_closed",
    "follow_up_timer",
    "follow_up_check",
    "closed",
)


def test_the_path_of_a_closed_ticket_lists_its_elements_in_order(
    desk: Services, clock: ManualClock
) -> None:
    scenario = SCENARIOS["l1_resolve"]
    number = register(desk)
    assert ScenarioPlayer(desk, clock).play(scenario, number).finished
    assert desk.tickets.details(number, ADMIN).ticket.status.value == "closed"

    path = desk.cockpit.ticket_path(number, "anna.kowalska")  # the requester sees it
    assert (path.version, path.waiting) == (1, ())
    assert path.visited == LIFECYCLE_PATH
    visited = scenario.expect["visited"]
    assert [e for e in path.visited if e in visited] == visited  # the model file agrees


def test_a_reopened_ticket_passes_the_triage_twice(desk: Services, clock: ManualClock) -> None:
    number = register(desk)
    ScenarioPlayer(desk, clock).play(SCENARIOS["reopen"], number)
    visited = desk.cockpit.ticket_path(number, ADMIN).visited
    assert visited.count("l1_triage") == 2 and visited.count("confirm_resolution") == 2
    reopened = visited.index("reopen_resolved_ticket")
    assert visited.index("confirm_resolution") < reopened < len(visited) - 1
    assert visited[reopened:].index("l1_triage") > 0


def test_a_waiting_ticket_shows_where_it_waits(desk: Services) -> None:
    number = register(desk)
    path = desk.cockpit.ticket_path(number, "robert.pawlak")  # ACME's coordinator
    assert path.visited[-1] == "gw_l1_merge"
    assert set(path.waiting) == {"l1_triage", "alert_resolved_at_source"}


@pytest.mark.parametrize(
    "actor",
    ["dorota.nowakowska", "barbara.michalska"],
    ids=["another-clients-coordinator", "another-requester-of-the-client"],
)
def test_a_ticket_others_may_not_see_does_not_exist(desk: Services, actor: str) -> None:
    number = register(desk)
    with pytest.raises(NotFound, match="not found"):
        desk.cockpit.ticket_path(number, actor)
