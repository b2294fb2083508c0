"""The crash-safety campaign: kill a real ``itsm`` process at a chosen point, recover, check.

One run = one fault (operation x fault point x occurrence, see ``itsm/faults.py``):

1. a fresh copy of a prepared SQLite database (the demo directory, the lifecycle deployed, and
   tickets waiting at every spot the operations need: a triage task, a confirmation, a
   follow-up check, three due timers, pending e-mails and SMS in the outbox);
2. the operation runs as a child process (``python -c "from itsm.cli import app; app()" ...``)
   with ``ITSM_FAULT_AT=<point>#<n>``, against a real SMTP server and an SMS gateway on
   loopback that record every Message-ID they receive; the child must die by SIGKILL;
3. what the crash left is checked: exactly the transactions before the fault committed
   (``expected_progress``), nothing was sent that is not a committed outbox row;
4. the parent retries as a person or a scheduler would (the same e-mail files again, the
   timers again, the delivery again; a ticket or task again only if it is not there), then
   delivers the outbox after the dead worker's lease ran out;
5. the invariants hold over the whole database (``check_invariants``) and every
   notification reached its receiver, more than once only when a worker died between
   sending it and marking it sent — and then under the same Message-ID.

"Double" faults repeat the crash in the first retry (a crash loop) before the clean retry.
Used by ``tests/faults/test_crash_safety.py`` (a bounded sample) and ``bench/crash_safety.py``
(the full campaign); both write nothing outside their temporary folders.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, func, select, text, update

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import seed_directory
from itsm.domain.commands import NewTicket
from itsm.domain.errors import ConflictError
from itsm.domain.tickets import Category, Channel, Level
from itsm.engine.runner import SpiffProcessEngine
from itsm.process_files import read_process_source
from itsm.services.ports import JsonDict
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage import tables as t
from itsm.storage.migrate import upgrade_database

LIFECYCLE_BPMN = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"
SIGKILLED = -9
CHILD_TIMEOUT = 120.0
LEASE_SECONDS = 120  # the children's lease (the product default); the parent waits it out
ENGINEER = "jan.nowak"
REQUESTER = "anna.kowalska"
REQUESTER_EMAIL = "anna.kowalska@acme.example"
SMS_REQUESTER = "fault.sms.only"
STRANGER_EMAIL = "stranger@unknown.example"
NEW_TICKET_SUBJECT = "Printer on the 2nd floor jams (fault campaign)"
MIN_PENDING_OUTBOX = 20  # deliver_all reaches after_send#1..20: the template has more

POINTS = (
    "email.parsed",
    "instance.before_save",
    "uow.before_commit",
    "uow.after_commit",
    "delivery.after_lease",
    "delivery.after_send",
)

# --- the faults -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    units: int  # inputs (transactions) it applies: tickets, tasks, instances, e-mails, sends
    kind: str  # ticket | task | timers | mail | deliver
    batch: int = 0  # deliver: messages leased at once


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("ticket_new", 1, "ticket"),
        Operation("task_resolve", 1, "task"),
        Operation("task_escalate", 1, "task"),
        Operation("task_confirm", 1, "task"),
        Operation("task_reopen", 1, "task"),
        Operation("task_follow_up", 1, "task"),
        Operation("timers", 3, "timers"),
        Operation("mail_new", 1, "mail"),
        Operation("mail_reply", 1, "mail"),
        Operation("mail_stranger", 1, "mail"),
        Operation("mail_maildir", 3, "mail"),
        Operation("deliver_all", MIN_PENDING_OUTBOX, "deliver", batch=50),
        Operation("deliver_batch", 6, "deliver", batch=6),
    )
}


@dataclass(frozen=True)
class Fault:
    operation: str
    point: str
    occurrence: int
    reached: bool = True  # the plan's expectation: does the operation get there?
    double: bool = False  # the first retry is killed at the same point too

    @property
    def spec(self) -> str:
        return f"{self.point}#{self.occurrence}"

    @property
    def id(self) -> str:
        return f"{self.operation}:{self.spec}" + (":double" if self.double else "")


def expected_progress(op: Operation, point: str, occurrence: int) -> int:
    """Inputs fully applied when the process dies at ``point#occurrence``."""
    n = occurrence
    if op.kind == "deliver":
        # commit 1 is the lease, commit k+1 marks message k sent.
        return {
            "delivery.after_lease": 0,
            "delivery.after_send": n - 1,
            "uow.before_commit": max(n - 2, 0),
            "uow.after_commit": n - 1,
        }[point]
    # One transaction per input; the points before its commit lose it, after_commit keeps it.
    return n if point == "uow.after_commit" else n - 1


def sent_before_death(op: Operation, point: str, occurrence: int) -> int:
    """Messages a delivery worker handed to SMTP/SMS before it died there."""
    if op.kind != "deliver":
        return 0
    n = occurrence
    return {
        "delivery.after_lease": 0,
        "delivery.after_send": n,
        "uow.before_commit": max(n - 1, 0),
        "uow.after_commit": n - 1,
    }[point]


