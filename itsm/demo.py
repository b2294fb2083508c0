"""``itsm demo``: a fresh database with a provider, clients of every tier, their people, and
three months of tickets driven through the real engine on every path of the lifecycle.

History is replayed on a manual clock; each ticket goes as far along its path as the real
present allows, so recent tickets are left open and waiting for real work.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy import select
from sqlalchemy.engine import make_url

from itsm.bootstrap import build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ItsmError
from itsm.process_files import read_process_source, read_scenarios
from itsm.scenarios import (
    Scenario,
    ScenarioPlayer,
    parse_scenarios,
    requesters,
    ticket_command,
)
from itsm.settings import Settings
from itsm.storage.database import create_database_engine
from itsm.storage.migrate import upgrade_database
from itsm.storage.tables import clients, metadata

# How often each path occurs: most tickets end at the 1st line (the ~90 % FCR goal).
PATH_WEIGHTS = {
    "l1_resolve": 62,
    "l2_resolve": 10,
    "l3_resolve": 3,
    "vendor": 5,
    "field_visit": 5,
    "authorisation_approved": 4,
    "authorisation_rejected": 2,
    "authorised_requester": 3,
    "reopen": 3,
    "auto_close": 3,
    "ask_requester": 4,
}
SUBJECTS = {
    "hardware": [
        "Laptop does not boot",
        "Printer on 2nd floor jams",
        "Monitor flickers",
        "Docking station not detected",
        "Disk running full on file server",
    ],
    "software": [
        "Outlook keeps asking for password",
        "ERP client crashes on export",
        "Excel add-in missing after update",
        "Antivirus blocks invoicing app",
    ],
    "network": [
        "No internet at branch office",
        "VPN disconnects every hour",
        "Wi-Fi slow in meeting room",
        "Cannot reach shared drive",
    ],
    "account_access": [
        "Locked out of account",
        "New employee needs accounts",
        "Access to finance folder",
        "MFA device lost",
    ],
    "question": ["How to share a calendar", "How to set an out-of-office reply"],
    "infrastructure": ["Replace core switch", "Add firewall rule for supplier portal"],
}
# Which problems plausibly take which path (a question never needs a technician on site).
PATH_CATEGORIES = {
    "field_visit": ["hardware", "network"],
    "vendor": ["network", "software"],
    "l2_resolve": ["network", "software", "hardware", "account_access"],
    "l3_resolve": ["software", "infrastructure"],
}
CHANGE_SUBJECTS = {
    "permission_change": "Grant access to HR share",
    "hardware_removal": "Remove old workstation from inventory",
    "software_removal": "Uninstall legacy accounting software",
    "infrastructure_change": "Change firewall rule for supplier VPN",
}
LIVE_WORK_WINDOW = timedelta(days=6)
DEMO_PASSWORD = "helpdesk-demo"  # every demo account; printed by the demo, never for real use
CHANNELS = ["portal", "email", "email", "phone", "phone", "sms", "api", "monitoring"]


@dataclass
class DemoReport:
    tickets: int
    closed: int
    open_tasks: int
    seconds: float
    logins: dict[str, list[str]]

    def __str__(self) -> str:
        lines = [
            f"demo ready: {self.tickets} tickets ({self.closed} closed or rejected, "
            f"{self.open_tasks} open tasks) in {self.seconds:.1f} s",
            f"log in at the workbench (itsm ui) as any of these, password: {DEMO_PASSWORD}",
        ]
        for role, names in self.logins.items():
            lines.append(f"  {role:<18} {', '.join(names)}")
        lines.append(
            "or try: itsm ticket list  |  itsm tasks --as jan.nowak  |  itsm ticket show <number>"
        )
        return "\n".join(lines)


def _reset_database(url: str, *, allowed: bool) -> None:
    """Drop every table so the demo starts clean; data is only wiped when ``allowed``."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            existing = sqlalchemy_inspect(connection).get_table_names()
            holds_data = (
                "clients" in existing
                and connection.execute(select(clients.c.id).limit(1)).first() is not None
            )
            if holds_data and not allowed:
                raise ItsmError(
                    f"{make_url(url).render_as_string()} already holds data; "
                    "`itsm demo --reset` wipes it and seeds a fresh demo"
                )
            if existing:
                connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
                metadata.drop_all(connection)
            connection.commit()
    finally:
        engine.dispose()


def _working_instant(rng: random.Random, day: datetime) -> datetime:
    # Reports mostly arrive in office hours (Warsaw ≈ UTC+1/+2), some outside them.
    hour = rng.choice([6, 7, 7, 8, 8, 9, 10, 11, 12, 13, 14, 17, 20])
    return day.replace(hour=hour, minute=rng.randrange(60), second=0, microsecond=0)


