"""Replaying a model's scenario file through the real services.

A scenario (saved next to the model as ``<process>.scenarios.json``) lists the human tasks to
complete with their form data and the timers to let pass. The demo uses it to build history,
the tests to check every path end to end, the benchmark to drive load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsm.catalog import DemoClient, DemoClientPerson
from itsm.domain.commands import NewTicket
from itsm.domain.directory import Person
from itsm.domain.errors import ItsmError
from itsm.domain.people import ROLE_GROUPS, Role
from itsm.domain.process import HumanTask
from itsm.domain.tickets import Ticket

ActorPicker = Callable[[HumanTask, Ticket], str]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start: Mapping[str, Any]
    service_results: Mapping[str, Any]
    steps: tuple[Mapping[str, Any], ...]
    expect: Mapping[str, Any]

    @property
    def requester_must_be_authorised(self) -> bool | None:
        result = self.service_results.get("check_authorisation")
        return None if result is None else bool(result.get("requester_authorised"))


def load_scenarios(path: Path) -> dict[str, Scenario]:
    return parse_scenarios(path.read_text(encoding="utf-8"))


def parse_scenarios(text: str) -> dict[str, Scenario]:
    """The scenarios of a scenario file's text; raises ValueError (json's JSONDecodeError
    is one) naming what is wrong when it is not a scenario file."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("scenarios"), list):
        raise ValueError('a scenario file is a JSON object with a "scenarios" list')
    for index, each in enumerate(raw["scenarios"]):
        _check_scenario(index, each)
    default_start = raw.get("default_start", {})
    return {
        each["name"]: Scenario(
            name=each["name"],
            description=each.get("description", ""),
            start={**default_start, **each.get("start", {})},
            service_results=each.get("service_results", {}),
            steps=tuple(each["steps"]),
            expect=each.get("expect", {}),
        )
        for each in raw["scenarios"]
    }


def _check_scenario(index: int, scenario: Any) -> None:
    where = f"scenarios[{index}]"
    if not isinstance(scenario, dict) or not isinstance(scenario.get("name"), str):
        raise ValueError(f"{where} needs a name")
    where = f"scenario {scenario['name']}"
    steps = scenario.get("steps")
    if not isinstance(steps, list):
        raise ValueError(f'{where} needs a "steps" list')
    for number, step in enumerate(steps, start=1):
        task = step.get("task") if isinstance(step, dict) else None
        timer = step.get("timer") if isinstance(step, dict) else None
        if not isinstance(task, str) and not isinstance(timer, str):
            raise ValueError(f'{where}, step {number}: give a "task" (with "data") or a "timer"')
        if task is not None and not isinstance(step.get("data", {}), dict):
            raise ValueError(f'{where}, step {number}: "data" is an object of form fields')
    for part in ("start", "service_results", "expect"):
        if not isinstance(scenario.get(part, {}), dict):
            raise ValueError(f'{where}: "{part}" is an object')
    expect = scenario.get("expect", {})
    lists = all(isinstance(expect.get(part, []), list) for part in ("visited", "not_visited"))
    if not lists or not isinstance(expect.get("data", {}), dict):
        raise ValueError(f'{where}: expect has lists "visited", "not_visited" and object "data"')


def scenario_process(text: str) -> str | None:
    """The process key a scenario file says it is for (its ``process``), if any."""
    raw = json.loads(text)
    process = raw.get("process") if isinstance(raw, dict) else None
    return str(process) if process else None


def unmet_expectations(
    scenario: Scenario, passed: Sequence[str], completed: bool, data: Mapping[str, Any]
) -> list[str]:
    """What of the scenario's ``expect`` the run missed: the end event reached, the elements
    visited and not visited (``passed``: ids of the elements the instance completed) and
    values in the final process data."""
    expect = scenario.expect
    problems = []
    end_event = expect.get("end_event")
    if end_event and not (completed and end_event in passed):
        where = "ended elsewhere" if completed else "has not ended"
        problems.append(f"expected to end at {end_event}, but the process {where}")
    missed = [each for each in expect.get("visited", []) if each not in passed]
    if missed:
        problems.append("never visited " + ", ".join(missed))
    wrong = [each for each in expect.get("not_visited", []) if each in passed]
    if wrong:
        problems.append("visited " + ", ".join(wrong) + ", which it must not")
    for name, wanted in expect.get("data", {}).items():
        if name not in data:
            problems.append(f"process data has no {name} (expected {wanted!r})")
        elif data[name] != wanted:
            problems.append(f"process data {name} is {data[name]!r}, expected {wanted!r}")
    return problems