def _faults_of(op: Operation) -> list[Fault]:
    name, units = op.name, op.units
    if op.kind == "deliver":
        return [
            Fault(name, "delivery.after_lease", 1),
            *(Fault(name, "delivery.after_send", n) for n in range(1, units + 1)),
            *(Fault(name, "uow.before_commit", n) for n in range(1, units + 2)),
            *(Fault(name, "uow.after_commit", n) for n in range(1, units + 2)),
            Fault(name, "delivery.after_lease", 2, reached=False),  # one batch per run
        ]
    before = {"ticket": [], "task": ["instance.before_save"], "mail": ["email.parsed"]}
    points = [*before.get(op.kind, ["instance.before_save"]), "uow.before_commit"]
    points.append("uow.after_commit")
    faults = [Fault(name, p, n) for p in points for n in range(1, units + 1)]
    # Points the operation never gets to: it runs to its end, and all must still hold.
    unreached = {
        "ticket": [("instance.before_save", 1), ("uow.before_commit", 2), ("email.parsed", 1)],
        "task": [("uow.before_commit", 2)],
        "timers": [("instance.before_save", units + 1)],
        "mail": [("instance.before_save", 1), ("email.parsed", units + 1)],
    }[op.kind]
    if name in ("ticket_new", "task_resolve", "timers", "mail_new", "mail_maildir"):
        faults += [Fault(name, p, n, reached=False) for p, n in unreached]
    return faults


def full_plan() -> list[Fault]:
    """Every single fault, then every one whose input was not yet applied once more as a
    double fault (the first retry dies at the same point)."""
    singles = [fault for op in OPERATIONS.values() for fault in _faults_of(op)]
    doubles = [
        Fault(f.operation, f.point, f.occurrence, double=True)
        for f in singles
        if f.reached
        and expected_progress(OPERATIONS[f.operation], f.point, f.occurrence)
        < OPERATIONS[f.operation].units
    ]
    return singles + doubles


# Which operations and points a small sample takes first (the full plan has them all).
_SAMPLE_OPERATIONS = (
    "deliver_all",
    "timers",
    "mail_maildir",
    "task_resolve",
    "task_confirm",
    "ticket_new",
    "mail_new",
    "mail_reply",
    "mail_stranger",
    "deliver_batch",
    "task_escalate",
    "task_reopen",
    "task_follow_up",
)
_SAMPLE_POINTS = (
    "delivery.after_send",
    "email.parsed",
    "instance.before_save",
    "uow.before_commit",
    "uow.after_commit",
    "delivery.after_lease",
)
_SAMPLE_POINTS_FIRST = {"deliver_batch": "delivery.after_lease"}  # or no sample reaches it
_SINGLES_PER_OTHER = 7  # a sample takes one double or unreached fault after every 7 singles


def _round_robin(queues: Sequence[list[Fault]]) -> list[Fault]:
    queues = [list(queue) for queue in queues]
    merged: list[Fault] = []
    while any(queues):
        merged += [queue.pop(0) for queue in queues if queue]
    return merged


def sample(plan: Sequence[Fault], runs: int, seed: int = 7) -> list[Fault]:
    """``runs`` faults: the whole plan (repeated if asked for more), or a spread sample: single
    faults round robin over the operations and, within one, over its points (occurrences
    shuffled), with a double or unreached fault after every few singles — so that even a small
    sample reaches every operation and every point."""
    if runs >= len(plan):
        return [plan[i % len(plan)] for i in range(runs)]
    rng = random.Random(seed)

    def spread(faults: list[Fault], op: str) -> list[Fault]:
        groups: dict[str, list[Fault]] = {}
        for fault in faults:
            groups.setdefault(fault.point, []).append(fault)
        first = _SAMPLE_POINTS_FIRST.get(op)
        order = sorted(groups, key=lambda p: (p != first, _SAMPLE_POINTS.index(p)))
        for point in order:
            rng.shuffle(groups[point])
        return _round_robin([groups[point] for point in order])

    singles, doubles, unreached = [], [], []
    for op in _SAMPLE_OPERATIONS:
        mine = [fault for fault in plan if fault.operation == op]
        singles.append(spread([f for f in mine if f.reached and not f.double], op))
        doubles.append(spread([f for f in mine if f.double], op))
        unreached.append([f for f in mine if not f.reached])
    single_queue = _round_robin(singles)
    other_queue = _round_robin([_round_robin(doubles), _round_robin(unreached)])
    chosen: list[Fault] = []
    while len(chosen) < runs:
        take = _SINGLES_PER_OTHER if single_queue else 0
        chosen += single_queue[:take]
        del single_queue[:take]
        chosen += other_queue[:1]
        del other_queue[:1]
    return chosen[:runs]


# --- loopback receivers ---------------------------------------------------------------------


