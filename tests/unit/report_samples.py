"""Sample inputs for the monthly report: a month of 40 tickets and an empty month.

Built directly from the KPI dataclasses, so renderer tests do not depend on how the figures
are computed. Deterministic: the same call gives the same figures.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from itsm.domain.kpis import (
    FCR_GOAL,
    Compliance,
    HoursSummary,
    PackageFacts,
    Period,
    PeriodFigures,
    Recommendation,
    TicketFacts,
)
from itsm.domain.report import ReportHeader
from itsm.domain.sla import ServiceType

CLIENT_ZONE = "Europe/Warsaw"
OCTOBER = Period(
    start=datetime(2026, 9, 30, 22, 0, tzinfo=UTC),  # 1 Oct, midnight in Warsaw
    end=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    label="2026-10",
)
HOSTILE_SUBJECT = '<script>alert(1)</script> & "x"'
FORMULA_SUBJECT = "=cmd|' /C calc'!A0"
POLISH_SUBJECT = "Drukarka w księgowości nie drukuje – zażółć gęślą jaźń"

_SUBJECTS = (
    POLISH_SUBJECT,
    "Brak dostępu do udziału sieciowego",
    "Outlook nie łączy się z serwerem",
    "Wymiana dysku w laptopie",
    "Nowe konto dla pracownika działu sprzedaży",
    "VPN rozłącza się co godzinę",
    "Aktualizacja oprogramowania księgowego",
    "Pytanie o licencję Office",
)
_CATEGORIES = ("hardware", "software", "network", "account_access", "question")
_CHANNELS = ("email", "portal", "phone", "monitoring", "sms")
_STATUSES = ("closed", "closed", "resolved", "in_progress", "closed", "escalated")
_PEOPLE = ("Łukasz Żółkiewski", "Agnieszka Wróbel", "Paweł Ślusarczyk", "Zofia Dąbrowska")
_ENGINEERS = ("Jan Nowak", "Anna Kowalska", None)


def ticket(index: int, **changes: Any) -> TicketFacts:
    created = OCTOBER.start + timedelta(days=index % 28, hours=8 + index % 9)
    status = _STATUSES[index % len(_STATUSES)]
    done = status in ("closed", "resolved")
    lines = frozenset({"L1", "L2"} if index % 5 == 0 else {"L1"})
    facts = TicketFacts(
        id=index + 1,
        number=f"ACME-2026-{index + 1:04d}",
        client_code="ACME",
        sla_tier="gold",
        subject=_SUBJECTS[index % len(_SUBJECTS)],
        category=_CATEGORIES[index % len(_CATEGORIES)],
        channel=_CHANNELS[index % len(_CHANNELS)],
        priority=f"P{1 + index % 4}",
        service_type=list(ServiceType)[index % 3],
        status=status,
        requester=_PEOPLE[index % len(_PEOPLE)],
        requester_username=f"user{index % len(_PEOPLE)}",
        assignee=_ENGINEERS[index % len(_ENGINEERS)],
        site="Kraków, ul. Długa 5" if index % 2 else None,
        created_at=created,
        # Every seventh ticket answered late, so the ticket list shows breaches.
        responded_at=created + timedelta(hours=6 if index % 7 == 0 else 1),
        resolved_at=created + timedelta(hours=20) if done else None,
        closed_at=created + timedelta(days=2) if status == "closed" else None,
        closure="confirmed" if status == "closed" else None,
        reaction_due_at=created + timedelta(hours=4),
        resolution_due_at=created + timedelta(hours=24),
        reopen_count=0,
        lines_reached=lines,
        vendor_name="Orange Polska" if index % 11 == 0 else None,
        field_visits=1 if index % 13 == 0 else 0,
        minutes_spent=15 + (index * 7) % 120,
    )
    return replace(facts, **changes)


def tickets(count: int = 40) -> tuple[TicketFacts, ...]:
    made = [ticket(i) for i in range(count)]
    made[3] = replace(made[3], subject=HOSTILE_SUBJECT)
    made[4] = replace(made[4], subject=FORMULA_SUBJECT, requester="+48 600 100 200")
    return tuple(made)


def packages() -> tuple[PackageFacts, ...]:
    return (
        PackageFacts(
            package_id=1,
            service_type=ServiceType.HELPDESK,
            hours=20,
            price_pln=Decimal("1440.00"),
            purchased_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            expires_at=datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
            minutes_used=690,
            minutes_used_in_period=330,
        ),
        PackageFacts(
            package_id=2,
            service_type=ServiceType.IT_ADMINISTRATION,
            hours=10,
            price_pln=Decimal("1800.00"),
            purchased_at=datetime(2026, 4, 2, 9, 0, tzinfo=UTC),
            expires_at=datetime(2026, 10, 2, 9, 0, tzinfo=UTC),
            minutes_used=480,
            minutes_used_in_period=60,
        ),
    )


def figures(count: int = 40) -> PeriodFigures:
    made = tickets(count)
    return PeriodFigures(
        period=OCTOBER,
        opened=count,
        resolved=27,
        closed=20,
        backlog=13,
        backlog_ageing={"< 1 day": 2, "1-3 days": 5, "3-7 days": 4, "> 7 days": 2},
        reaction=Compliance(met=34, breached=6, pending=0),
        resolution=Compliance(met=25, breached=2, pending=13),
        first_contact_resolution=0.8125,
        fcr_goal=FCR_GOAL,
        mtta_hours=1.7142857,
        mttr_hours=19.95,
        escalations_by_line={"L2": 8, "L3": 1},
        vendor_hand_offs=4,
        field_visits=4,
        by_category={
            "hardware": 8,
            "software": 8,
            "network": 8,
            "account_access": 8,
            "question": 8,
        },
        by_channel={"email": 16, "portal": 12, "phone": 8, "monitoring": 4},
        hours=HoursSummary(
            minutes_by_service={
                ServiceType.HELPDESK: 330,
                ServiceType.IT_ADMINISTRATION: 150,
                ServiceType.IT_SERVICE: 95,
            },
            cost_pln=Decimal("1234.5"),
            packages=packages(),
            uncovered_minutes=185,
        ),
        recommendations=(
            Recommendation(
                kind="recurring_problem",
                title="Powtarzająca się awaria drukarki",
                detail="Pięć zgłoszeń dotyczyło tej samej drukarki; zalecamy jej wymianę.",
                ticket_numbers=("ACME-2026-0001", "ACME-2026-0009"),
            ),
            Recommendation(
                kind="training",
                title="Szkolenie z poczty <Outlook>",
                detail="Użytkownicy często pytają o konfigurację skrzynki & kalendarza.",
            ),
        ),
        tickets=made,
    )


def empty_figures() -> PeriodFigures:
    return PeriodFigures(
        period=OCTOBER,
        opened=0,
        resolved=0,
        closed=0,
        backlog=0,
        backlog_ageing={},
        reaction=Compliance(met=0, breached=0, pending=0),
        resolution=Compliance(met=0, breached=0, pending=0),
        first_contact_resolution=None,
        fcr_goal=FCR_GOAL,
        mtta_hours=None,
        mttr_hours=None,
        escalations_by_line={},
        vendor_hand_offs=0,
        field_visits=0,
        by_category={},
        by_channel={},
        hours=None,
    )


def header(language: str = "pl") -> ReportHeader:
    return ReportHeader(
        client_name="Przedsiębiorstwo Łączność Sp. z o.o.",
        client_code="ACME",
        sla_tier="gold",
        coordinator_name="Małgorzata Źrebiec",
        provider_name="Serwis IT Żyrardów",
        generated_at=datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
        language=language,
    )
