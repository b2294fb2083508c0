r"""Lifecycle benchmark: the raw engine against the full stack, and task-completion latency
against the number of tickets already stored.

Run on demand (not part of the tests), from the project root:

    .venv/bin/python bench/lifecycle_bench.py [--tickets N] [--postgres-url URL]
        [--sizes 0,10000,100000] [--skip-postgres] [--skip-sqlite] [--completions 200]

Where the completion loop spends its time (the report keeps only samples taken inside it):

    .venv/bin/py-spy record --idle --format raw -r 250 -o spy.txt -- .venv/bin/python \
        bench/lifecycle_bench.py --skip-postgres --sizes 0 --completions 1000 --tickets 10
    .venv/bin/python bench/lifecycle_bench.py --py-spy-report spy.txt

1. Raw SpiffWorkflow in memory on the same BPMN (``bench/raw_engine.py``).
2. Full stack: the scenarios of ``bpmn/ticket_lifecycle.scenarios.json`` replayed round-robin
   through the real services on a fresh SQLite file and a fresh PostgreSQL database.
3. Completion latency of a fresh ticket's first human task (``services.tasks.complete``) on top
   of 0, 10k, 100k stored tickets, cloned with bulk inserts from a few dozen real tickets.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.process_files import read_process_source
from itsm.scenarios import Scenario, ScenarioPlayer, load_scenarios, ticket_command
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage import tables as t
from itsm.storage.migrate import upgrade_database

BPMN = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"
SCENARIOS = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.scenarios.json"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)  # a Monday, 9:00 in Warsaw
CLIENT = "ACME"
AUTHORISED = "barbara.michalska"
UNAUTHORISED = "anna.kowalska"
INTAKE_ACTOR = "jan.nowak"
INBOX_ACTOR = "jan.nowak"
LATENCY_TASK = "l1_triage"
LATENCY_WARMUP = 20
CLOSED_TEMPLATES = 36
OPEN_TEMPLATES_PER_TASK = 2
OPEN_SHARE = 10  # one cloned ticket in OPEN_SHARE is left open at a human task
FILL_CHUNK = 1000
QUOTES = '"`'
TICKET_LINKED = (
    t.human_tasks,
    t.audit_events,
    t.outbox,
    t.time_entries,
    t.package_deductions,
    t.field_visits,
    t.kb_articles,
)


# --------------------------------------------------------------------------- measuring


class SqlCounter:
    """Counts statements and commits on one engine while ``active``."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.by_kind = False
        self.statements = 0
        self.commits = 0
        self.kinds: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "commit", self._on_commit)

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.active:
            self.statements += 1
            if self.by_kind:
                self.kinds[statement_kind(statement)] += 1

    def _on_commit(self, _conn: Any) -> None:
        if self.active:
            self.commits += 1

    @contextmanager
    def counting(self, *, by_kind: bool = False) -> Iterator[SqlCounter]:
        self.statements = self.commits = 0
        self.kinds.clear()
        self.active, self.by_kind = True, by_kind
        try:
            yield self
        finally:
            self.active = self.by_kind = False


def statement_kind(statement: str) -> str:
    """'SELECT people', 'UPDATE tickets', 'INSERT audit_events', 'BEGIN', ..."""
    words = statement.split()
    if not words:
        return "?"
    verb = words[0].upper()
    upper = [word.upper() for word in words]
    if verb == "SELECT" and "FROM" in upper:
        table = words[upper.index("FROM") + 1]
    elif verb == "UPDATE" and len(words) > 1:
        table = words[1]
    elif verb == "INSERT" and len(words) > 2:
        table = words[2].split("(")[0]
    else:
        table = ""
    return f"{verb} {table.strip(QUOTES)}".strip()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Throughput:
    tickets: int
    seconds: float
    statements: int
    commits: int
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.tickets / self.seconds


@dataclass
class Latency:
    background: int
    stored_tickets: int
    open_tasks: int
    fill_seconds: float
    samples_ms: list[float]
    statements: float
    commits: float
    inbox: tuple[float, int, int]
    kinds: dict[str, float] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)