class Receivers:
    """An SMTP server and an SMS gateway on loopback; both record the Message-IDs they got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[str] = []
        receivers = self

        class SmtpHandler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.content, policy=default_policy)
                receivers.record(str(message["Message-ID"]).strip())
                return "250 OK"

        class Gateway(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receivers.record(str(json.loads(self.rfile.read(length))["id"]))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        with socket.socket() as probe:  # aiosmtpd needs a port number up front
            probe.bind(("127.0.0.1", 0))
            self.smtp_port = int(probe.getsockname()[1])
        self._smtp = Controller(SmtpHandler(), hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        self._http = HTTPServer(("127.0.0.1", 0), Gateway)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        self.sms_url = f"http://127.0.0.1:{self._http.server_address[1]}/sms"

    def record(self, message_id: str) -> None:
        with self._lock:
            self._received.append(message_id)

    def take(self) -> list[str]:
        """What arrived since the last call."""
        with self._lock:
            taken, self._received = self._received, []
        return taken

    def close(self) -> None:
        self._smtp.stop()
        self._http.shutdown()
        self._http.server_close()


# --- the prepared database ------------------------------------------------------------------


class OffsetClock:
    """The system clock, optionally moved forward (to outlive a dead worker's lease)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass(frozen=True)
class Template:
    """A migrated, seeded database file and what the operations need from it."""

    path: Path
    tasks: dict[str, tuple[str, str]]  # operation → (task id, actor)
    timer_instances: dict[int, int]  # instance id → version (three due timers)
    reply_ticket: str  # ticket number the reply e-mails write to
    pending_outbox: int
    task_versions: dict[str, int]  # operation → version of its task's instance


def _settings(url: str, attachments: Path, receivers: Receivers | None = None) -> Settings:
    extra: dict[str, Any] = {}
    if receivers is not None:
        extra = {"smtp_port": receivers.smtp_port, "sms_gateway_url": receivers.sms_url}
    return Settings(
        database_url=url,
        attachments_dir=attachments,
        secret_key="fault-campaign",
        outbox_lease_seconds=LEASE_SECONDS,
        **extra,
    )


def _open_task(desk: Services, number: str, element_id: str) -> tuple[str, str | None]:
    with desk.unit_of_work(read_only=True) as uow:
        ticket = uow.tickets.get_by_number(number)
        instance = uow.processes.instance_for_ticket(ticket.id)
        [task] = [
            task
            for task in uow.tasks.open_for_instance(instance.id)
            if task.element_id == element_id
        ]
    return task.id, task.assignee


def _complete(desk: Services, number: str, element_id: str, data: JsonDict) -> None:
    task_id, assignee = _open_task(desk, number, element_id)
    actor = assignee or ENGINEER
    if assignee is None:
        desk.tasks.claim(task_id, actor)
    desk.tasks.complete(task_id, data, actor)


RESOLVED = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "Paper path dirty",
    "outcome": "resolved",
    "resolution": "Cleaned the rollers",
    "time_spent_minutes": 15,
}
ESCALATED = {
    "remote_desktop_consent": False,
    "remote_session_used": False,
    "diagnosis": "VPN tunnel to the branch office drops every few minutes",
    "outcome": "escalate_l2",
    "time_spent_minutes": 10,
}
TASK_DATA: dict[str, tuple[str, JsonDict]] = {
    "task_resolve": ("l1_triage", RESOLVED),
    "task_escalate": ("l1_triage", ESCALATED),
    "task_confirm": ("confirm_resolution", {"confirmation": "confirm"}),
    "task_reopen": (
        "confirm_resolution",
        {"confirmation": "reopen", "feedback": "It jams again (fault campaign)"},
    ),
    "task_follow_up": ("follow_up_check", {"solution_holds": True, "notes": "All fine"}),
}


