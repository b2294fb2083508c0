"""The ``itsm`` command line: database, demo data, tickets, tasks, processes and timers."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from itsm.domain.commands import NewTicket
from itsm.domain.errors import ItsmError, ValidationFailed

app = typer.Typer(
    help="itsm-orchestrator: BPMN-driven helpdesk for managed service providers",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
ticket_app = typer.Typer(help="Tickets", no_args_is_help=True)
task_app = typer.Typer(help="Human tasks", no_args_is_help=True)
process_app = typer.Typer(help="Process definitions", no_args_is_help=True)
timers_app = typer.Typer(help="BPMN timers", no_args_is_help=True)
outbox_app = typer.Typer(help="Notification delivery", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for client integrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ticket_app, name="ticket")
app.add_typer(task_app, name="task")
app.add_typer(process_app, name="process")
app.add_typer(timers_app, name="timers")
app.add_typer(outbox_app, name="outbox")
app.add_typer(token_app, name="token")
mail_app = typer.Typer(help="E-mail intake", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
sla_app = typer.Typer(help="SLA clock and monitor", no_args_is_help=True)
app.add_typer(sla_app, name="sla")
report_app = typer.Typer(help="Client reports", no_args_is_help=True)
app.add_typer(report_app, name="report")

DEFAULT_ACTOR = "lukasz.kwiatkowski"
Actor = Annotated[str, typer.Option("--as", envvar="ITSM_USER", help="Username acting")]
T = TypeVar("T")


@contextmanager
def _services() -> Iterator[Any]:
    from itsm.bootstrap import build

    services = build()
    try:
        yield services
    finally:
        services.close()


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _run(action: Callable[[], T]) -> T:
    """Turn the core's deliberate errors into one readable line and exit status 1."""
    try:
        return action()
    except ValidationFailed as err:
        lines = "\n".join(f"  {e.path}: {e.message}" for e in err.errors)
        raise _fail(f"Invalid data:\n{lines}") from err
    except ValidationError as err:
        lines = "\n".join(f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise _fail(f"Invalid data:\n{lines}") from err
    except ItsmError as err:
        raise _fail(f"{type(err).__name__}: {err}") from err


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from itsm.settings import Settings
    from itsm.storage.migrate import current_revision, upgrade_database

    url = Settings().database_url
    upgrade_database(url)
    typer.echo(f"database at revision {current_revision(url)}")


@app.command("demo")
def demo(
    tickets: Annotated[int, typer.Option(help="Historical tickets to create")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
    reset: Annotated[bool, typer.Option(help="Wipe an existing database first")] = False,
) -> None:
    """Fresh demo: schema, provider, clients of every tier, and three months of tickets."""
    from itsm.demo import seed_demo

    report = _run(lambda: seed_demo(tickets=tickets, seed=seed, reset=reset))
    typer.echo(report)


@ticket_app.command("new")
def ticket_new(
    client: Annotated[str, typer.Option(help="Client code, e.g. ACME")],
    requester: Annotated[str, typer.Option(help="Requester's username")],
    subject: Annotated[str, typer.Option(help="One-line summary")],
    description: Annotated[str, typer.Option(help="What happened")] = "",
    category: Annotated[str, typer.Option(help="hardware|software|network|...")] = "question",
    impact: Annotated[str, typer.Option(help="high|medium|low")] = "medium",
    urgency: Annotated[str, typer.Option(help="high|medium|low")] = "medium",
    channel: Annotated[str, typer.Option(help="portal|email|sms|phone|monitoring|api")] = "phone",
    change_type: Annotated[str, typer.Option(help="none|permission_change|...")] = "none",
    service_type: Annotated[str | None, typer.Option(help="Override the client's default")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Register a ticket (e.g. a phone call recorded by an engineer)."""
    with _services() as services:
        command = _run(
            lambda: NewTicket.model_validate(
                dict(
                    client_code=client,
                    requester=requester,
                    subject=subject,
                    description=description or subject,
                    category=category,
                    impact=impact,
                    urgency=urgency,
                    channel=channel,
                    change_type=change_type,
                    service_type=service_type,
                )
            )
        )
        ticket = _run(lambda: services.intake.register(command, actor))
        details = services.tickets.details(ticket.number, actor)
        engineer = details.assignee.full_name if details.assignee else "nobody yet"
        typer.echo(
            f"{ticket.number} registered; priority {ticket.priority}; "
            f"status {ticket.status.value}; assigned to {engineer}"
        )


@ticket_app.command("show")
def ticket_show(number: str, actor: Actor = DEFAULT_ACTOR) -> None:
    """A ticket's data, its position in the process and its full timeline."""
    from itsm.ticket_report import render_ticket

    with _services() as services:
        details = _run(lambda: services.tickets.details(number, actor))
        typer.echo(render_ticket(details))


@ticket_app.command("list")
def ticket_list(limit: int = 30, actor: Actor = DEFAULT_ACTOR) -> None:
    """The most recent tickets visible to the user."""
    with _services() as services:
        for ticket in _run(lambda: services.tickets.recent(actor, limit)):
            typer.echo(
                f"{ticket.number}  {ticket.status.value:<17} {ticket.priority or '--':<3} "
                f"{ticket.subject}"
            )


@app.command("tasks")
def tasks(
    group: Annotated[str | None, typer.Option(help="Queue: L1, L2, L3, field, ...")] = None,
    mine: Annotated[bool, typer.Option(help="Only tasks assigned to me")] = False,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """The inbox: open tasks the user may work, most urgent SLA first."""
    with _services() as services:
        items = _run(lambda: services.tasks.inbox(actor, group=group, mine=mine))
        for item in items:
            due = item.task.due_at.isoformat(timespec="minutes") if item.task.due_at else "-"
            typer.echo(
                f"{item.task.id}  {item.task.candidate_group:<11} {item.ticket.number}  "
                f"{item.task.name:<32} due {due:<22} {item.task.assignee or '(unclaimed)'}"
            )
        typer.echo(f"{len(items)} open task(s)")


@task_app.command("claim")
def task_claim(task_id: str, actor: Actor = DEFAULT_ACTOR) -> None:
    with _services() as services:
        _run(lambda: services.tasks.claim(task_id, actor))
        typer.echo(f"claimed by {actor}")


@task_app.command("release")
def task_release(task_id: str, actor: Actor = DEFAULT_ACTOR) -> None:
    with _services() as services:
        _run(lambda: services.tasks.release(task_id, actor))
        typer.echo("released")


@task_app.command("reassign")
def task_reassign(
    task_id: str, to: Annotated[str, typer.Option()], actor: Actor = DEFAULT_ACTOR
) -> None:
    with _services() as services:
        _run(lambda: services.tasks.reassign(task_id, to, actor))
        typer.echo(f"reassigned to {to}")


@task_app.command("form")
def task_form(task_id: str, actor: Actor = DEFAULT_ACTOR) -> None:
    """Print the JSON schema of the task's form."""
    with _services() as services:
        typer.echo(json.dumps(_run(lambda: services.tasks.form(task_id, actor)), indent=2))


@task_app.command("complete")
def task_complete(
    task_id: str,
    data: Annotated[str, typer.Option(help="Form data as a JSON object")] = "{}",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as err:
        raise _fail(f"--data is not valid JSON: {err}") from err
    with _services() as services:
        result = _run(lambda: services.tasks.complete(task_id, parsed, actor))
        waiting = ", ".join(f"{t.name} ({t.id})" for t in result.next_tasks) or "nothing"
        typer.echo(f"{result.ticket_number}: completed; now waiting for {waiting}")


def _scenarios_for(file: Path, scenarios: Path | None) -> str | None:
    """The scenario file's text: the one named, else ``<model>.scenarios.json`` beside it."""
    from itsm.process_files import read_scenarios

    if scenarios is None:
        return read_scenarios(file)
    if not scenarios.is_file():
        raise _fail(f"{scenarios} does not exist")
    return scenarios.read_text(encoding="utf-8")


def _show_problems(findings: Iterable[object], failed: Iterable[object]) -> int:
    from itsm.modeling import LintFinding
    from itsm.services.processes import ScenarioResult

    count = 0
    for finding in findings:
        if isinstance(finding, LintFinding):
            typer.echo(f"  [{finding.rule}] {finding.message}")
            count += 1
    for result in failed:
        if isinstance(result, ScenarioResult):
            typer.echo(
                f"  [scenario {result.name}] failed after {result.steps_done} step(s): "
                f"{result.message}"
            )
            count += 1
    return count


ScenariosOption = Annotated[
    Path | None,
    typer.Option(help="Scenario file (default: <model>.scenarios.json beside the model)"),
]


@process_app.command("deploy")
def process_deploy(
    file: Annotated[Path, typer.Argument(help="BPMN file; DMN beside it, forms in forms/")],
    comment: Annotated[str, typer.Option(help="What changed")] = "",
    scenarios: ScenariosOption = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Check the model, play its scenarios on a throw-away desk, then deploy a new version;
    refused (exit status 1, every problem listed) unless all of it passed."""
    from itsm.domain.errors import InvalidProcess
    from itsm.process_files import read_process_source
    from itsm.scenarios import parse_scenarios

    with _services() as services:
        source = _run(lambda: read_process_source(file))
        text = _scenarios_for(file, scenarios)
        try:
            deployment = services.processes.deploy(source, actor, comment, text)
        except InvalidProcess as err:
            if not _show_problems(err.findings, err.failed_scenarios):
                raise _fail(f"InvalidProcess: {err}") from err
            raise _fail(f"{file}: not deployed (the problems above)") from err
        definition = deployment.definition
        state = "deployed" if deployment.created else "unchanged, already"
        checked = f", {len(parse_scenarios(text))} scenario(s) passed" if text else ""
        typer.echo(
            f"{definition.key} v{definition.version} {state} "
            f"(hash {definition.content_hash[:12]}{checked})"
        )


@process_app.command("lint")
def process_lint(
    file: Annotated[Path, typer.Argument(help="BPMN file; DMN beside it, forms in forms/")],
    scenarios: Annotated[
        Path | None, typer.Option(help="Also play this scenario file on a throw-away desk")
    ] = None,
) -> None:
    """Check a model without deploying it: every finding, exit status 1 if there is one."""
    from itsm.process_files import read_process_source

    with _services() as services:
        source = _run(lambda: read_process_source(file))
        text = _scenarios_for(file, scenarios) if scenarios is not None else None
        validation = services.processes.validate(source, text)
        if _show_problems(validation.findings, validation.failed_scenarios):
            raise _fail(f"{file}: {len(validation.problems())} problem(s)")
        played = f"; {len(validation.scenario_results)} scenario(s) passed" if text else ""
        typer.echo(f"{file}: no findings{played}")


@process_app.command("diff")
def process_diff(
    key: Annotated[str, typer.Argument(help="Process key, e.g. ticket_lifecycle")],
    from_version: Annotated[int, typer.Argument(help="Older version")],
    to_version: Annotated[int, typer.Argument(help="Newer version")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """What changed between two deployed versions (layout changes are not changes)."""
    with _services() as services:
        diff = _run(lambda: services.designer.diff(key, from_version, to_version, actor))
        lines = diff.lines() or [f"{key} v{from_version} → v{to_version}: no changes"]
        typer.echo("\n".join(lines))


@process_app.command("list")
def process_list() -> None:
    with _services() as services:
        for d in services.processes.versions():
            typer.echo(
                f"{d.key} v{d.version}  {d.deployed_at:%Y-%m-%d %H:%M} by {d.deployed_by}"
                f"  {d.comment}"
            )


@process_app.command("migrate")
def process_migrate(
    key: Annotated[str, typer.Argument(help="Process key, e.g. ticket_lifecycle")],
    from_version: Annotated[int, typer.Argument(help="Version the tickets are on")],
    to_version: Annotated[int, typer.Argument(help="Version to move them to")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would move")] = False,
    tickets: Annotated[
        list[str] | None, typer.Option("--ticket", help="Only this ticket (repeatable)")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Move waiting tickets to another version of their process (process owners, admins)."""
    with _services() as services:
        ids = {d.version: d.id for d in services.processes.versions(key)}
        missing = [v for v in (from_version, to_version) if v not in ids]
        if missing:
            raise _fail(f"NotFound: {key} has no version {missing[0]}")
        old, new = ids[from_version], ids[to_version]
        if dry_run:
            plan = _run(lambda: services.migrations.plan(old, new, actor))
            wanted = set(tickets or [item.ticket_number for item in plan.items])
            for item in plan.items:
                if item.ticket_number in wanted:
                    where = ", ".join(item.waiting_elements) or "nothing"
                    verdict = "can move" if item.migratable else f"stays: {item.reason}"
                    typer.echo(f"{item.ticket_number} (waiting at {where}): {verdict}")
            typer.echo(
                f"{key} v{from_version} -> v{to_version}: {len(plan.migratable)} of "
                f"{len(plan.items)} unfinished ticket(s) can move (dry run, nothing changed)"
            )
            return
        report = _run(lambda: services.migrations.migrate(old, new, actor, tickets or None))
        for number in report.migrated:
            typer.echo(f"{number}: moved to v{to_version}")
        for skipped in report.skipped:
            typer.echo(f"{skipped.ticket_number}: stays on v{from_version}: {skipped.reason}")
        typer.echo(
            f"{key} v{from_version} -> v{to_version}: {len(report.migrated)} moved, "
            f"{len(report.skipped)} skipped"
        )


def _serve(factory: str, host: str, port: int) -> None:
    """Replace this process by uvicorn serving ``factory`` (the CLI never imports the edges
    it starts). Streamlit's own options are set in code by ``ui.server.create_app``."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    os.execvpe(command[0], command, {**os.environ, "DO_NOT_TRACK": "1"})


@app.command("ui")
def ui(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind; keep loopback unless proxied")] = (
        "127.0.0.1"
    ),
) -> None:
    """Serve the Streamlit workbench (login, inbox, task forms, portal)."""
    typer.echo(f"workbench on http://{host}:{port}  (Ctrl+C stops it)")
    _serve("ui.server:create_app", host, port)


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Workbench port")] = 8501,
    prefect_port: Annotated[int, typer.Option(help="Local Prefect server port")] = 4200,
    api: Annotated[bool, typer.Option(help="Also serve the HTTP API")] = False,
    api_port: Annotated[int, typer.Option(help="HTTP API port")] = 8080,
) -> None:
    """Run the product: workbench, local Prefect server and every scheduled flow."""
    from itsm.settings import Settings
    from itsm.supervisor import parts, prefect_environment, run

    settings = Settings()
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    typer.echo(
        f"workbench http://127.0.0.1:{port}  ·  Prefect UI http://127.0.0.1:{prefect_port}"
        + (f"  ·  API http://127.0.0.1:{api_port}/docs" if api else "")
        + "  (Ctrl+C stops all)"
    )
    code = run(
        parts(ui_port=port, api_port=api_port, prefect_port=prefect_port, with_api=api),
        prefect_environment(settings.prefect_home, prefect_port),
        prefect_health=f"http://127.0.0.1:{prefect_port}/api/health",
        say=typer.echo,
    )
    raise typer.Exit(code)


@token_app.command("create")
def token_create(
    client: Annotated[str, typer.Option(help="Client code the token acts for")],
    name: Annotated[str, typer.Option(help="What uses it, e.g. 'ERP'")] = "integration",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Create an API token (printed once; only its hash is stored)."""
    with _services() as services:
        typer.echo(_run(lambda: services.api_access.create_token(client, name, actor)))


@app.command("api")
def api(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json)."""
    typer.echo(f"API on http://{host}:{port}/docs  (Ctrl+C stops it)")
    _serve("itsm.api.app:create_app", host, port)


@outbox_app.command("deliver")
def outbox_deliver(
    worker: Annotated[str, typer.Option(help="Name of this worker (lease owner)")] = "",
    batch: Annotated[int, typer.Option(help="Messages leased at a time")] = 50,
    loop: Annotated[bool, typer.Option(help="Keep delivering until stopped")] = False,
    pause: Annotated[float, typer.Option(help="Seconds between empty polls")] = 5.0,
) -> None:
    """Send due notifications (e-mail, SMS); failures are retried with backoff."""
    import socket
    import time

    name = worker or f"{socket.gethostname()}:{os.getpid()}"
    with _services() as services:
        while True:
            report = services.delivery.deliver_due(name, batch)
            if report.sent or report.retrying or report.failed:
                typer.echo(
                    f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
                )
            for error in report.errors[:5]:
                typer.secho(f"  {error}", fg=typer.colors.YELLOW, err=True)
            if not loop:
                break
            if not (report.sent or report.retrying or report.failed):
                time.sleep(pause)


def _mail_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            folders = [path / "cur", path / "new"]
            if not any(folder.is_dir() for folder in folders):
                folders = [path]
            for folder in folders:
                if folder.is_dir():
                    yield from sorted(p for p in folder.iterdir() if p.is_file())
        else:
            yield path


@mail_app.command("import")
def mail_import(
    paths: Annotated[list[Path], typer.Argument(help=".eml files or maildir folders")],
) -> None:
    """Receive e-mails from files (each .eml, or a maildir's cur/ and new/): one line each."""
    with _services() as services:
        for path in _mail_files(paths):
            try:
                raw = path.read_bytes()
            except OSError as err:
                typer.secho(f"{path}: unreadable ({err.strerror})", fg=typer.colors.RED)
                continue
            receive = functools.partial(services.email.receive, raw, received_via=f"file:{path}")
            result = _run(receive)
            ticket = f" {result.ticket_number}" if result.ticket_number else ""
            typer.echo(f"{path}: {result.outcome}{ticket} - {result.reason}")


@mail_app.command("fetch")
def mail_fetch(
    limit: Annotated[int, typer.Option(min=1, help="Messages fetched at most")] = 100,
) -> None:
    """Fetch unseen e-mail from the IMAP folder once (ITSM_IMAP_*): counts per outcome."""
    from itsm.services.mail_polling import MailboxError

    with _services() as services:
        if services.mail_poller is None:
            raise _fail("IMAP is not configured: set ITSM_IMAP_HOST (and ITSM_IMAP_USER, ...)")
        try:
            report = services.mail_poller.poll(limit)
        except MailboxError as err:
            raise _fail(f"mail fetch failed: {err}") from None
        counts = ", ".join(f"{name} {n}" for name, n in sorted(report.outcomes.items()))
        typer.echo(f"fetched {report.fetched}" + (f": {counts}" if counts else ""))
        for error in report.errors[:20]:
            typer.secho(f"  {error}", fg=typer.colors.YELLOW, err=True)
        if report.errors:
            typer.echo(f"errors {len(report.errors)} (left unseen, retried next time)")


@timers_app.command("run")
def timers_run() -> None:
    """Fire every BPMN timer that is due (auto-close, follow-up checks) and retry the failed
    service tasks whose next attempt is due."""
    with _services() as services:
        report = services.timers.run_due()
        typer.echo(
            f"advanced {report.advanced}, skipped {report.skipped}, failed {len(report.failed)}"
            + (
                f"; retried {report.retried} failed steps: {report.recovered} recovered, "
                f"{report.incidents} now incidents"
                if report.retried
                else ""
            )
        )
        for instance_id, reason in report.failed:
            typer.secho(f"  instance {instance_id}: {reason}", fg=typer.colors.RED)
        if report.failed:
            raise typer.Exit(code=1)


@sla_app.command("scan")
def sla_scan() -> None:
    """Fire due SLA warnings and breaches once (what the sla_monitor flow runs every minute)."""
    with _services() as services:
        report = services.sla_monitor.scan()
        fired = ", ".join(f"{name} {n}" for name, n in sorted(report.fired.items())) or "nothing"
        typer.echo(
            f"fired: {fired}; escalated {report.escalated}, notices {report.notices}, "
            f"messages {report.messages}"
        )


@sla_app.command("recompute")
def sla_recompute() -> None:
    """Recompute every open ticket's due times from its history (after a rule change)."""
    with _services() as services:
        typer.echo(f"recomputed {services.sla_recompute.recompute_open()} open tickets")


@report_app.command("monthly")
def report_monthly(
    client: Annotated[str, typer.Option(help="Client code, e.g. ACME")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (in the client's time zone)")],
    out: Annotated[Path, typer.Option(help="Folder to write the HTML, PDF and CSV into")] = Path(
        "reports"
    ),
    force: Annotated[bool, typer.Option(help="Regenerate a month already reported")] = False,
    send: Annotated[bool, typer.Option(help="E-mail it to the IT coordinator")] = True,
    actor: Actor = "marek.jankowski",
) -> None:
    """Generate (or fetch) a client's monthly report; files are archived and optionally written."""
    with _services() as services:
        stored = _run(
            lambda: services.reports.generate(client, month, actor, force=force, send=send)
        )
        state = "generated" if stored.created else "already archived"
        mail = f", e-mailed to {stored.emailed_to}" if stored.emailed_to else ""
        typer.echo(
            f"{stored.client_code} {stored.month}: {stored.ticket_count} tickets, {state}{mail}"
        )
        out.mkdir(parents=True, exist_ok=True)
        for kind in ("html", "pdf", "csv"):
            download = _run(functools.partial(services.reports.download, stored.id, kind, actor))
            target = out / download.display_name
            target.write_bytes(download.data)
            typer.echo(f"  {target}")


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("DO_NOT_TRACK", "1")
    app()
