r"""SLA scan over many open tickets, and a monthly report for a client with many tickets.

Run on demand (not part of the tests), from the project root:

    .venv/bin/python bench/sla_report_bench.py [--open-tickets 100000] [--due-share 0.01]
        [--report-tickets 10000] [--postgres-url URL] [--skip-postgres] [--skip-sqlite]

1. SLA scan: N open tickets, each with its four pending alarms (reaction/resolution warning
   and breach), bulk-inserted; ``services.sla_monitor.scan()`` is timed when nothing is due
   (the every-minute case) and when a share of the tickets has all four thresholds due
   (each fired alarm also writes its audit event, notices and e-mails). Targets: < 2 s.
2. Monthly report: one client with M tickets in October 2026 (status history, time entries,
   package deductions), then ``services.reports.generate(..., force=True, send=False)`` —
   facts queries, KPIs, HTML, PDF and CSV, stored. Target: < 3 s for 10k tickets.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle_bench import machine, postgres_database, sqlite_url

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.process_files import read_process_source
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage import tables as t
from itsm.storage.migrate import upgrade_database

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CHUNK = 5000


def open_desk(url: str) -> tuple[Services, ManualClock, dict[str, int]]:
    upgrade_database(url)
    clock = ManualClock(NOW - timedelta(days=120))
    services = build(
        Settings(database_url=url, attachments_dir=Path(tempfile.mkdtemp())),  # type: ignore[call-arg]
        clock=clock,
        fast_password_hashing=True,
    )
    with services.unit_of_work() as uow:
        seeded = seed_directory(uow, services.catalog, clock.now())
        uow.commit()
    lifecycle = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")
    services.processes.deploy(lifecycle, "bench", "bundled")
    clock.set(NOW)
    return services, clock, {**seeded.client_ids, **seeded.person_ids}


def _ticket_row(
    number: int, client_id: int, requester_id: int, assignee_id: int, created: datetime
) -> dict[str, object]:
    return {
        "number": f"BN-2026-{number:07d}",
        "client_id": client_id,
        "requester_id": requester_id,
        "channel": "email",
        "category": random.choice(["hardware", "software", "network", "question"]),
        "subject": random.choice(["Printer jams", "VPN drops", "Outlook asks for password"]),
        "description": "-",
        "impact": "medium",
        "urgency": "medium",
        "priority": "P3",
        "service_type": "it_service",
        "change_type": "none",
        "status": "in_progress",
        "assignee_id": assignee_id,
        "support_line": "L1",
        "reaction_target_hours": 8,
        "resolution_target_hours": 48,
        "requester_verified": True,
        "reopen_count": 0,
        # Every row names every column: executemany needs one shape.
        "reaction_due_at": None,
        "resolution_due_at": None,
        "responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "closure": None,
        "created_at": created,
        "updated_at": created,
        "version": 1,
    }


def fill_open_tickets(services: Services, ids: dict[str, int], count: int, due: float) -> int:
    """``count`` open tickets with four pending alarms each; ``due`` of them all due now."""
    rng = random.Random(5)
    due_count = int(count * due)
    with services.database.begin() as conn:
        first = conn.execute(select(t.tickets.c.id).order_by(t.tickets.c.id.desc())).scalar()
        next_id = (first or 0) + 1
        for start in range(0, count, CHUNK):
            rows, alarms = [], []
            for offset in range(start, min(count, start + CHUNK)):
                created = NOW - timedelta(minutes=rng.randrange(60, 60 * 24 * 5))
                row = _ticket_row(
                    offset, ids["ACME"], ids["anna.kowalska"], ids["jan.nowak"], created
                )
                ticket_id = next_id + offset
                row["id"] = ticket_id
                rows.append(row)
                soon = offset >= count - due_count
                base = NOW - timedelta(minutes=5) if soon else NOW + timedelta(hours=2)
                for index, (clock, threshold) in enumerate(
                    [
                        ("reaction", "warning"),
                        ("reaction", "breach"),
                        ("resolution", "warning"),
                        ("resolution", "breach"),
                    ]
                ):
                    alarms.append(
                        {
                            "ticket_id": ticket_id,
                            "clock": clock,
                            "threshold": threshold,
                            "due_at": base + timedelta(minutes=index),
                        }
                    )
            conn.execute(insert(t.tickets), rows)
            conn.execute(insert(t.sla_alarms), alarms)
    return due_count


def fill_report_month(services: Services, ids: dict[str, int], count: int) -> None:
    """``count`` tickets of BALT created in October 2026, most of them resolved and closed."""
    rng = random.Random(11)
    month = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # 1 October 00:00 in Warsaw
    with services.database.begin() as conn:
        first = conn.execute(select(t.tickets.c.id).order_by(t.tickets.c.id.desc())).scalar()
        next_id = (first or 0) + 1
        package = conn.execute(
            select(t.hour_packages.c.id).where(t.hour_packages.c.client_id == ids["BALT"])
        ).scalar()
        for start in range(0, count, CHUNK):
            tickets, history, entries, deductions = [], [], [], []
            for offset in range(start, min(count, start + CHUNK)):
                ticket_id = next_id + offset
                created = month + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
                row = _ticket_row(
                    500_000 + offset,
                    ids["BALT"],
                    ids["monika.malinowska"],
                    ids["jan.nowak"],
                    created,
                )
                row["id"] = ticket_id
                row["reaction_due_at"] = created + timedelta(hours=4)
                row["resolution_due_at"] = created + timedelta(hours=24)
                row["responded_at"] = created + timedelta(minutes=rng.randrange(5, 400))
                line = "L1" if rng.random() < 0.88 else rng.choice(["L2", "L3"])
                if rng.random() < 0.85:
                    resolved = created + timedelta(minutes=rng.randrange(30, 2000))
                    row |= {
                        "status": "closed",
                        "resolved_at": resolved,
                        "closed_at": resolved + timedelta(hours=3),
                        "closure": "confirmed",
                        "support_line": line,
                    }
                tickets.append(row)
                history.append(
                    {"ticket_id": ticket_id, "at": created, "status": "new", "support_line": None}
                )
                history.append(
                    {
                        "ticket_id": ticket_id,
                        "at": created + timedelta(minutes=1),
                        "status": "in_progress",
                        "support_line": "L1",
                    }
                )
                if line != "L1":
                    history.append(
                        {
                            "ticket_id": ticket_id,
                            "at": created + timedelta(minutes=20),
                            "status": "escalated",
                            "support_line": line,
                        }
                    )
                minutes = rng.choice([10, 15, 30, 45, 60])
                entries.append(
                    {
                        "ticket_id": ticket_id,
                        "person_id": ids["jan.nowak"],
                        "minutes": minutes,
                        "service_type": "it_service",
                        "recorded_at": created + timedelta(minutes=30),
                    }
                )
                deductions.append(
                    {
                        "ticket_id": ticket_id,
                        "package_id": package if offset % 3 else None,
                        "minutes": minutes,
                        "deducted_at": created + timedelta(hours=4),
                    }
                )
            conn.execute(insert(t.tickets), tickets)
            conn.execute(insert(t.ticket_status_changes), history)
            conn.execute(insert(t.time_entries), entries)
            conn.execute(insert(t.package_deductions), deductions)


def timed(action: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def run(url: str, label: str, args: argparse.Namespace) -> list[str]:
    services, clock, ids = open_desk(url)
    lines = []
    try:
        started = time.perf_counter()
        due = fill_open_tickets(services, ids, args.open_tickets, args.due_share)
        print(
            f"[{label}] {args.open_tickets} open tickets filled in "
            f"{time.perf_counter() - started:.0f} s"
        )
        # Nothing due yet: the index holds only unfired alarms, so this reads almost nothing.
        clock.set(NOW - timedelta(hours=1))
        idle = timed(services.sla_monitor.scan, 5)
        clock.set(NOW)
        fired_started = time.perf_counter()
        report = services.sla_monitor.scan()
        fired = time.perf_counter() - fired_started
        after = timed(services.sla_monitor.scan, 3)
        lines.append(
            f"| {label} | SLA scan, {args.open_tickets:,} open tickets, nothing due | "
            f"{statistics.median(idle) * 1000:.1f} ms (median of 5) |"
        )
        lines.append(
            f"| {label} | SLA scan, {args.open_tickets:,} open, {due:,} tickets × 4 thresholds due "
            f"({report.warnings} warnings, {report.breaches} breaches, {report.messages} e-mails) "
            f"| {fired:.2f} s |"
        )
        lines.append(
            f"| {label} | the next scan (everything fired once already) | "
            f"{statistics.median(after) * 1000:.1f} ms |"
        )
        if args.skip_report:
            return lines
        started = time.perf_counter()
        fill_report_month(services, ids, args.report_tickets)
        print(
            f"[{label}] {args.report_tickets} report tickets filled in "
            f"{time.perf_counter() - started:.0f} s"
        )

        def generate() -> None:
            services.reports.generate("BALT", "2026-10", "marek.jankowski", force=True, send=False)

        samples = timed(generate, 3)
        stored = services.reports.generate("BALT", "2026-10", "marek.jankowski")
        lines.append(
            f"| {label} | monthly report BALT 2026-10, {stored.ticket_count:,} tickets "
            f"(HTML + PDF + CSV, stored) | {statistics.median(samples):.2f} s "
            f"(median of 3: {', '.join(f'{s:.2f}' for s in samples)}) |"
        )
    finally:
        services.close()
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-tickets", type=int, default=100_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--report-tickets", type=int, default=10_000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(machine())
    lines = ["| database | measurement | time |", "|---|---|---|"]
    if not args.skip_sqlite:
        with sqlite_url() as url:
            lines += run(url, "SQLite", args)
    if not args.skip_postgres:
        with postgres_database(args.postgres_url) as (url, version):
            lines += run(url, f"PostgreSQL {version.split()[0]}", args)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