def build_template(folder: Path) -> Template:
    """Ten days of history on a manual clock ending now, so that exactly three timers are
    due by the system clock the ``itsm`` child runs on."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "template.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=10)
    clock = ManualClock(start)
    desk = build(_settings(url, folder / "blobs"), clock=clock, fast_password_hashing=True)
    try:
        with desk.unit_of_work() as uow:
            seed_directory(uow, desk.catalog, clock.now())
            acme = uow.directory.client_by_code("ACME")
            uow.directory.add_person(
                username=SMS_REQUESTER,
                full_name="Fault Sms",
                role="requester",
                client_id=acme.id,
                phone="+48 600 000 099",
            )
            uow.commit()
        desk.processes.deploy(read_process_source(LIFECYCLE_BPMN), "fault-setup", "bundled")

        def register(subject: str, requester: str = REQUESTER) -> str:
            command = NewTicket(
                client_code="ACME",
                requester=requester,
                channel=Channel.PHONE,
                category=Category.HARDWARE,
                subject=subject,
                description=subject,
            )
            return desk.intake.register(command, ENGINEER).number

        triage = register("Triage waits (task_resolve, task_escalate, replies)")
        confirm = register("Confirmation waits (task_confirm, task_reopen)")
        follow_up = register("Follow-up check waits (task_follow_up)")
        auto_close = [register(f"Auto-close timer due ({i})") for i in (1, 2)]
        follow_up_due = register("Follow-up timer due")
        register("Requester without e-mail (SMS)", SMS_REQUESTER)
        clock.advance(timedelta(hours=1))
        _complete(desk, follow_up, "l1_triage", RESOLVED)
        clock.advance(timedelta(hours=1))
        _complete(desk, follow_up, "confirm_resolution", {"confirmation": "confirm"})
        clock.advance(timedelta(hours=2))
        _complete(desk, follow_up_due, "l1_triage", RESOLVED)
        clock.advance(timedelta(hours=1))
        _complete(desk, follow_up_due, "confirm_resolution", {"confirmation": "confirm"})
        clock.set(start + timedelta(days=4))  # auto-close due 5 days later: a day ago
        for number in auto_close:
            _complete(desk, number, "l1_triage", RESOLVED)
        clock.set(start + timedelta(days=7, hours=3))  # only the first follow-up is due
        fired = desk.timers.run_due()
        assert (fired.advanced, fired.failed) == (1, []), fired
        clock.set(now - timedelta(hours=1))
        _complete(desk, confirm, "l1_triage", RESOLVED)

        tasks = {
            op: _open_task(desk, number, element)
            for op, number, element in (
                ("task_resolve", triage, "l1_triage"),
                ("task_escalate", triage, "l1_triage"),
                ("task_confirm", confirm, "confirm_resolution"),
                ("task_reopen", confirm, "confirm_resolution"),
                ("task_follow_up", follow_up, "follow_up_check"),
            )
        }
        with desk.unit_of_work(read_only=True) as uow:
            timer_instances = {}
            for number in [*auto_close, follow_up_due]:
                instance = uow.processes.instance_for_ticket(uow.tickets.get_by_number(number).id)
                assert instance.next_timer_at is not None and instance.next_timer_at <= now
                timer_instances[instance.id] = instance.version
            due = uow.processes.due_instance_ids(now + timedelta(hours=12), 100)
            assert sorted(due) == sorted(timer_instances), "exactly three timers are due"
            counts = uow.outbox.counts()
            task_versions = {
                op: uow.processes.instance(uow.tasks.get(task_id).instance_id).version
                for op, (task_id, _) in tasks.items()
            }
        assert set(counts) == {"pending"} and counts["pending"] > MIN_PENDING_OUTBOX, counts
    finally:
        desk.close()
    with sqlite3.connect(path) as db:  # one self-contained file to copy
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Template(
        path=path,
        tasks={op: (task_id, assignee or ENGINEER) for op, (task_id, assignee) in tasks.items()},
        timer_instances=timer_instances,
        reply_ticket=triage,
        pending_outbox=counts["pending"],
        task_versions=task_versions,
    )


# --- e-mails ------------------------------------------------------------------------------------


def _mail(
    sender: str, subject: str, message_id: str, body: str, attachment: bytes | None = None
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service-desk@nordserv.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Tue, 01 Dec 2026 09:00:00 +0100"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="log.txt"
        )
    return message.as_bytes()


@dataclass(frozen=True)
class MailFile:
    name: str
    message_id: str
    outcome: str  # ticket_created | comment_added | quarantined
    raw: bytes
    marker: str  # text that identifies what it produced


def mails_for(op: str, reply_ticket: str) -> list[MailFile]:
    def new(tag: str, attachment: bytes | None = None) -> MailFile:
        marker = f"Outlook crashes on start ({tag})"
        raw = _mail(REQUESTER_EMAIL, marker, f"{tag}@acme.example", "Since today.", attachment)
        return MailFile(f"{tag}.eml", f"{tag}@acme.example", "ticket_created", raw, marker)

    def reply(tag: str) -> MailFile:
        marker = f"Still jams after the restart ({tag})"
        subject = f"Re: [{reply_ticket}] Triage waits"
        raw = _mail(REQUESTER_EMAIL, subject, f"{tag}@acme.example", marker)
        return MailFile(f"{tag}.eml", f"{tag}@acme.example", "comment_added", raw, marker)

    def stranger(tag: str) -> MailFile:
        marker = f"Buy cheap toner ({tag})"
        raw = _mail(STRANGER_EMAIL, marker, f"{tag}@unknown.example", "Best prices.")
        return MailFile(f"{tag}.eml", f"{tag}@unknown.example", "quarantined", raw, marker)

    return {
        "mail_new": lambda: [new("fault-new")],
        "mail_reply": lambda: [reply("fault-reply")],
        "mail_stranger": lambda: [stranger("fault-stranger")],
        "mail_maildir": lambda: [
            new("1-maildir-new", attachment=b"error 0x80070005\n" * 40),
            reply("2-maildir-reply"),
            stranger("3-maildir-stranger"),
        ],
    }[op]()


# --- one run --------------------------------------------------------------------------------


@dataclass
class RunResult:
    fault: Fault
    reached: bool
    retry_reached: bool | None = None  # double faults: did the first retry die too?
    duplicates: int = 0  # deliveries of a Message-ID beyond the first
    delivered: int = 0
    child_seconds: float = 0.0
    seconds: float = 0.0


@dataclass
class _Ledger:
    """Message-IDs that reached a receiver, and how many repeats each is allowed."""

    received: Counter[str] = field(default_factory=Counter)
    allowed_repeats: Counter[str] = field(default_factory=Counter)


class CampaignRun:
    def __init__(self, template: Template, receivers: Receivers, folder: Path) -> None:
        self.template = template
        self.receivers = receivers
        self.folder = folder
        self.attachments = folder / "blobs"
        self.path = folder / "itsm.db"
        self.url = f"sqlite:///{self.path}"
        self.ledger = _Ledger()

    # -- plumbing --

    def _child(self, args: Sequence[str], spec: str) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
        env.update(
            ITSM_DATABASE_URL=self.url,
            ITSM_ATTACHMENTS_DIR=str(self.attachments),
            ITSM_SECRET_KEY="fault-campaign",
            ITSM_SMTP_HOST="127.0.0.1",
            ITSM_SMTP_PORT=str(self.receivers.smtp_port),
            ITSM_SMS_GATEWAY_URL=self.receivers.sms_url,
            ITSM_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
            ITSM_FAULT_AT=spec,
            DO_NOT_TRACK="1",
        )
        done = subprocess.run(
            [sys.executable, "-c", "from itsm.cli import app; app()", *args],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
        return done.returncode, (done.stdout + done.stderr)[-3000:]

    def _engine(self) -> Engine:
        return create_engine(self.url)

    def _scalar(self, db: Engine, query: Any) -> Any:
        with db.connect() as connection:
            return connection.execute(query).scalar()

    def _note_deliveries(self, db: Engine) -> int:
        """Count what the receivers got since last time; a message that arrived but whose row
        is not marked sent may arrive once more (the crash fell between send and mark)."""
        arrived = self.receivers.take()
        self.ledger.received.update(arrived)
        if not arrived:
            return 0
        with db.connect() as connection:
            rows: dict[str, str] = dict(
                connection.execute(  # type: ignore[arg-type]
                    select(t.outbox.c.message_id, t.outbox.c.status).where(
                        t.outbox.c.message_id.in_(set(arrived))
                    )
                ).all()
            )
        unknown = set(arrived) - set(rows)
        assert not unknown, f"sent without a committed outbox row: {sorted(unknown)}"
        self.ledger.allowed_repeats.update(
            message_id for message_id in set(arrived) if rows[message_id] == "pending"
        )
        return len(arrived)

    # -- the operation, as a command line and as the retry --

    def _args(self, op: Operation, worker: str) -> list[str]:
        if op.kind == "ticket":
            return [
                "ticket",
                "new",
                "--client",
                "ACME",
                "--requester",
                REQUESTER,
                "--subject",
                NEW_TICKET_SUBJECT,
                "--category",
                "hardware",
                "--urgency",
                "high",
                "--as",
                ENGINEER,
            ]
        if op.kind == "task":
            task_id, actor = self.template.tasks[op.name]
            data = TASK_DATA[op.name][1]
            return ["task", "complete", task_id, "--data", json.dumps(data), "--as", actor]
        if op.kind == "timers":
            return ["timers", "run"]
        if op.kind == "mail":
            if op.name == "mail_maildir":
                return ["mail", "import", str(self.folder / "maildir")]
            [mail] = self._mails(op)
            return ["mail", "import", str(self.folder / mail.name)]
        return ["outbox", "deliver", "--worker", worker, "--batch", str(op.batch)]

    def _mails(self, op: Operation) -> list[MailFile]:
        return mails_for(op.name, self.template.reply_ticket)

    def _write_mails(self, op: Operation) -> None:
        if op.kind != "mail":
            return
        for mail in self._mails(op):
            folder = self.folder / "maildir" / "new" if op.name == "mail_maildir" else self.folder
            folder.mkdir(parents=True, exist_ok=True)
            (folder / mail.name).write_bytes(mail.raw)

    def progress(self, db: Engine, op: Operation) -> int:
        """Inputs of ``op`` applied so far (each one fully: see check_outcome)."""
        c = t
        if op.kind == "ticket":
            query = select(func.count()).where(c.tickets.c.subject == NEW_TICKET_SUBJECT)
        elif op.kind == "task":
            task_id = self.template.tasks[op.name][0]
            query = select(func.count()).where(
                c.human_tasks.c.id == task_id, c.human_tasks.c.status == "completed"
            )
        elif op.kind == "timers":
            with db.connect() as connection:
                versions: dict[int, int] = dict(
                    connection.execute(  # type: ignore[arg-type]
                        select(c.process_instances.c.id, c.process_instances.c.version)
                    ).all()
                )
            return sum(
                versions[i] > version for i, version in self.template.timer_instances.items()
            )
        elif op.kind == "mail":
            ids = [mail.message_id for mail in self._mails(op)]
            query = select(func.count()).where(c.inbound_messages.c.external_id.in_(ids))
        else:
            query = select(func.count()).where(c.outbox.c.status == "sent")
        return int(self._scalar(db, query))

    def retry(self, desk: Services, op: Operation) -> None:
        """What a person or the scheduler does after the crash."""
        db = desk.database
        if op.kind == "ticket":
            if self.progress(db, op) == 0:  # the user looks first: no ticket, so again
                command = NewTicket(
                    client_code="ACME",
                    requester=REQUESTER,
                    channel=Channel.PHONE,
                    category=Category.HARDWARE,
                    urgency=Level.HIGH,
                    subject=NEW_TICKET_SUBJECT,
                    description=NEW_TICKET_SUBJECT,
                )
                desk.intake.register(command, ENGINEER)
        elif op.kind == "task":
            task_id, actor = self.template.tasks[op.name]
            try:
                desk.tasks.complete(task_id, TASK_DATA[op.name][1], actor)
            except ConflictError:
                assert self.progress(db, op) == 1  # "already completed": nothing to redo
        elif op.kind == "timers":
            fired = desk.timers.run_due()
            assert not fired.failed, fired.failed
        elif op.kind == "mail":
            applied = set(self._applied_mails(db, op))
            for mail in self._mails(op):
                result = desk.email.receive(mail.raw, received_via="file:retry")
                expected = "duplicate" if mail.message_id in applied else mail.outcome
                assert result.outcome == expected, (mail.name, result)
        else:
            report = desk.delivery.deliver_due("restarted", op.batch)
            assert not report.errors, report.errors

    def _applied_mails(self, db: Engine, op: Operation) -> list[str]:
        ids = [mail.message_id for mail in self._mails(op)]
        with db.connect() as connection:
            return list(
                connection.execute(
                    select(t.inbound_messages.c.external_id).where(
                        t.inbound_messages.c.external_id.in_(ids)
                    )
                ).scalars()
            )

    # -- the run --

    def run(self, fault: Fault) -> RunResult:
        began = time.monotonic()
        op = OPERATIONS[fault.operation]
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.template.path, self.path)
        self._write_mails(op)
        self.receivers.take()
        db = self._engine()
        try:
            child_began = time.monotonic()
            code, output = self._child(self._args(op, "doomed-1"), fault.spec)
            result = RunResult(fault, reached=code == SIGKILLED)
            result.child_seconds = time.monotonic() - child_began
            assert result.reached == fault.reached, (
                f"{fault.id}: exit status {code}, expected "
                f"{'SIGKILL' if fault.reached else 'a normal end'}\n{output}"
            )
            if not fault.reached:
                assert code == 0, output
            arrived = self._note_deliveries(db)
            self.check_crash_left(db, op, fault, arrived)
            check_invariants(db, self.attachments)
            if fault.double and self.progress(db, op) < op.units:
                if op.kind == "deliver":
                    self._lease_runs_out(db)  # so the next worker takes the dead one's batch
                code, output = self._child(self._args(op, "doomed-2"), fault.spec)
                result.retry_reached = code == SIGKILLED
                assert code in (SIGKILLED, 0), output
                self._note_deliveries(db)
                check_invariants(db, self.attachments)
            clock = OffsetClock()
            desk = build(
                _settings(self.url, self.attachments, self.receivers),
                clock=clock,
                fast_password_hashing=True,
            )
            try:
                self.retry(desk, op)
                self._note_deliveries(db)
                # Every worker that died held its lease this long; the next one resends.
                clock.offset = timedelta(seconds=LEASE_SECONDS + 60)
                while True:
                    report = desk.delivery.deliver_due("final", 100)
                    assert not report.errors, report.errors
                    if report.sent == 0:
                        break
            finally:
                desk.close()
            self._note_deliveries(db)
            self.check_outcome(db, op)
            check_invariants(db, self.attachments)
            result.duplicates, result.delivered = self.check_deliveries(db)
        finally:
            db.dispose()
        result.seconds = time.monotonic() - began
        return result

    @staticmethod
    def _lease_runs_out(db: Engine) -> None:
        """What waiting out a dead worker's lease does; the children run on the system clock."""
        with db.begin() as connection:
            connection.execute(
                update(t.outbox)
                .where(t.outbox.c.status == "pending", t.outbox.c.leased_until.is_not(None))
                .values(leased_until=datetime.now(UTC) - timedelta(seconds=1))
            )

    # -- checks --

    def check_crash_left(self, db: Engine, op: Operation, fault: Fault, arrived: int) -> None:
        """Exactly the inputs before the fault were applied; nothing more was sent."""
        expected = (
            expected_progress(op, fault.point, fault.occurrence) if fault.reached else op.units
        )
        if op.kind == "deliver" and not fault.reached:
            expected = min(op.batch, self.template.pending_outbox)
        assert self.progress(db, op) == expected, (fault.id, self.progress(db, op), expected)
        if op.kind != "deliver":
            assert arrived == 0, f"{fault.id}: a message went out before any delivery"
            return
        sent = sent_before_death(op, fault.point, fault.occurrence) if fault.reached else expected
        assert arrived == sent, (fault.id, arrived, sent)
        leased = self._scalar(
            db,
            select(func.count()).where(
                t.outbox.c.leased_by == "doomed-1", t.outbox.c.status == "pending"
            ),
        )
        lease_committed = fault.point != "uow.before_commit" or fault.occurrence > 1
        if not fault.reached:
            assert leased == 0
        elif lease_committed:
            assert leased == min(op.batch, self.template.pending_outbox) - expected, leased
        else:
            assert leased == 0, "the lease was not committed, yet rows are leased"

    def check_outcome(self, db: Engine, op: Operation) -> None:
        """After the retry every input is applied exactly once, and completely."""
        if op.kind != "deliver":  # a delivery's inputs are all rows: none pending, below
            assert self.progress(db, op) == op.units
        with db.connect() as connection:

            def count(query: Any) -> int:
                return int(connection.execute(query).scalar_one())

            if op.kind == "ticket":
                [ticket_id] = connection.execute(
                    select(t.tickets.c.id).where(t.tickets.c.subject == NEW_TICKET_SUBJECT)
                ).scalars()
                assert count(_kind(ticket_id, "ticket_registered")) == 1
                assert count(_kind(ticket_id, "process_started")) == 1
                outbox = select(func.count()).where(t.outbox.c.ticket_id == ticket_id)
                assert count(outbox) >= 2  # requester and engineer are told
            elif op.kind == "task":
                task_id = self.template.tasks[op.name][0]
                completed = select(func.count()).where(
                    t.audit_events.c.kind == "task_completed", t.audit_events.c.task_id == task_id
                )
                assert count(completed) == 1
                instance_id = connection.execute(
                    select(t.human_tasks.c.instance_id).where(t.human_tasks.c.id == task_id)
                ).scalar_one()
                version = connection.execute(
                    select(t.process_instances.c.version).where(
                        t.process_instances.c.id == instance_id
                    )
                ).scalar_one()
                assert version == self.template.task_versions[op.name] + 1, version
            elif op.kind == "timers":
                for instance_id, version in self.template.timer_instances.items():
                    now_version = connection.execute(
                        select(t.process_instances.c.version).where(
                            t.process_instances.c.id == instance_id
                        )
                    ).scalar_one()
                    assert now_version == version + 1, (instance_id, version, now_version)
                    ticket_id = connection.execute(
                        select(t.process_instances.c.ticket_id).where(
                            t.process_instances.c.id == instance_id
                        )
                    ).scalar_one()
                    fired = select(func.count()).where(
                        t.audit_events.c.ticket_id == ticket_id,
                        t.audit_events.c.kind == "step",
                        t.audit_events.c.element_id.in_(["auto_close_timer", "follow_up_timer"]),
                    )
                    assert count(fired) == 1, (ticket_id, count(fired))
            elif op.kind == "mail":
                for mail in self._mails(op):
                    row = (
                        connection.execute(
                            select(t.inbound_messages).where(
                                t.inbound_messages.c.external_id == mail.message_id
                            )
                        )
                        .mappings()
                        .one()
                    )
                    assert row["outcome"] == mail.outcome, dict(row)
                    if mail.outcome == "ticket_created":
                        tickets = select(func.count()).where(t.tickets.c.subject == mail.marker)
                        assert count(tickets) == 1
                        subject = connection.execute(
                            select(t.tickets.c.subject).where(t.tickets.c.id == row["ticket_id"])
                        ).scalar_one()
                        assert subject == mail.marker
                        if "maildir" in mail.name:
                            attached = select(func.count()).where(
                                t.attachments.c.ticket_id == row["ticket_id"]
                            )
                            assert count(attached) == 1
                    elif mail.outcome == "comment_added":
                        comments = select(func.count()).where(
                            t.comments.c.body.contains(mail.marker)
                        )
                        assert count(comments) == 1
                    else:
                        assert row["ticket_id"] is None
                        assert row["raw_sha256"] is not None  # the original is kept
            pending = select(func.count()).where(t.outbox.c.status != "sent")
            assert count(pending) == 0, "every notification was delivered"

    def check_deliveries(self, db: Engine) -> tuple[int, int]:
        """Each outbox row arrived once, plus once per crash between its send and its mark."""
        with db.connect() as connection:
            ids = set(connection.execute(select(t.outbox.c.message_id)).scalars())
        received = self.ledger.received
        assert set(received) <= ids
        for message_id in ids:
            expected = 1 + self.ledger.allowed_repeats[message_id]
            assert received[message_id] == expected, (message_id, received[message_id], expected)
        return sum(received.values()) - len(ids), len(ids)


