"""Schedules of the flows, and ``serve()`` running them all in this process.

``python -m workflows.deployments`` is what ``itsm serve`` starts next to a local Prefect
server; at scale the same deployments go to a work pool instead (docs/deploy.md).
"""

from __future__ import annotations

from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from workflows.flows import engine_timers, mail_fetch, monthly_report, outbox_delivery, sla_monitor

REPORT_TIMEZONE = "Europe/Warsaw"


def deployments() -> list[RunnerDeployment]:
    # to_deployment is sync here (no running event loop); Prefect types it as maybe-async.
    return [
        cast(RunnerDeployment, deployment)
        for deployment in (
            sla_monitor.to_deployment("every-minute", schedule=Interval(60)),
            engine_timers.to_deployment("every-minute", schedule=Interval(60)),
            outbox_delivery.to_deployment("every-30s", schedule=Interval(30)),
            mail_fetch.to_deployment("every-2-minutes", schedule=Interval(120)),
            # 1st of the month, 06:00 Warsaw: the past month is over in every client's zone.
            monthly_report.to_deployment(
                "first-of-month", schedule=Cron("0 6 1 * *", timezone=REPORT_TIMEZONE)
            ),
        )
    ]


def main() -> None:
    serve(*deployments(), limit=4)


if __name__ == "__main__":
    main()