@dataclass
class BackendResult:
    label: str
    throughput: Throughput | None = None
    latencies: list[Latency] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the desk


@dataclass
class Desk:
    services: Services
    clock: ManualClock
    counter: SqlCounter
    player: ScenarioPlayer
    scenarios: list[Scenario]
    closed_ids: list[int] = field(default_factory=list)
    open_ids: list[int] = field(default_factory=list)
    clones: int = 0

    @property
    def database(self) -> Engine:
        return self.services.database


def open_desk(url: str, scenarios: list[Scenario]) -> Desk:
    upgrade_database(url)
    clock = ManualClock(START)
    services = build(Settings(database_url=url), clock=clock)
    with services.unit_of_work() as uow:
        seed_directory(uow, services.catalog, clock.now())
        uow.commit()
    services.processes.deploy(read_process_source(BPMN), "bench", "lifecycle benchmark")
    return Desk(
        services,
        clock,
        SqlCounter(services.database),
        ScenarioPlayer(services, clock),
        scenarios,
    )


def requester_for(scenario: Scenario) -> str:
    return AUTHORISED if scenario.requester_must_be_authorised else UNAUTHORISED


def register(desk: Desk, scenario: Scenario) -> tuple[int, str]:
    command = ticket_command(scenario, CLIENT, requester_for(scenario))
    ticket = desk.services.intake.register(command, INTAKE_ACTOR)
    return ticket.id, ticket.number


def play_ticket(desk: Desk, scenario: Scenario) -> int:
    """One ticket along one scenario, always from the same Monday morning."""
    desk.clock.set(START)
    ticket_id, number = register(desk, scenario)
    if not desk.player.play(scenario, number).finished:
        raise RuntimeError(f"scenario {scenario.name} did not finish")
    return ticket_id