def _kind(ticket_id: int, kind: str) -> Any:
    return select(func.count()).where(
        t.audit_events.c.ticket_id == ticket_id, t.audit_events.c.kind == kind
    )


# --- invariants over the whole database -----------------------------------------------------


def check_invariants(db: Engine, attachments: Path) -> None:
    """What must hold after any crash, whatever operation it interrupted."""
    with db.connect() as connection:

        def rows(query: Any) -> list[Any]:
            return list(connection.execute(query).mappings())

        def values(sql: str) -> list[Any]:
            return list(connection.execute(text(sql)).all())

        tickets = {row["id"]: row for row in rows(select(t.tickets))}
        instances = rows(select(t.process_instances))
        per_ticket = Counter(row["ticket_id"] for row in instances)
        assert all(per_ticket[i] == 1 for i in tickets), "a ticket without exactly one process"
        assert set(per_ticket) <= set(tickets)

        # Every status equals the last entry of its history (written in the same transaction).
        for ticket_id, status in values(
            "SELECT c.ticket_id, c.status FROM ticket_status_changes c WHERE c.id = "
            "(SELECT max(id) FROM ticket_status_changes WHERE ticket_id = c.ticket_id)"
        ):
            assert tickets[ticket_id]["status"] == status, (ticket_id, status)
        history = {
            ticket_id for (ticket_id,) in values("SELECT ticket_id FROM ticket_status_changes")
        }
        assert history == set(tickets)

        # Registered once, started once; nothing points at a ticket that is not there.
        for kind in ("ticket_registered", "process_started"):
            counts = Counter(
                r[0] for r in values(f"SELECT ticket_id FROM audit_events WHERE kind = '{kind}'")
            )
            assert all(counts[i] == 1 for i in tickets) and set(counts) <= set(tickets), kind
        for table in ("audit_events", "human_tasks", "outbox", "comments", "attachments"):
            orphans = values(
                f"SELECT count(*) FROM {table} x WHERE x.ticket_id IS NOT NULL AND "
                "x.ticket_id NOT IN (SELECT id FROM tickets)"
            )
            assert orphans[0][0] == 0, f"{table} refers to a missing ticket"
        assert (
            values(
                "SELECT count(*) FROM audit_events WHERE instance_id IS NOT NULL AND "
                "instance_id NOT IN (SELECT id FROM process_instances)"
            )[0][0]
            == 0
        )

        # Numbers are handed out in the ticket's transaction: no gap, no repeat.
        for name, value in values("SELECT name, value FROM ticket_counters"):
            numbers = [row["number"] for row in tickets.values() if row["number"].startswith(name)]
            assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, value + 1))

        # Inbound messages: recorded once, and linked to what they produced.
        inbound = rows(select(t.inbound_messages))
        keys = Counter((row["channel"], row["external_id"]) for row in inbound)
        assert all(n == 1 for n in keys.values())
        for row in inbound:
            if row["outcome"] in ("ticket_created", "comment_added"):
                assert row["ticket_id"] in tickets, dict(row)
            else:
                assert row["outcome"] in ("quarantined", "ignored", "rejected", "dismissed")
            if row["raw_sha256"]:
                assert _blob(attachments, row["raw_sha256"]).is_file(), "original lost"
        created_by_mail = Counter(
            row["ticket_id"] for row in inbound if row["outcome"] == "ticket_created"
        )
        for ticket_id, row in tickets.items():
            if row["channel"] == "email":
                assert created_by_mail[ticket_id] == 1, "an e-mail ticket without its message"
        for row in rows(select(t.attachments)):
            assert _blob(attachments, row["sha256"]).is_file(), "attachment row without bytes"

        # Outbox: at least once — pending (maybe leased by a dead worker) or sent.
        assert {row[0] for row in values("SELECT DISTINCT status FROM outbox")} <= {
            "pending",
            "sent",
        }

        # Engine state restores, and its waiting tasks are exactly the open task rows.
        open_rows: dict[int, set[str]] = {}
        for task in rows(select(t.human_tasks)):
            instance = next(i for i in instances if i["id"] == task["instance_id"])
            assert instance["ticket_id"] == task["ticket_id"]
            if task["status"] == "open":
                open_rows.setdefault(task["instance_id"], set()).add(task["id"])
        definitions = {row["id"]: row for row in rows(select(t.process_definitions))}
    for instance in instances:
        waiting = _waiting_tasks(definitions[instance["definition_id"]], instance)
        assert waiting == open_rows.get(instance["id"], set()), (
            f"instance {instance['id']}: engine waits for {waiting}, rows say "
            f"{open_rows.get(instance['id'])}"
        )


