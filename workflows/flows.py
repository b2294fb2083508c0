"""The scheduled flows: thin orchestration over one service call each.

Every flow is safe to run twice or concurrently — the services underneath are idempotent
(alarms fire once, timers advance under optimistic locking, outbox leases, Message-IDs and
a month's report are recorded once) — so Prefect's retries and overlapping schedules can
never double an effect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task

from itsm.domain.report import previous_month
from workflows.runtime import desk

MONTHLY_REPORT_ACTOR = "system:monthly-report"


@task(retries=2, retry_delay_seconds=5)
def fire_sla_thresholds() -> dict[str, Any]:
    report = desk().sla_monitor.scan()
    return {
        "fired": dict(report.fired),
        "escalated": report.escalated,
        "notices": report.notices,
        "messages": report.messages,
    }


@flow(name="sla_monitor", description="SLA warnings at 75 %, breaches at 100 %, escalation.")
def sla_monitor() -> dict[str, Any]:
    result = fire_sla_thresholds()
    if result["fired"]:
        get_run_logger().info("SLA thresholds fired: %s", result["fired"])
    return result


@task(retries=2, retry_delay_seconds=5)
def advance_due_timers() -> dict[str, Any]:
    report = desk().timers.run_due()
    return {
        "advanced": report.advanced,
        "skipped": report.skipped,
        "failed": report.failed,
        "retried": report.retried,
        "recovered": report.recovered,
        "incidents": report.incidents,
    }


@flow(
    name="engine_timers",
    description="Fire due BPMN timers (auto-close, follow-up checks); retry failed service tasks.",
)
def engine_timers() -> dict[str, Any]:
    result = advance_due_timers()
    for instance_id, reason in result["failed"]:
        get_run_logger().error("instance %s could not advance: %s", instance_id, reason)
    if result["incidents"]:
        get_run_logger().warning(
            "%s failed service task(s) used up their retries: see the Incidents page",
            result["incidents"],
        )
    return result


@task
def deliver_batch(worker: str, batch: int) -> dict[str, int]:
    report = desk().delivery.deliver_due(worker, batch)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@flow(name="outbox_delivery", description="Send due notifications (e-mail, SMS).")
def outbox_delivery(batch: int = 50, max_batches: int = 20) -> dict[str, int]:
    totals = {"sent": 0, "retrying": 0, "failed": 0}
    for _ in range(max_batches):
        result = deliver_batch("prefect:outbox_delivery", batch)
        for key in totals:
            totals[key] += result[key]
        if sum(result.values()) < batch:
            break
    return totals


@task(retries=1, retry_delay_seconds=30)
def poll_mailbox(limit: int) -> dict[str, Any]:
    poller = desk().mail_poller
    if poller is None:
        return {"configured": False}
    report = poller.poll(limit)
    return {
        "configured": True,
        "fetched": report.fetched,
        "outcomes": dict(report.outcomes),
        "errors": report.errors,
    }


@flow(name="mail_fetch", description="Fetch new e-mail from the IMAP folder into tickets.")
def mail_fetch(limit: int = 100) -> dict[str, Any]:
    result = poll_mailbox(limit)
    logger = get_run_logger()
    if not result["configured"]:
        logger.info("IMAP is not configured (ITSM_IMAP_HOST): nothing to fetch")
    for error in result.get("errors", []):
        logger.warning("%s", error)
    return result


@task(retries=2, retry_delay_seconds=60)
def client_report(client_code: str, month: str, force: bool) -> dict[str, Any]:
    stored = desk().reports.generate(client_code, month, MONTHLY_REPORT_ACTOR, force=force)
    return {
        "client": stored.client_code,
        "month": stored.month,
        "tickets": stored.ticket_count,
        "created": stored.created,
        "emailed_to": stored.emailed_to,
    }


@flow(name="monthly_report", description="Each client's report of the past month, e-mailed.")
def monthly_report(
    month: str | None = None, clients: list[str] | None = None, force: bool = False
) -> list[dict[str, Any]]:
    chosen_month = month or previous_month(datetime.now(UTC))
    codes = clients or desk().reports.client_codes()
    return [client_report(code, chosen_month, force) for code in codes]
