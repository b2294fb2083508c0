"""The scheduled flows run by Prefect against a real database: each does its one job, and
running it again (or twice at once) never doubles an effect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.domain.commands import NewTicket
from tests.conftest import build_desk
from workflows.flows import engine_timers, mail_fetch, outbox_delivery, sla_monitor
from workflows.runtime import use

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def flow_desk(sqlite_url: str, clock: ManualClock) -> Iterator[Services]:
    services, _ = build_desk(sqlite_url, clock, smtp_port=9)  # nothing listens on port 9
    with use(services):
        yield services
    services.close()


def report(desk: Services) -> str:
    command = NewTicket(
        client_code="MEDIS",
        requester="hanna.jasinska",
        channel="portal",
        category="software",
        subject="Lab system slow",
        description="-",
        service_type="it_administration",
    )
    return desk.intake.register(command, "hanna.jasinska").number


def test_sla_monitor_flow_fires_each_threshold_once(
    flow_desk: Services, clock: ManualClock
) -> None:
    number = report(flow_desk)
    clock.advance(timedelta(hours=2, minutes=1))  # reaction warning and breach are due
    first = sla_monitor()
    assert first["fired"] == {"reaction warning": 1, "reaction breach": 1}
    assert first["escalated"] == 1
    assert sla_monitor()["fired"] == {}
    kinds = [e["kind"] for e in flow_desk.tickets.details(number, "ewa.kozlowska").timeline]
    assert kinds.count("sla_breach") == 1 and kinds.count("priority_raised") == 1


def test_engine_timers_flow_auto_closes_a_silent_resolution(
    flow_desk: Services, clock: ManualClock
) -> None:
    number = report(flow_desk)
    (triage,) = flow_desk.tasks.inbox("jan.nowak", group="L1")
    engineer = flow_desk.tickets.details(number, "jan.nowak").assignee
    assert engineer is not None
    flow_desk.tasks.complete(
        triage.task.id,
        {
            "diagnosis": "Index rebuild needed",
            "outcome": "resolved",
            "resolution": "Rebuilt the database index",
            "time_spent_minutes": 30,
        },
        engineer.username,
    )
    assert engine_timers()["advanced"] == 0
    clock.advance(timedelta(days=6))
    assert engine_timers()["advanced"] == 1
    assert flow_desk.tickets.details(number, "jan.nowak").ticket.status.value == "closed"


def test_outbox_flow_keeps_what_it_could_not_send(flow_desk: Services) -> None:
    report(flow_desk)
    result = outbox_delivery(batch=10, max_batches=3)
    assert result["sent"] == 0 and result["retrying"] >= 1
    with flow_desk.unit_of_work(read_only=True) as uow:
        assert uow.outbox.counts().get("pending", 0) >= 1  # nothing lost, retried later


def test_mail_fetch_flow_says_when_imap_is_not_configured(flow_desk: Services) -> None:
    assert mail_fetch() == {"configured": False}