def _blob(attachments: Path, digest: str) -> Path:
    return attachments / digest[:2] / digest  # itsm.blob_store.FileBlobStore's layout


def _refuse(operation: str, parameters: JsonDict) -> JsonDict:
    raise AssertionError(f"restoring a saved state ran service task {operation}")


_CHECK_CLOCK = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
_CHECK_ENGINE = SpiffProcessEngine(_CHECK_CLOCK)  # one, so each model is parsed once


def _waiting_tasks(definition: Any, instance: Any) -> set[str]:
    """Restore the stored state and step it on a clock stopped at its save: a consistent
    state has nothing left to run, so this only reads which user tasks it waits for."""
    from itsm.services.ports import ProcessSource

    source = ProcessSource(
        definition["bpmn_xml"],
        json.loads(definition["dmn_json"]),
        json.loads(definition["forms_json"]),
    )
    _CHECK_CLOCK.set(instance["updated_at"])
    run = _CHECK_ENGINE.fire_due_timers(
        source, definition["content_hash"], instance["state"], _refuse
    )
    assert run.completed == (instance["status"] == "completed"), instance["id"]
    return {task.task_id for task in run.waiting_tasks}


@dataclass
class Summary:
    runs: int = 0
    faults_injected: int = 0
    not_reached: int = 0
    double_faults_injected: int = 0
    duplicates: int = 0
    delivered: int = 0
    losses: int = 0
    failures: list[str] = field(default_factory=list)
    by_point: Counter[str] = field(default_factory=Counter)

    def add(self, result: RunResult) -> None:
        self.runs += 1
        self.faults_injected += result.reached
        self.not_reached += not result.reached
        self.double_faults_injected += bool(result.retry_reached)
        self.duplicates += result.duplicates
        self.delivered += result.delivered
        if result.reached:
            self.by_point[result.fault.point] += 1 + bool(result.retry_reached)


def run_many(
    faults: Sequence[Fault], folder: Path, on_result: Callable[[RunResult], None] | None = None
) -> Iterator[RunResult]:
    """Run faults one after another with one template and one pair of receivers."""
    template = build_template(folder / "template")
    receivers = Receivers()
    try:
        for index, fault in enumerate(faults):
            run_folder = folder / f"run-{index:04d}"
            result = CampaignRun(template, receivers, run_folder).run(fault)
            shutil.rmtree(run_folder, ignore_errors=True)
            if on_result:
                on_result(result)
            yield result
    finally:
        receivers.close()