def seed_demo(
    *,
    tickets: int = 300,
    seed: int = 7,
    settings: Settings | None = None,
    now: datetime | None = None,
    reset: bool = False,
) -> DemoReport:
    started = time.perf_counter()
    settings = settings or Settings()
    real_now = now or datetime.now(UTC)
    _reset_database(settings.database_url, allowed=reset)
    upgrade_database(settings.database_url)
    history_start = real_now - timedelta(days=91)
    clock = ManualClock(history_start)
    services = build(settings, clock=clock)
    rng = random.Random(seed)
    try:
        with services.unit_of_work() as uow:
            seeded = seed_directory(uow, services.catalog, history_start)
            uow.commit()
        for username in seeded.person_ids:
            services.accounts.set_password(username, DEMO_PASSWORD, username)
        lifecycle = settings.bpmn_dir / "ticket_lifecycle.bpmn"
        # With its scenario file, as `itsm process deploy` does: the deploy plays them, and
        # the designer opens the version with them.
        scenarios_json = read_scenarios(lifecycle)
        if scenarios_json is None:
            raise ItsmError(f"the demo replays the lifecycle's scenarios: {lifecycle} has none")
        services.processes.deploy(
            read_process_source(lifecycle), "demo", "bundled lifecycle", scenarios_json
        )
        scenarios = parse_scenarios(scenarios_json)
        closed = _replay_history(services, clock, scenarios, rng, tickets, history_start, real_now)
        with services.unit_of_work() as uow:
            open_tasks = len(uow.tasks.inbox(limit=100_000))
            logins: dict[str, list[str]] = {}
            for person in uow.directory.people():
                logins.setdefault(person.role.value, []).append(person.username)
    finally:
        services.close()
    return DemoReport(
        tickets,
        closed,
        open_tasks,
        time.perf_counter() - started,
        {role: names[:4] for role, names in logins.items()},
    )


def _replay_history(
    services: Any,
    clock: ManualClock,
    scenarios: dict[str, Scenario],
    rng: random.Random,
    count: int,
    start: datetime,
    end: datetime,
) -> int:
    names = [name for name in PATH_WEIGHTS if name in scenarios]
    order = names + rng.choices(
        names, [PATH_WEIGHTS[n] for n in names], k=max(0, count - len(names))
    )
    rng.shuffle(order)
    span = (end - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in order)
    clients = services.catalog.demo.clients
    player = ScenarioPlayer(services, clock)
    closed = 0
    for name, moment in zip(order, moments, strict=True):
        scenario = scenarios[name]
        client = rng.choice(clients)
        requester = _requester_for(scenario, client, rng)
        change = scenario.start.get("change_type", "none")
        category = (
            scenario.start.get("category")
            if change != "none"
            else rng.choice(PATH_CATEGORIES.get(name, list(SUBJECTS)))
        )
        subject = CHANGE_SUBJECTS.get(change) or rng.choice(SUBJECTS[str(category)])
        clock.set(_working_instant(rng, moment))
        # As the scheduled monitor would have: warnings and breaches at their time in history.
        services.sla_monitor.scan()
        command = ticket_command(
            scenario,
            client.code,
            requester,
            subject=subject,
            description=f"{subject}. Reported by {requester}.",
            channel=rng.choice(CHANNELS),
        )
        command = NewTicket.model_validate(
            {
                **command.model_dump(),
                "category": category,
                "impact": rng.choice(["low", "medium", "medium", "high"]),
                "urgency": rng.choice(["low", "medium", "high"]),
            }
        )
        ticket = services.intake.register(command, requester)
        # The last days' tickets stop part-way, so the inboxes hold live work.
        recent = end - moment < LIVE_WORK_WINDOW
        playback = player.play(
            scenario,
            ticket.number,
            until=end,
            max_steps=rng.randrange(len(scenario.steps)) if recent else None,
            gap=lambda: timedelta(minutes=rng.choice([5, 15, 40, 90, 180, 600, 1440])),
            data_for=lambda data: _vary(data, clock, rng),
        )
        closed += playback.finished
    return closed


def _requester_for(scenario: Scenario, client: Any, rng: random.Random) -> str:
    return str(rng.choice(requesters(client, scenario)).username)


def _vary(data: Mapping[str, Any], clock: ManualClock, rng: random.Random) -> dict[str, Any]:
    varied = dict(data)
    if "arrived_at" in varied:
        varied["arrived_at"] = clock.now().isoformat()
    if isinstance(varied.get("time_spent_minutes"), int) and varied["time_spent_minutes"] > 0:
        varied["time_spent_minutes"] = rng.choice([10, 15, 20, 30, 45, 60, 90, 120])
    return varied