def count_rows(conn: Any, table: Table, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def running_instances(desk: Desk) -> int:
    with desk.database.connect() as conn:
        return count_rows(conn, t.process_instances, t.process_instances.c.status == "running")


def warm_up(desk: Desk) -> None:
    """Parse caches, definition cache, SQLAlchemy's statement cache: one pass of every path."""
    for scenario in desk.scenarios:
        desk.closed_ids.append(play_ticket(desk, scenario))
    left = running_instances(desk)
    if left:
        print(
            f"  warning: {left} instance(s) still running after their scenario finished; "
            "later timer steps may advance them too"
        )


@contextmanager
def timed_calls(targets: dict[str, tuple[Any, str]]) -> Iterator[Counter[str]]:
    """Adds up the seconds spent in each named service method while the block runs."""
    seconds: Counter[str] = Counter()

    def wrapper(label: str, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started

        return timed

    for label, (owner, name) in targets.items():
        setattr(owner, name, wrapper(label, getattr(owner, name)))
    try:
        yield seconds
    finally:
        for owner, name in targets.values():
            delattr(owner, name)  # the class's own method shows through again


def measure_throughput(desk: Desk, tickets: int) -> Throughput:
    order = [desk.scenarios[i % len(desk.scenarios)] for i in range(tickets)]
    services = desk.services
    phases = {
        "register": (services.intake, "register"),
        "claim": (services.tasks, "claim"),
        "complete": (services.tasks, "complete"),
        "timers": (services.timers, "run_due"),
    }
    with desk.counter.counting() as counter, timed_calls(phases) as spent:
        started = time.perf_counter()
        for scenario in order:
            desk.closed_ids.append(play_ticket(desk, scenario))
        seconds = time.perf_counter() - started
    split = dict(spent)
    split["player reads"] = seconds - sum(spent.values())
    return Throughput(tickets, seconds, counter.statements, counter.commits, split)


def make_open_templates(desk: Desk) -> None:
    """Tickets stopped before each human step, at most a couple per waiting task."""
    seen: Counter[str] = Counter()
    for scenario in desk.scenarios:
        for depth, step in enumerate(scenario.steps):
            element = step.get("task")
            if element is None or seen[element] >= OPEN_TEMPLATES_PER_TASK:
                continue
            seen[element] += 1
            desk.clock.set(START)
            ticket_id, number = register(desk, scenario)
            desk.player.play(replace(scenario, steps=scenario.steps[:depth]), number)
            desk.open_ids.append(ticket_id)
    with desk.database.connect() as conn:
        waiting = set(
            conn.execute(
                select(t.human_tasks.c.ticket_id).where(
                    t.human_tasks.c.ticket_id.in_(desk.open_ids), t.human_tasks.c.status == "open"
                )
            ).scalars()
        )
    desk.open_ids = [each for each in desk.open_ids if each in waiting]


# --------------------------------------------------------------------------- latency


@dataclass(frozen=True)
class PendingTask:
    task_id: str
    actor: str
    data: dict[str, Any]


def latency_scenario(scenarios: Sequence[Scenario]) -> Scenario:
    candidates = [s for s in scenarios if s.steps and s.steps[0].get("task") == LATENCY_TASK]
    if not candidates:
        raise SystemExit(f"no scenario starts with the human task {LATENCY_TASK}")
    by_name = {s.name: s for s in candidates}
    return by_name.get("l1_resolve", candidates[0])


def fresh_first_tasks(desk: Desk, scenario: Scenario, count: int) -> list[PendingTask]:
    """Register ``count`` tickets and claim their first task; nothing here is timed."""
    services = desk.services
    data = dict(scenario.steps[0].get("data", {}))
    pending = []
    for _ in range(count):
        desk.clock.set(START)
        ticket_id, _number = register(desk, scenario)
        with services.unit_of_work() as uow:
            ticket = uow.tickets.get(ticket_id)
            [task] = [
                each
                for each in uow.tasks.for_ticket(ticket_id)
                if each.element_id == LATENCY_TASK and each.status.value == "open"
            ]
        actor = desk.player.default_actor(task, ticket)
        if task.assignee is None:
            services.tasks.claim(task.id, actor)
        pending.append(PendingTask(task.id, actor, data))
    desk.clock.set(START + timedelta(minutes=30))
    return pending


def complete_all(desk: Desk, pending: Sequence[PendingTask]) -> list[float]:
    complete = desk.services.tasks.complete
    samples = []
    for each in pending:
        started = time.perf_counter()
        complete(each.task_id, each.data, each.actor)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def inbox_ms(desk: Desk, repeat: int = 30) -> tuple[float, int, int]:
    """Median ms of the actor's default inbox page, its statements and its length."""
    with desk.counter.counting() as counter:
        items = len(desk.services.tasks.inbox(INBOX_ACTOR))
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        desk.services.tasks.inbox(INBOX_ACTOR)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), counter.statements, items


def measure_latency(
    desk: Desk, scenario: Scenario, completions: int, fill_seconds: float
) -> Latency:
    """Warm-up completions are counted (statements, commits), the rest are timed."""
    pending = fresh_first_tasks(desk, scenario, completions + LATENCY_WARMUP)
    with desk.counter.counting(by_kind=True) as counter:
        complete_all(desk, pending[:LATENCY_WARMUP])
    statements, commits = counter.statements, counter.commits
    kinds = {kind: n / LATENCY_WARMUP for kind, n in counter.kinds.most_common()}
    samples = complete_all(desk, pending[LATENCY_WARMUP:])
    stored, open_tasks = stored_counts(desk)
    return Latency(
        background=desk.clones,
        stored_tickets=stored,
        open_tasks=open_tasks,
        fill_seconds=fill_seconds,
        samples_ms=samples,
        statements=statements / LATENCY_WARMUP,
        commits=commits / LATENCY_WARMUP,
        inbox=inbox_ms(desk),
        kinds=kinds,
    )


def database_size(desk: Desk) -> str:
    with desk.database.connect() as conn:
        if desk.database.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        else:
            size = conn.exec_driver_sql(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            ).scalar_one()
        rows = {
            table.name: count_rows(conn, table)
            for table in (t.human_tasks, t.audit_events, t.process_instances)
        }
    return f"{int(size) / 2**20:,.0f} MB; " + ", ".join(f"{n:,} {k}" for k, n in rows.items())


def stored_counts(desk: Desk) -> tuple[int, int]:
    with desk.database.connect() as conn:
        tickets = count_rows(conn, t.tickets)
        open_tasks = count_rows(conn, t.human_tasks, t.human_tasks.c.status == "open")
    return tickets, open_tasks


# --------------------------------------------------------------------------- background fill


@dataclass
class TemplateTicket:
    ticket: dict[str, Any]
    instances: list[dict[str, Any]]
    linked: dict[str, list[dict[str, Any]]]


def load_templates(engine: Engine, ticket_ids: Sequence[int]) -> list[TemplateTicket]:
    with engine.connect() as conn:
        tickets = {
            row["id"]: dict(row)
            for row in conn.execute(
                select(t.tickets).where(t.tickets.c.id.in_(ticket_ids))
            ).mappings()
        }
        instances = _by_ticket(conn, t.process_instances, ticket_ids)
        linked = {table.name: _by_ticket(conn, table, ticket_ids) for table in TICKET_LINKED}
    return [
        TemplateTicket(
            ticket=tickets[each],
            instances=instances.get(each, []),
            linked={name: rows.get(each, []) for name, rows in linked.items()},
        )
        for each in ticket_ids
    ]


def _by_ticket(conn: Any, table: Table, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(select(table).where(table.c.ticket_id.in_(ids))).mappings():
        grouped.setdefault(row["ticket_id"], []).append(dict(row))
    return grouped


class Cloner:
    """Copies template tickets with every row hanging off them under fresh ids and numbers."""

    def __init__(
        self,
        closed: list[TemplateTicket],
        opened: list[TemplateTicket],
        next_ticket_id: int,
        next_instance_id: int,
    ) -> None:
        self._closed = closed
        self._open = opened
        self._ticket_id = next_ticket_id
        self._instance_id = next_instance_id

    def rows(self, first: int, count: int) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("tickets", "process_instances", *(x.name for x in TICKET_LINKED))
        }
        for k in range(first, first + count):
            if k % OPEN_SHARE == 0 and self._open:
                template = self._open[(k // OPEN_SHARE) % len(self._open)]
            else:
                template = self._closed[k % len(self._closed)]
            self._clone(template, k, out)
        return out

    def _clone(
        self, template: TemplateTicket, k: int, out: dict[str, list[dict[str, Any]]]
    ) -> None:
        ticket_id = self._ticket_id
        self._ticket_id += 1
        number = f"HD-2025-{k + 1:06d}"
        out["tickets"].append({**template.ticket, "id": ticket_id, "number": number})
        task_ids = {row["id"]: str(uuid4()) for row in template.linked["human_tasks"]}
        instance_ids = {}
        for row in template.instances:
            state = row["state"]
            for old, new in task_ids.items():
                state = state.replace(old, new)
            instance_ids[row["id"]] = self._instance_id
            out["process_instances"].append(
                {**row, "id": self._instance_id, "ticket_id": ticket_id, "state": state}
            )
            self._instance_id += 1
        for row in template.linked["human_tasks"]:
            out["human_tasks"].append(
                {
                    **row,
                    "id": task_ids[row["id"]],
                    "ticket_id": ticket_id,
                    "instance_id": instance_ids[row["instance_id"]],
                }
            )
        for row in template.linked["audit_events"]:
            out["audit_events"].append(
                _copy(
                    row,
                    ticket_id=ticket_id,
                    instance_id=instance_ids.get(row["instance_id"], row["instance_id"]),
                    task_id=task_ids.get(row["task_id"], row["task_id"]),
                )
            )
        for row in template.linked["outbox"]:
            out["outbox"].append(
                _copy(row, ticket_id=ticket_id, message_id=f"<{uuid4().hex}.{number}@bench>")
            )
        for row in template.linked["time_entries"]:
            out["time_entries"].append(
                _copy(
                    row, ticket_id=ticket_id, task_id=task_ids.get(row["task_id"], row["task_id"])
                )
            )
        for name in ("package_deductions", "field_visits", "kb_articles"):
            out[name].extend(_copy(row, ticket_id=ticket_id) for row in template.linked[name])


def _copy(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A row for a table with an autoincrement key: the database numbers the copy."""
    copy = dict(row)
    del copy["id"]
    copy.update(changes)
    return copy


def fill_background(desk: Desk, target: int) -> float:
    """Bulk-insert cloned tickets until ``target`` clones are stored; returns seconds spent."""
    if target <= desk.clones:
        return 0.0
    started = time.perf_counter()
    engine = desk.database
    closed = load_templates(engine, desk.closed_ids[:CLOSED_TEMPLATES])
    opened = load_templates(engine, desk.open_ids)
    with engine.connect() as conn:
        next_ticket = int(conn.execute(select(func.max(t.tickets.c.id))).scalar_one()) + 1
        next_instance = (
            int(conn.execute(select(func.max(t.process_instances.c.id))).scalar_one()) + 1
        )
    cloner = Cloner(closed, opened, next_ticket, next_instance)
    order: list[Table] = [t.tickets, t.process_instances, *TICKET_LINKED]
    done = desk.clones
    while done < target:
        count = min(FILL_CHUNK, target - done)
        rows = cloner.rows(done, count)
        with engine.begin() as conn:
            for table in order:
                batch = rows[table.name]
                if not batch:
                    continue
                conn.execute(insert(table), batch)
        done += count
    desk.clones = done
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in ("tickets", "process_instances"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
            # Autovacuum would analyse tables this size within a minute; do not wait for it.
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# --------------------------------------------------------------------------- py-spy report

# Where a sample of the completion loop is spent, decided by the first rule any frame of its
# stack matches (so SQL run by a service task inside the engine counts as SQL).
COST_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("driver: sqlite3/psycopg execute + commit", lambda f: f.startswith("DefaultDialect.do_")),
    ("SQLAlchemy Core: build, compile cache, bind, rows", lambda f: "sqlalchemy/" in f),
    ("serialize state (to_dict + json.dumps)", lambda f: "StateSerializer.dump " in f),
    ("deserialize state (json.loads + restore)", lambda f: "StateSerializer.load " in f),
    ("form validation (jsonschema)", lambda f: "jsonschema/" in f or "referencing/" in f),
    ("service-task functions (tasks/)", lambda f: "(tasks/" in f),
    ("engine: run tasks, scripts, DMN, tree walks", lambda f: "SpiffWorkflow/" in f),
)
LOOP_FRAME = "complete_all ("


def py_spy_report(path: Path) -> None:
    """Summarise ``py-spy record --format raw`` output for the completion loop."""
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    sqlalchemy_parts: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if LOOP_FRAME not in stack:
            continue
        frames = stack.split(";")
        frames = frames[next(i for i, f in enumerate(frames) if f.startswith(LOOP_FRAME)) + 1 :]
        samples = int(count)
        total += samples
        bucket = next(
            (name for name, rule in COST_RULES if any(rule(f) for f in frames)),
            "app code: services, repositories, row mapping",
        )
        buckets[bucket] += samples
        leaves[frames[-1] if frames else "?"] += samples
        if bucket.startswith("SQLAlchemy"):
            inner = [f for f in frames if "sqlalchemy/" in f][-1]
            sqlalchemy_parts[inner.split("sqlalchemy/")[1].split("/")[0].split(".")[0]] += samples
    if not total:
        raise SystemExit(f"no samples under {LOOP_FRAME.strip()} in {path}")
    print(f"{total} samples in the completion loop")
    for name, samples in buckets.most_common():
        print(f"  {samples / total:6.1%}  {name}")
    print(
        "SQLAlchemy Core by innermost package: "
        + ", ".join(
            f"{part} {samples / total:.1%}" for part, samples in sqlalchemy_parts.most_common()
        )
    )
    print("top leaf functions:")
    for frame, samples in leaves.most_common(15):
        print(f"  {samples / total:6.1%}  {frame}")


# --------------------------------------------------------------------------- backends


@dataclass
class Options:
    tickets: int
    sizes: list[int]
    completions: int


def run_backend(
    label: str, url: str, version: str, scenarios: list[Scenario], options: Options
) -> BackendResult:
    result = BackendResult(label)
    print(f"\n== {label} ({version})")
    desk = open_desk(url, scenarios)
    try:
        started = time.perf_counter()
        warm_up(desk)
        print(
            f"  warm-up: {len(scenarios)} tickets, one per scenario, "
            f"{time.perf_counter() - started:.1f} s"
        )
        tickets = max(options.tickets, len(scenarios))
        result.throughput = measure_throughput(desk, tickets)
        tp = result.throughput
        print(
            f"  full stack: {tp.tickets} tickets in {tp.seconds:.1f} s = "
            f"{tp.per_second:.1f} tickets/s; per ticket {tp.statements / tp.tickets:.0f} "
            f"statements, {tp.commits / tp.tickets:.1f} commits"
        )
        print(
            "  time split: "
            + ", ".join(f"{name} {sec / tp.seconds:.0%}" for name, sec in tp.phases.items())
            + f"; services alone {tp.tickets / (tp.seconds - tp.phases['player reads']):.1f}"
            " tickets/s"
        )
        make_open_templates(desk)
        print(
            f"  templates for cloning: {min(len(desk.closed_ids), CLOSED_TEMPLATES)} finished, "
            f"{len(desk.open_ids)} open at a human task"
        )
        scenario = latency_scenario(scenarios)
        for index, size in enumerate(options.sizes):
            try:
                fill = fill_background(desk, size)
            except Exception as err:  # report what was measured before a failing fill
                reason = f"{type(err).__name__}: {str(err).splitlines()[0]}"
                result.notes.append(f"fill to {size} failed: {reason}")
                print(f"  fill to {size} failed: {reason}")
                break
            if fill:
                print(
                    f"  background: {desk.clones} cloned tickets stored in {fill:.1f} s "
                    f"({database_size(desk)})"
                )
            latency = measure_latency(desk, scenario, options.completions, fill)
            result.latencies.append(latency)
            print(
                f"  completion of '{LATENCY_TASK}' over {latency.background} background "
                f"({latency.stored_tickets} tickets, {latency.open_tasks} open tasks): "
                f"p50 {latency.p50:.2f} ms, p95 {latency.p95:.2f} ms, "
                f"mean {statistics.fmean(latency.samples_ms):.2f} ms; "
                f"{latency.statements:.1f} statements, {latency.commits:.1f} commits; "
                f"inbox of {INBOX_ACTOR} p50 {latency.inbox[0]:.2f} ms ({latency.inbox[2]} tasks, "
                f"{latency.inbox[1]} statements)"
            )
            if index == 0:
                print(
                    "    statements per completion: "
                    + ", ".join(f"{kind} x{n:g}" for kind, n in latency.kinds.items())
                )
    finally:
        desk.services.close()
    return result


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="itsm-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[tuple[str, str]]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"itsm_bench_{os.getpid()}"
    try:
        with admin.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            yield url, version
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- raw engine


def measure_raw(repeat: int) -> float | None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from raw_engine import run_raw  # type: ignore[import-not-found]
    except ImportError as err:
        print(f"\n== raw SpiffWorkflow in memory: not available ({err})")
        return None
    # run_raw parses once outside its timing and replays every scenario once as a warm-up.
    runs = [float(run_raw(repeat)) for _ in range(3)]
    median = statistics.median(runs)
    print(
        f"\n== raw SpiffWorkflow in memory: {median:.1f} tickets/s "
        f"(median of 3 calls of run_raw({repeat}): {', '.join(f'{r:.1f}' for r in runs)})"
    )
    return median


# --------------------------------------------------------------------------- report


def machine() -> str:
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory} RAM, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SpiffWorkflow {importlib_metadata.version('SpiffWorkflow')}, "
        f"SQLAlchemy {importlib_metadata.version('SQLAlchemy')}"
    )


def summary(raw: float | None, results: list[BackendResult]) -> None:
    print("\n== summary")
    print(f"raw in memory: {raw:.1f} tickets/s" if raw else "raw in memory: not measured")
    print("| database | stack tickets/s | stack/raw | statements/ticket | commits/ticket |")
    print("|---|---|---|---|---|")
    for each in results:
        tp = each.throughput
        if tp is None:
            continue
        ratio = f"{tp.per_second / raw:.0%}" if raw else "n/a"
        print(
            f"| {each.label} | {tp.per_second:.1f} | {ratio} | "
            f"{tp.statements / tp.tickets:.0f} | {tp.commits / tp.tickets:.1f} |"
        )
    print(
        "\n| database | background tickets | p50 ms | p95 ms | statements | commits "
        "| inbox p50 ms | fill s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for each in results:
        for lat in each.latencies:
            print(
                f"| {each.label} | {lat.background:,} ({lat.stored_tickets:,} stored, "
                f"{lat.open_tasks:,} open tasks) | {lat.p50:.2f} | {lat.p95:.2f} | "
                f"{lat.statements:.1f} | {lat.commits:.1f} | {lat.inbox[0]:.2f} | "
                f"{lat.fill_seconds:.0f} |"
            )
        for note in each.notes:
            print(f"note ({each.label}): {note}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tickets",
        type=int,
        default=200,
        help="tickets replayed through the full stack per database",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ITSM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="server URL; a database itsm_bench_<pid> is created there and dropped",
    )
    parser.add_argument(
        "--sizes", default="0,10000,100000", help="background ticket counts for the latency runs"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="e.g. to profile PostgreSQL alone"
    )
    parser.add_argument(
        "--completions", type=int, default=200, help="timed task completions per background size"
    )
    parser.add_argument(
        "--raw-repeat", type=int, default=200, help="tickets per bench/raw_engine.run_raw call"
    )
    parser.add_argument(
        "--py-spy-report",
        type=Path,
        metavar="FILE",
        help="only summarise a `py-spy record --format raw` file of a run, then exit",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    os.environ["DO_NOT_TRACK"] = "1"
    args = parse_args(argv)
    if args.py_spy_report:
        py_spy_report(args.py_spy_report)
        return
    options = Options(
        tickets=args.tickets,
        sizes=sorted(int(each) for each in args.sizes.split(",") if each.strip()),
        completions=args.completions,
    )
    if not BPMN.is_file() or not SCENARIOS.is_file():
        raise SystemExit(f"{BPMN} and {SCENARIOS} are needed")
    scenarios = list(load_scenarios(SCENARIOS).values())
    print(f"lifecycle benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"scenarios: {len(scenarios)} ({', '.join(s.name for s in scenarios)})")
    started = time.perf_counter()
    raw = measure_raw(args.raw_repeat)
    results = []
    if not args.skip_sqlite:
        with sqlite_url() as url:
            results.append(run_backend("SQLite", url, sqlite3.sqlite_version, scenarios, options))
    if not args.skip_postgres:
        try:
            with postgres_database(args.postgres_url) as (url, version):
                results.append(run_backend("PostgreSQL", url, version, scenarios, options))
        except Exception as err:
            print(f"\n== PostgreSQL: failed ({type(err).__name__}: {err})")
    for each in results:
        if raw and each.throughput:
            print(
                f"stack/raw on {each.label}: {each.throughput.per_second / raw:.0%} (target ≥ 50 %)"
            )
    summary(raw, results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