def requesters(client: DemoClient, scenario: Scenario) -> list[DemoClientPerson]:
    """The client's requesters who fit the scenario: authorised ones when it fixes the
    authorisation check to pass, unauthorised ones when to fail, else all of them."""
    wanted = scenario.requester_must_be_authorised
    people = [
        p
        for p in client.people
        if p.role is Role.REQUESTER and (wanted is None or p.authorised == wanted)
    ]
    if not people:
        raise ItsmError(f"client {client.code} has no requester for scenario {scenario.name}")
    return people


def ticket_command(
    scenario: Scenario,
    client_code: str,
    requester: str,
    *,
    subject: str | None = None,
    description: str | None = None,
    channel: str = "portal",
) -> NewTicket:
    start = scenario.start
    return NewTicket.model_validate(
        {
            "client_code": client_code,
            "requester": requester,
            "channel": channel,
            "category": start.get("category", "hardware"),
            "subject": subject or f"Scenario {scenario.name}",
            "description": description or scenario.description or scenario.name,
            "impact": start.get("impact", "medium"),
            "urgency": start.get("urgency", "medium"),
            "service_type": start.get("service_type"),
            "change_type": start.get("change_type", "none"),
        }
    )


@dataclass
class Playback:
    ticket_number: str
    completed_steps: int = 0
    finished: bool = False
    actors: list[str] = field(default_factory=list)


class ScenarioPlayer:
    """Drives one ticket along a scenario; ``until`` stops before steps later than it."""

    def __init__(self, services: Any, clock: Any, pick_actor: ActorPicker | None = None) -> None:
        self._services = services
        self._clock = clock
        self._pick_actor = pick_actor or self.default_actor

    def play(
        self,
        scenario: Scenario,
        ticket_number: str,
        *,
        gap: Callable[[], timedelta] = lambda: timedelta(minutes=30),
        until: datetime | None = None,
        data_for: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
        max_steps: int | None = None,
        playback: Playback | None = None,
    ) -> Playback:
        """``playback`` (given) counts the steps as they complete, so a caller still knows
        how far it got when a step raises."""
        playback = playback or Playback(ticket_number)
        for step in scenario.steps[:max_steps]:
            if "timer" in step:
                due = self._next_timer_at(ticket_number)
                if due is None:
                    raise ItsmError(f"{ticket_number}: no timer waiting for step {step}")
                at = max(due, self._clock.now()) + timedelta(minutes=1)
                if until is not None and at > until:
                    return playback
                self._clock.set(at)
                report = self._services.timers.run_due()
                if report.failed:
                    raise ItsmError(f"timers failed: {report.failed}")
            else:
                at = self._clock.now() + gap()
                if until is not None and at > until:
                    return playback
                self._clock.set(at)
                task = self._open_task(ticket_number, step["task"])
                ticket = self._ticket(ticket_number)
                actor = self._pick_actor(task, ticket)
                if task.assignee is None:
                    self._services.tasks.claim(task.id, actor)
                data = dict(step.get("data", {}))
                if data_for is not None:
                    data = data_for(data)
                self._services.tasks.complete(task.id, data, actor)
                playback.actors.append(actor)
            playback.completed_steps += 1
        playback.finished = playback.completed_steps == len(scenario.steps)
        return playback

    def default_actor(self, task: HumanTask, ticket: Ticket) -> str:
        if task.assignee is not None:
            return task.assignee
        with self._services.unit_of_work() as uow:
            client_id = ticket.client_id if task.candidate_group in ("coordinator",) else None
            people: list[Person] = uow.directory.people(client_id=client_id)
        for person in people:
            if (
                task.candidate_group in ROLE_GROUPS.get(person.role, frozenset())
                and (person.client_id in (None, ticket.client_id))
                and person.role.value not in ("service_desk_lead", "admin")
            ):
                return person.username
        raise ItsmError(f"nobody can work {task.candidate_group} tasks")

    def _open_task(self, ticket_number: str, element_id: str) -> HumanTask:
        with self._services.unit_of_work() as uow:
            ticket = uow.tickets.get_by_number(ticket_number)
            for task in uow.tasks.for_ticket(ticket.id):
                if task.element_id == element_id and task.status.value == "open":
                    return task  # type: ignore[no-any-return]
            waiting = [
                t.element_id for t in uow.tasks.for_ticket(ticket.id) if t.status.value == "open"
            ]
        raise ItsmError(f"{ticket_number} is not waiting at {element_id} (waiting: {waiting})")

    def _ticket(self, ticket_number: str) -> Ticket:
        with self._services.unit_of_work() as uow:
            return uow.tickets.get_by_number(ticket_number)  # type: ignore[no-any-return]

    def _next_timer_at(self, ticket_number: str) -> datetime | None:
        with self._services.unit_of_work() as uow:
            ticket = uow.tickets.get_by_number(ticket_number)
            instance = uow.processes.instance_for_ticket(ticket.id)
            return None if instance is None else instance.next_timer_at
