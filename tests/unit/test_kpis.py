"""KPIs of a period: every figure checked against values worked out by hand for small data."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itsm.domain.kpis import (
    FCR_GOAL,
    Compliance,
    PackageFacts,
    Period,
    PeriodFigures,
    Recommendation,
    TicketFacts,
    UsageFacts,
    compliance_of,
    compliance_series,
    month_period,
    period_figures,
    recommendations,
)
from itsm.domain.sla import ServiceType

HELPDESK = ServiceType.HELPDESK
ADMIN = ServiceType.IT_ADMINISTRATION
REPAIR = ServiceType.IT_SERVICE

_ids = itertools.count(1)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


OCTOBER = Period(at(10, 1), at(11, 1), "2026-10")
END = OCTOBER.end
FAR_EXPIRY = END + timedelta(days=150)


def ticket(number: str | None = None, **changes: Any) -> TicketFacts:
    """A plain ticket created inside October, untouched so far; ``changes`` set the rest."""
    ident = next(_ids)
    base = TicketFacts(
        id=ident,
        number=number or f"HD-{ident:05d}",
        client_code="ACME",
        sla_tier="standard",
        subject=f"Subject {ident}",
        category="software",
        channel="email",
        priority="p3",
        service_type=REPAIR,
        status="new",
        requester="Anna Nowak",
        requester_username="anowak",
        assignee=None,
        site=None,
        created_at=at(10, 2, 9),
        responded_at=None,
        resolved_at=None,
        closed_at=None,
        closure=None,
        reaction_due_at=None,
        resolution_due_at=None,
        reopen_count=0,
        lines_reached=frozenset({"L1"}),
        vendor_name=None,
        field_visits=0,
        minutes_spent=0,
    )
    return replace(base, **changes)


def alert(number: str | None, name: str, site: str | None, **changes: Any) -> TicketFacts:
    fields: dict[str, Any] = {
        "channel": "monitoring",
        "alert_name": name,
        "site": site,
        "subject": f"Alert: {name}" + (f" at {site}" if site else ""),
        "category": "infrastructure",
    }
    return ticket(number, **(fields | changes))


def package(
    package_id: int,
    service_type: ServiceType = REPAIR,
    *,
    hours: int = 10,
    price: str = "1350",
    minutes_used: int = 0,
    expires_at: datetime = FAR_EXPIRY,
) -> PackageFacts:
    return PackageFacts(
        package_id=package_id,
        service_type=service_type,
        hours=hours,
        price_pln=Decimal(price),
        purchased_at=at(6, 1),
        expires_at=expires_at,
        minutes_used=minutes_used,
        minutes_used_in_period=0,
    )


def kinds(items: tuple[Recommendation, ...]) -> list[str]:
    return [item.kind for item in items]


# --- a worked month ----------------------------------------------------------------------


def october_tickets() -> list[TicketFacts]:
    """Twelve tickets with outcomes decided by hand (see the comment on each)."""
    return [
        # Reaction met, resolution met, solved at L1 and closed: first-contact resolution.
        ticket(
            "T1",
            category="software",
            channel="email",
            created_at=at(10, 2, 8),
            responded_at=at(10, 2, 8, 30),
            reaction_due_at=at(10, 2, 10),
            resolved_at=at(10, 2, 9),
            resolution_due_at=at(10, 3, 8),
            closed_at=at(10, 4, 9),
            status="closed",
        ),
        # Both clocks breached; went to L2.
        ticket(
            "T2",
            category="hardware",
            channel="phone",
            created_at=at(10, 3, 10),
            responded_at=at(10, 3, 12),
            reaction_due_at=at(10, 3, 11),
            resolved_at=at(10, 5, 10),
            resolution_due_at=at(10, 4, 10),
            closed_at=at(10, 6, 9),
            status="closed",
            lines_reached=frozenset({"L1", "L2"}),
        ),
        # Helpdesk: a reaction target only.
        ticket(
            "T3",
            category="question",
            channel="portal",
            service_type=HELPDESK,
            created_at=at(10, 5, 9),
            responded_at=at(10, 5, 9, 10),
            reaction_due_at=at(10, 5, 15),
            resolved_at=at(10, 5, 10),
            closed_at=at(10, 7, 9),
            status="closed",
        ),
        # Resolution breached and reopened once: not first-contact.
        ticket(
            "T4",
            category="software",
            channel="email",
            created_at=at(10, 10, 9),
            responded_at=at(10, 10, 9, 30),
            reaction_due_at=at(10, 10, 11),
            resolved_at=at(10, 12, 9),
            resolution_due_at=at(10, 11, 9),
            closed_at=at(10, 14, 9),
            status="closed",
            reopen_count=1,
        ),
        # With a vendor at the period's end, resolution due passed: breached, backlog > 7 days.
        ticket(
            "T5",
            category="network",
            channel="phone",
            created_at=at(10, 20, 9),
            responded_at=at(10, 20, 10),
            reaction_due_at=at(10, 20, 13),
            resolution_due_at=at(10, 21, 9),
            status="with_vendor",
            vendor_name="FiberNet",
            lines_reached=frozenset({"L1", "vendor"}),
        ),
        # Created four hours before the end, nothing due yet: both pending, backlog < 1 day.
        ticket(
            "T6",
            category="hardware",
            channel="email",
            created_at=at(10, 31, 20),
            reaction_due_at=at(11, 1, 4),
            resolution_due_at=at(11, 2, 12),
        ),
        # L2, L3 and two field visits, still open: resolution breached, backlog 3-7 days.
        ticket(
            "T7",
            category="hardware",
            channel="web",
            created_at=at(10, 28, 9),
            responded_at=at(10, 28, 10),
            reaction_due_at=at(10, 28, 12),
            resolution_due_at=at(10, 29, 9),
            status="field_visit",
            lines_reached=frozenset({"L1", "L2", "L3", "field"}),
            field_visits=2,
        ),
        # Rejected: counts for reaction, never for resolution; closed in the period.
        ticket(
            "T8",
            category="account_access",
            channel="email",
            created_at=at(10, 15, 9),
            responded_at=at(10, 15, 9, 20),
            reaction_due_at=at(10, 15, 12),
            resolution_due_at=at(10, 16, 9),
            closed_at=at(10, 15, 10),
            status="rejected",
        ),
        # Carried over from September, resolved and closed in October after L2.
        ticket(
            "T9",
            created_at=at(9, 25, 9),
            responded_at=at(9, 25, 10),
            reaction_due_at=at(9, 25, 17),
            resolved_at=at(10, 2, 9),
            resolution_due_at=at(9, 26, 9),
            closed_at=at(10, 3, 9),
            status="closed",
            lines_reached=frozenset({"L1", "L2"}),
        ),
        # Carried over, first answered on 1 October (64 h), still in progress: backlog > 7 days.
        ticket(
            "T10",
            created_at=at(9, 28, 9),
            responded_at=at(10, 1, 1),
            reaction_due_at=at(9, 28, 17),
            status="in_progress",
        ),
        # Resolved, waiting for the requester's confirmation: no longer backlog.
        ticket(
            "T11",
            category="software",
            channel="email",
            created_at=at(10, 29, 12),
            responded_at=at(10, 29, 12, 30),
            reaction_due_at=at(10, 29, 16),
            resolved_at=at(10, 30, 12),
            resolution_due_at=at(10, 31, 12),
            status="resolved",
        ),
        # Resolved and closed only after the period: open at its end (1-3 days), resolution met.
        ticket(
            "T12",
            category="network",
            channel="phone",
            created_at=at(10, 30, 9),
            responded_at=at(10, 30, 9, 5),
            reaction_due_at=at(10, 30, 10),
            resolved_at=at(11, 1, 10),
            resolution_due_at=at(11, 2, 9),
            closed_at=at(11, 3, 9),
            status="closed",
        ),
    ]


OCTOBER_TICKETS = october_tickets()


@pytest.fixture(scope="module")
def october() -> PeriodFigures:
    return period_figures(OCTOBER, OCTOBER_TICKETS)


def test_counts_of_the_worked_month(october: PeriodFigures) -> None:
    assert (october.opened, october.resolved, october.closed) == (10, 6, 6)
    assert october.backlog == 5  # T5, T6, T7, T10, T12 (T11 awaits only the confirmation)


def test_backlog_ageing_of_the_worked_month(october: PeriodFigures) -> None:
    assert october.backlog_ageing == {"< 1 day": 1, "1-3 days": 1, "3-7 days": 1, "> 7 days": 2}
    assert list(october.backlog_ageing) == ["< 1 day", "1-3 days", "3-7 days", "> 7 days"]


def test_compliance_of_the_worked_month(october: PeriodFigures) -> None:
    # Reaction: T2 late, T6 not due yet, T1 T3 T4 T5 T7 T8 T11 T12 in time.
    assert october.reaction == Compliance(met=8, breached=1, pending=1)
    # Resolution: T1 T11 T12 met; T2 T4 T5 T7 breached; T6 pending; T3 none; T8 rejected.
    assert october.resolution == Compliance(met=3, breached=4, pending=1)
    assert october.reaction.rate == pytest.approx(8 / 9)


def test_first_contact_resolution_of_the_worked_month(october: PeriodFigures) -> None:
    # Resolved in October: T1 T3 T11 at L1 only; T2 and T9 went to L2, T4 was reopened.
    assert october.first_contact_resolution == pytest.approx(3 / 6)
    assert october.fcr_goal == FCR_GOAL == 0.90


def test_mean_times_of_the_worked_month(october: PeriodFigures) -> None:
    # Responded in October (T9 was answered in September): hours to the first response.
    reactions = [0.5, 2, 10 / 60, 0.5, 1, 1, 20 / 60, 64, 0.5, 5 / 60]
    assert october.mtta_hours == pytest.approx(sum(reactions) / len(reactions))
    # Resolved in October (T12 only in November): T1 T2 T3 T4 T9 T11.
    resolutions = [1, 48, 1, 48, 168, 24]
    assert october.mttr_hours == pytest.approx(sum(resolutions) / len(resolutions))


def test_escalations_of_the_worked_month(october: PeriodFigures) -> None:
    # T9 reached L2 too but was created in September.
    assert october.escalations_by_line == {"L2": 2, "L3": 1}
    assert october.vendor_hand_offs == 1
    assert october.field_visits == 2


def test_distributions_of_the_worked_month(october: PeriodFigures) -> None:
    assert list(october.by_category.items()) == [
        ("hardware", 3),
        ("software", 3),
        ("network", 2),
        ("account_access", 1),
        ("question", 1),
    ]
    assert list(october.by_channel.items()) == [
        ("email", 5),
        ("phone", 3),
        ("portal", 1),
        ("web", 1),
    ]


def test_ticket_list_of_the_worked_month(october: PeriodFigures) -> None:
    numbers = [facts.number for facts in october.tickets]
    assert numbers == ["T1", "T2", "T3", "T4", "T8", "T5", "T7", "T11", "T12", "T6"]


def test_recommendations_of_the_worked_month(october: PeriodFigures) -> None:
    assert kinds(october.recommendations) == ["sla_risk", "sla_risk", "fcr_below_goal"]
    reaction, resolution, fcr = october.recommendations
    assert reaction.title == "Reaction SLA at risk"
    assert reaction.ticket_numbers == ("T2",)
    assert "1 of 9" in reaction.detail
    assert resolution.title == "Resolution SLA at risk"
    assert resolution.ticket_numbers == ("T2", "T4", "T5", "T7")
    assert "4 of 7" in resolution.detail
    assert fcr.ticket_numbers == ("T9", "T2", "T4")
    assert "50%" in fcr.detail
    assert october.hours is None


def test_figures_do_not_depend_on_the_order_of_the_tickets(october: PeriodFigures) -> None:
    assert period_figures(OCTOBER, list(reversed(OCTOBER_TICKETS))) == october


def test_an_empty_period() -> None:
    figures = period_figures(OCTOBER, [])
    assert (figures.opened, figures.resolved, figures.closed, figures.backlog) == (0, 0, 0, 0)
    assert figures.backlog_ageing == dict.fromkeys(
        ("< 1 day", "1-3 days", "3-7 days", "> 7 days"), 0
    )
    assert figures.reaction == figures.resolution == Compliance(0, 0, 0)
    assert figures.reaction.rate is None
    assert figures.first_contact_resolution is None
    assert figures.mtta_hours is None and figures.mttr_hours is None
    assert figures.escalations_by_line == {"L2": 0, "L3": 0}
    assert (figures.vendor_hand_offs, figures.field_visits) == (0, 0)
    assert figures.by_category == figures.by_channel == {}
    assert figures.hours is None
    assert figures.recommendations == ()
    assert figures.tickets == ()


# --- compliance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "due", "expected"),
    [
        (at(10, 5, 10), at(10, 5, 10), Compliance(1, 0, 0)),  # stopped exactly on time
        (at(10, 5, 10, 1), at(10, 5, 10), Compliance(0, 1, 0)),
        (None, END, Compliance(0, 1, 0)),  # due at the very end, still running: breached
        (None, END - timedelta(seconds=1), Compliance(0, 1, 0)),
        (None, END + timedelta(seconds=1), Compliance(0, 0, 1)),  # pending at the period end
        (at(11, 3), at(11, 4), Compliance(1, 0, 0)),  # stopped after the period, in time
        (at(11, 5), at(11, 4), Compliance(0, 1, 0)),
        (None, None, Compliance(0, 0, 0)),  # unclassified: no target, not counted
    ],
)
def test_reaction_compliance(stop: datetime | None, due: datetime | None, expected: Any) -> None:
    facts = ticket(responded_at=stop, reaction_due_at=due)
    assert compliance_of([facts], "reaction", END) == expected


def test_helpdesk_tickets_have_no_resolution_target() -> None:
    facts = ticket(
        service_type=HELPDESK,
        responded_at=at(10, 2, 9, 5),
        reaction_due_at=at(10, 2, 15),
        resolution_due_at=None,
    )
    assert compliance_of([facts], "reaction", END) == Compliance(1, 0, 0)
    assert compliance_of([facts], "resolution", END) == Compliance(0, 0, 0)
    assert compliance_of([facts], "resolution", END).rate is None


def test_a_rejected_ticket_counts_for_reaction_only() -> None:
    facts = ticket(
        status="rejected",
        responded_at=at(10, 2, 10),
        reaction_due_at=at(10, 2, 11),
        resolution_due_at=at(10, 3, 9),
        closed_at=at(10, 2, 10),
    )
    assert compliance_of([facts], "reaction", END) == Compliance(1, 0, 0)
    assert compliance_of([facts], "resolution", END) == Compliance(0, 0, 0)


def test_a_ticket_closed_without_resolution_stopped_its_clock_when_closed() -> None:
    cleared = ticket(closed_at=at(10, 2, 10), resolution_due_at=at(10, 2, 17), status="closed")
    late = replace(cleared, closed_at=at(10, 3, 10))
    assert compliance_of([cleared, late], "resolution", END) == Compliance(1, 1, 0)


def test_compliance_rejects_an_unknown_clock() -> None:
    with pytest.raises(ValueError, match="reaction"):
        compliance_of([], "response", END)  # type: ignore[arg-type]


def test_compliance_series_uses_the_tickets_created_in_each_period() -> None:
    november = Period(at(11, 1), at(12, 1), "2026-11")
    october_late = ticket(
        created_at=at(10, 31, 22),
        reaction_due_at=at(11, 2, 9),
        responded_at=at(11, 3, 9),
        resolution_due_at=at(11, 5, 9),
    )
    november_fine = ticket(
        created_at=at(11, 10, 9),
        reaction_due_at=at(11, 10, 11),
        responded_at=at(11, 10, 10),
        resolution_due_at=at(11, 11, 9),
        resolved_at=at(11, 10, 15),
    )
    series = compliance_series([october_late, november_fine], [OCTOBER, november])
    assert series == [
        # At October's end the reaction was not due yet; it was later missed, which is known.
        (OCTOBER, Compliance(0, 1, 0), Compliance(0, 0, 1)),
        (november, Compliance(1, 0, 0), Compliance(1, 0, 0)),
    ]


# --- backlog and first-contact resolution -------------------------------------------------


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(hours=23, minutes=59), "< 1 day"),
        (timedelta(days=1), "1-3 days"),
        (timedelta(days=3) - timedelta(seconds=1), "1-3 days"),
        (timedelta(days=3), "3-7 days"),
        (timedelta(days=7) - timedelta(seconds=1), "3-7 days"),
        (timedelta(days=7), "> 7 days"),
        (timedelta(days=70), "> 7 days"),
    ],
)
def test_backlog_age_buckets(age: timedelta, bucket: str) -> None:
    figures = period_figures(OCTOBER, [ticket(created_at=END - age, status="in_progress")])
    assert figures.backlog_ageing[bucket] == 1
    assert sum(figures.backlog_ageing.values()) == 1


@pytest.mark.parametrize(
    ("changes", "in_backlog"),
    [
        ({"closed_at": END, "status": "closed"}, True),  # closed at the very end: open before
        ({"closed_at": END - timedelta(seconds=1), "status": "closed"}, False),
        ({"status": "resolved", "resolved_at": at(10, 20)}, False),  # awaits confirmation only
        ({"status": "resolved", "resolved_at": END}, True),  # resolved after the end
        ({"status": "rejected"}, False),  # final status without a close time
        ({"created_at": END}, False),  # created at the end belongs to the next period
        ({"created_at": at(3, 1), "status": "awaiting_requester"}, True),
    ],
)
def test_backlog_membership(changes: dict[str, Any], in_backlog: bool) -> None:
    assert period_figures(OCTOBER, [ticket(**changes)]).backlog == int(in_backlog)


@pytest.mark.parametrize(
    ("changes", "first_contact"),
    [
        ({}, True),
        ({"lines_reached": frozenset()}, True),  # solved before anyone took it to a line
        ({"reopen_count": 1}, False),
        ({"lines_reached": frozenset({"L1", "L2"})}, False),
        ({"lines_reached": frozenset({"L1", "L3"})}, False),
        ({"lines_reached": frozenset({"L1", "field"})}, False),
        ({"field_visits": 1}, False),
        ({"vendor_name": "CloudCo"}, False),
        ({"lines_reached": frozenset({"L1", "vendor"})}, False),
    ],
)
def test_first_contact_resolution(changes: dict[str, Any], first_contact: bool) -> None:
    resolved = ticket(resolved_at=at(10, 2, 10), status="resolved", **changes)
    figures = period_figures(OCTOBER, [resolved])
    assert figures.first_contact_resolution == (1.0 if first_contact else 0.0)


# --- hours and cost ----------------------------------------------------------------------


def usage(
    covered: dict[int, int] | None = None, uncovered: dict[ServiceType, int] | None = None
) -> UsageFacts:
    return UsageFacts(
        minutes_by_service={REPAIR: 125, ADMIN: 7},
        covered_minutes_by_package=covered or {},
        uncovered_minutes_by_service=uncovered or {},
    )


RATES = {HELPDESK: Decimal("90"), ADMIN: Decimal("200"), REPAIR: Decimal("150")}


def test_cost_of_covered_and_uncovered_minutes() -> None:
    packages = (
        package(1, REPAIR, hours=10, price="1350"),  # 135 PLN/h
        package(2, HELPDESK, hours=20, price="1440"),  # 72 PLN/h
    )
    facts = usage(covered={1: 90, 2: 35}, uncovered={ADMIN: 7})
    hours = period_figures(OCTOBER, [], packages=packages, usage=facts, hourly_rates=RATES).hours
    assert hours is not None
    # 90 min × 135/60 = 202.50; 35 min × 72/60 = 42.00; 7 min × 200/60 = 23.333… → 267.83
    assert hours.cost_pln == Decimal("267.83")
    assert str(hours.cost_pln) == "267.83"
    assert hours.uncovered_minutes == 7
    assert hours.minutes_by_service == {REPAIR: 125, ADMIN: 7}
    assert hours.packages == packages


def test_cost_is_rounded_once_over_the_exact_sum() -> None:
    # Each minute costs 3.333… PLN; rounding each term would give 9.99.
    packages = tuple(package(i, ADMIN, hours=1, price="200") for i in (1, 2, 3))
    facts = usage(covered={1: 1, 2: 1, 3: 1})
    hours = period_figures(OCTOBER, [], packages=packages, usage=facts).hours
    assert hours is not None
    assert hours.cost_pln == Decimal("10.00")


def test_a_half_cent_rounds_up() -> None:
    facts = usage(uncovered={HELPDESK: 1})  # 0.30 PLN/h for one minute = 0.005 PLN
    hours = period_figures(OCTOBER, [], usage=facts, hourly_rates={HELPDESK: Decimal("0.30")})
    assert hours.hours is not None
    assert hours.hours.cost_pln == Decimal("0.01")


def test_no_usage_means_no_hours_and_no_minutes_cost_nothing() -> None:
    assert period_figures(OCTOBER, [], packages=(package(1),)).hours is None
    hours = period_figures(OCTOBER, [], usage=usage(uncovered={ADMIN: 0})).hours
    assert hours is not None
    assert hours.cost_pln == Decimal("0.00")
    assert hours.uncovered_minutes == 0


def test_minutes_from_an_unknown_package_are_refused() -> None:
    with pytest.raises(ValueError, match="package 9"):
        period_figures(OCTOBER, [], packages=(package(1),), usage=usage(covered={9: 30}))


def test_uncovered_minutes_need_a_rate() -> None:
    with pytest.raises(ValueError, match="it_administration"):
        period_figures(OCTOBER, [], usage=usage(uncovered={ADMIN: 30}), hourly_rates={})


# --- recommendations ---------------------------------------------------------------------


def test_recurring_problem_fires_at_three_same_subjects_in_one_category() -> None:
    same = [
        ticket("P1", subject="Printer  offline", created_at=at(10, 3)),
        ticket("P2", subject=" printer offline", created_at=at(10, 9)),
        ticket("P3", subject="PRINTER\tOFFLINE ", created_at=at(10, 5)),
    ]
    (advice,) = recommendations(OCTOBER, same)
    assert advice.kind == "recurring_problem"
    assert advice.title == "Recurring problem: Printer offline"
    assert "root cause" in advice.detail and "problem management" in advice.detail
    assert advice.ticket_numbers == ("P1", "P3", "P2")


@pytest.mark.parametrize(
    "third",
    [
        None,
        {"category": "hardware"},  # another category
        {"subject": "Printer offline again"},
        {"created_at": at(9, 30)},  # outside the period
    ],
)
def test_recurring_problem_does_not_fire_below_its_threshold(third: dict[str, Any] | None) -> None:
    same = [ticket(subject="Printer offline"), ticket(subject="Printer offline")]
    if third is not None:
        same.append(ticket(**{"subject": "Printer offline", **third}))
    assert recommendations(OCTOBER, same) == ()


def test_recurring_disk_alert_advises_cleaning_up_the_volume() -> None:
    alerts = [
        alert("A1", "DiskSpaceLow", "Kraków office", created_at=at(10, 4)),
        alert("A2", "DiskSpaceLow", "Kraków office", created_at=at(10, 18)),
        alert("A3", "DiskSpaceLow", "Gdańsk office", created_at=at(10, 19)),
    ]
    (advice,) = recommendations(OCTOBER, alerts)
    assert advice.kind == "recurring_alert"
    assert advice.title == "Recurring alert: DiskSpaceLow at Kraków office"
    assert "Extend the volume" in advice.detail and "network drive" in advice.detail
    assert advice.ticket_numbers == ("A1", "A2")


def test_recurring_alert_without_a_site_and_not_about_disks() -> None:
    alerts = [alert("B1", "InternetDown", None), alert("B2", "InternetDown", None)]
    (advice,) = recommendations(OCTOBER, alerts)
    assert advice.title == "Recurring alert: InternetDown"
    assert "network drive" not in advice.detail


def test_filesystem_alert_names_are_disk_alerts_whatever_the_case() -> None:
    alerts = [
        alert(None, "FILESYSTEM_almost_full", "HQ"),
        alert(None, "FILESYSTEM_almost_full", "HQ"),
    ]
    (advice,) = recommendations(OCTOBER, alerts)
    assert "network drive" in advice.detail


def test_three_identical_alerts_are_one_recurring_alert_not_also_a_recurring_problem() -> None:
    alerts = [alert(None, "DiskSpaceLow", "HQ") for _ in range(3)]
    assert kinds(recommendations(OCTOBER, alerts)) == ["recurring_alert"]


@pytest.mark.parametrize(
    "alerts",
    [
        [alert(None, "DiskSpaceLow", "HQ")],
        [alert(None, "DiskSpaceLow", "HQ"), alert(None, "DiskSpaceLow", "Branch")],
        [alert(None, "DiskSpaceLow", "HQ"), alert(None, "DiskSpaceLow", None)],
        [alert(None, "DiskSpaceLow", "HQ"), alert(None, "DiskSpaceLow", "HQ", created_at=at(9, 1))],
        [alert(None, "DiskSpaceLow", "HQ"), alert(None, "DiskSpaceLow", "HQ", channel="email")],
    ],
)
def test_recurring_alert_does_not_fire_below_its_threshold(alerts: list[TicketFacts]) -> None:
    assert recommendations(OCTOBER, alerts) == ()


def test_training_fires_at_three_questions_or_access_problems_of_one_person() -> None:
    person = {"requester": "Jan Kowalski", "requester_username": "jkowalski"}
    asked = [
        ticket("Q1", category="question", **person),
        ticket("Q2", category="account_access", **person),
        ticket("Q3", category="question", **person),
    ]
    (advice,) = recommendations(OCTOBER, asked)
    assert advice.kind == "training"
    assert advice.title == "Training for Jan Kowalski"
    assert "Jan Kowalski" in advice.detail and "3 times" in advice.detail
    assert advice.ticket_numbers == ("Q1", "Q2", "Q3")


@pytest.mark.parametrize(
    "third",
    [
        None,
        {"category": "software"},
        {"requester_username": "jkowalski2"},  # a namesake is another person
        {"created_at": at(11, 1)},
    ],
)
def test_training_does_not_fire_below_its_threshold(third: dict[str, Any] | None) -> None:
    person = {"requester": "Jan Kowalski", "requester_username": "jkowalski"}
    asked = [
        ticket(category="question", subject="How do I share a calendar?", **person),
        ticket(category="account_access", subject="Password expired", **person),
    ]
    if third is not None:
        asked.append(ticket(**{"category": "question", "subject": "VPN?", **person, **third}))
    assert recommendations(OCTOBER, asked) == ()


def answered(on_time: bool, number: str | None = None) -> TicketFacts:
    """A helpdesk ticket (reaction target only) answered in time or an hour late."""
    due = at(10, 6, 12)
    return ticket(
        number,
        service_type=HELPDESK,
        reaction_due_at=due,
        responded_at=due if on_time else due + timedelta(hours=1),
    )


def test_sla_risk_fires_below_95_percent() -> None:
    tickets = [answered(True) for _ in range(18)] + [answered(False, "LATE")]
    (advice,) = recommendations(OCTOBER, tickets)
    assert advice.kind == "sla_risk"
    assert advice.title == "Reaction SLA at risk"
    assert advice.detail.startswith("1 of 19 tickets breached the reaction target")
    assert advice.ticket_numbers == ("LATE",)


def test_sla_risk_does_not_fire_at_95_percent_or_without_breaches() -> None:
    exactly = [answered(True) for _ in range(19)] + [answered(False)]
    assert recommendations(OCTOBER, exactly) == ()
    assert recommendations(OCTOBER, [answered(True)]) == ()
    only_pending = [ticket(reaction_due_at=END + timedelta(hours=2), service_type=HELPDESK)]
    assert recommendations(OCTOBER, only_pending) == ()


def solved(first_contact: bool, number: str | None = None) -> TicketFacts:
    lines = frozenset({"L1"} if first_contact else {"L1", "L2"})
    return ticket(number, resolved_at=at(10, 8), status="closed", lines_reached=lines)


def test_fcr_below_goal_fires_below_90_percent() -> None:
    tickets = [solved(True) for _ in range(8)] + [solved(False, "L2-1")]
    (advice,) = recommendations(OCTOBER, tickets)
    assert advice.kind == "fcr_below_goal"
    assert advice.ticket_numbers == ("L2-1",)
    assert "89%" in advice.detail and "knowledge base" in advice.detail


def test_fcr_below_goal_does_not_fire_at_the_goal() -> None:
    assert recommendations(OCTOBER, [solved(True) for _ in range(9)] + [solved(False)]) == ()
    assert recommendations(OCTOBER, []) == ()


@pytest.mark.parametrize(
    ("expires_at", "minutes_used", "fires"),
    [
        (END + timedelta(days=31), 0, True),
        (END + timedelta(hours=1), 599, True),
        (END + timedelta(days=31, seconds=1), 0, False),  # further away than 31 days
        (END + timedelta(days=10), 600, False),  # nothing left to lose
        (END, 0, False),  # already expired at the period's end
    ],
)
def test_package_expiring_with_unused_hours(
    expires_at: datetime, minutes_used: int, fires: bool
) -> None:
    others = package(2, REPAIR, hours=20, price="2400")  # keeps the balance above 10 %
    expiring = package(1, REPAIR, minutes_used=minutes_used, expires_at=expires_at)
    advice = recommendations(OCTOBER, [], packages=(expiring, others))
    assert kinds(advice) == (["package"] if fires else [])
    if fires:
        assert advice[0].title == "Unused it service hours expire soon"
        assert "#1" in advice[0].detail


@pytest.mark.parametrize(("minutes_used", "fires"), [(540, False), (541, True), (600, True)])
def test_package_balance_below_ten_percent(minutes_used: int, fires: bool) -> None:
    # 10 h bought: 60 minutes left is exactly 10 %, not below it.
    advice = recommendations(OCTOBER, [], packages=(package(1, ADMIN, minutes_used=minutes_used),))
    assert kinds(advice) == (["package"] if fires else [])
    if fires:
        assert advice[0].title == "Top up it administration hours"


def test_package_balance_adds_up_the_packages_of_a_service_type() -> None:
    ten, twenty = package(1, ADMIN, hours=10), package(2, ADMIN, hours=20)
    low = (replace(ten, minutes_used=600), replace(twenty, minutes_used=1021))  # 179 of 1800
    assert kinds(recommendations(OCTOBER, [], packages=low)) == ["package"]
    enough = (replace(ten, minutes_used=600), replace(twenty, minutes_used=1020))  # 180 left
    assert recommendations(OCTOBER, [], packages=enough) == ()
    expired = replace(ten, expires_at=END - timedelta(days=1))  # its hours are gone anyway
    assert recommendations(OCTOBER, [], packages=(expired, twenty)) == ()


def test_recommendations_come_in_a_fixed_order() -> None:
    person = {"requester": "Jan Kowalski", "requester_username": "jkowalski"}
    tickets = [
        *[ticket(category="question", subject="Outlook", **person) for _ in range(3)],
        *[alert(None, "DiskSpaceLow", "HQ") for _ in range(2)],
        *[answered(False) for _ in range(2)],
        *[solved(False) for _ in range(2)],
    ]
    packages = (package(1, ADMIN, minutes_used=600),)
    advice = recommendations(OCTOBER, tickets, packages=packages)
    assert kinds(advice) == [
        "recurring_problem",
        "recurring_alert",
        "training",
        "sla_risk",
        "fcr_below_goal",
        "package",
    ]
    assert recommendations(OCTOBER, list(reversed(tickets)), packages=packages) == advice
    figures = period_figures(OCTOBER, tickets, packages=packages)
    assert figures.recommendations == advice


# --- month periods -----------------------------------------------------------------------


def test_march_in_warsaw_starts_in_winter_time_and_ends_in_summer_time() -> None:
    march = month_period(2026, 3, "Europe/Warsaw")
    assert march.start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert march.end == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert march.end - march.start == timedelta(days=31) - timedelta(hours=1)
    assert march.label == "2026-03"
    assert march.start.utcoffset() == timedelta(0)


def test_october_in_warsaw_is_an_hour_longer() -> None:
    october = month_period(2026, 10, "Europe/Warsaw")
    assert october.start == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert october.end == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert october.end - october.start == timedelta(days=31, hours=1)
    assert october.label == "2026-10"


def test_december_ends_with_the_next_year() -> None:
    december = month_period(2026, 12, "UTC")
    assert (december.start, december.end, december.label) == (
        at(12, 1),
        at(12, 31) + timedelta(days=1),
        "2026-12",
    )


@pytest.mark.parametrize("month", [0, 13, -1])
def test_month_must_be_a_calendar_month(month: int) -> None:
    with pytest.raises(ValueError, match="month"):
        month_period(2026, month, "Europe/Warsaw")


# --- properties --------------------------------------------------------------------------

_offsets = st.integers(min_value=-40 * 24, max_value=40 * 24).map(lambda h: timedelta(hours=h))


@st.composite
def any_ticket(draw: st.DrawFn) -> TicketFacts:
    created = OCTOBER.start + draw(_offsets)

    def later() -> datetime | None:
        return draw(st.none() | st.integers(0, 30 * 24).map(lambda h: created + timedelta(hours=h)))

    return ticket(
        created_at=created,
        responded_at=later(),
        reaction_due_at=later(),
        resolved_at=later(),
        resolution_due_at=later(),
        closed_at=later(),
        status=draw(st.sampled_from(["new", "in_progress", "resolved", "closed", "rejected"])),
        category=draw(st.sampled_from(["software", "hardware", "question"])),
        reopen_count=draw(st.integers(0, 2)),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(any_ticket(), max_size=25))
def test_figures_add_up(tickets: list[TicketFacts]) -> None:
    figures = period_figures(OCTOBER, tickets)
    created = [t for t in tickets if OCTOBER.start <= t.created_at < OCTOBER.end]
    assert figures.opened == len(created) == sum(figures.by_category.values())
    assert sum(figures.backlog_ageing.values()) == figures.backlog
    with_reaction_target = [t for t in created if t.reaction_due_at is not None]
    assert figures.reaction.met + figures.reaction.breached + figures.reaction.pending == len(
        with_reaction_target
    )
    counted = [t for t in created if t.resolution_due_at is not None and t.status != "rejected"]
    resolution = figures.resolution
    assert resolution.met + resolution.breached + resolution.pending == len(counted)
    if figures.first_contact_resolution is not None:
        assert 0 <= figures.first_contact_resolution <= 1


def test_a_field_visit_counts_as_an_escalation_to_the_2nd_line() -> None:
    # DOMAIN.md: the technician's visit is 2nd-line work, ordered by the 1st line.
    period = month_period(2026, 10, "Europe/Warsaw")
    visited = ticket(
        "FV1",
        created_at=period.start + timedelta(days=2),
        lines_reached=frozenset({"L1", "field"}),
        field_visits=1,
    )
    figures = period_figures(period, [visited])
    assert figures.escalations_by_line == {"L2": 1, "L3": 0}
    assert figures.field_visits == 1
