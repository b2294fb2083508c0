"""Storage on both databases: migrations, UTC instants, numbering, optimistic locking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itsm.domain.calendar import default_polish_calendar
from itsm.domain.errors import ConflictError
from itsm.domain.sla import ServiceType
from itsm.storage.database import create_database_engine
from itsm.storage.migrate import current_revision
from itsm.storage.unit_of_work import SqlUnitOfWork

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Warsaw switches to summer time


@pytest.fixture
def uow_factory(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_database_engine(database_url)
    yield lambda: SqlUnitOfWork(engine)
    engine.dispose()


def add_client(uow: SqlUnitOfWork) -> int:
    return uow.directory.add_client(
        code="T",
        name="Test",
        sla_tier="gold",
        default_service_type="helpdesk",
        language="en",
        calendar=default_polish_calendar([]),
        created_at=NOW,
    )


def test_schema_is_at_the_newest_revision(database_url: str) -> None:
    from alembic.script import ScriptDirectory

    from itsm.storage.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"migrations must form one line, found heads {heads}"
    assert current_revision(database_url) == heads[0]


def test_instants_come_back_as_the_same_aware_utc_instant(uow_factory) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        client_id = add_client(uow)
        uow.commit()
    with uow_factory() as uow:
        client = uow.directory.client(client_id)
        assert client.calendar.timezone == "Europe/Warsaw"
        uow.work.add_package(
            client_id=client_id,
            service_type=ServiceType.HELPDESK,
            hours=10,
            price_pln=810,
            purchased_at=NOW,
            expires_at=NOW + timedelta(days=180),
        )
        [balance] = uow.work.package_balances(client_id)
        assert balance.purchased_at == NOW and balance.purchased_at.tzinfo is not None
        assert balance.expires_at - balance.purchased_at == timedelta(days=180)


def test_naive_datetimes_are_refused(uow_factory) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow, pytest.raises(Exception, match="naive"):
        uow.directory.add_client(
            code="N",
            name="Naive",
            sla_tier="gold",
            default_service_type="helpdesk",
            language="en",
            calendar=default_polish_calendar([]),
            created_at=datetime(2026, 1, 1),
        )


def test_ticket_numbers_count_up_per_counter(uow_factory) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        assert [uow.tickets.next_sequence("HD-2026") for _ in range(3)] == [1, 2, 3]
        assert uow.tickets.next_sequence("HD-2027") == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.tickets.next_sequence("HD-2026") == 4


def test_rolled_back_work_leaves_nothing(uow_factory) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        add_client(uow)  # no commit
    with uow_factory() as uow:
        assert uow.directory.clients() == []


def test_stale_instance_version_is_a_conflict(uow_factory) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        client_id = add_client(uow)
        person_id = uow.directory.add_person(
            username="r", full_name="R", role="requester", client_id=client_id
        )
        ticket = uow.tickets.add(
            number="HD-2026-000001",
            client_id=client_id,
            requester_id=person_id,
            channel="api",
            category="question",
            subject="s",
            description="d",
            impact="low",
            urgency="low",
            service_type="helpdesk",
            change_type="none",
            status="new",
            created_at=NOW,
        )
        definition = uow.processes.add_definition(
            key="p",
            content_hash="h",
            bpmn_xml="<x/>",
            dmn_xml={},
            forms={},
            deployed_by="t",
            deployed_at=NOW,
            comment="",
        )
        instance_id = uow.processes.add_instance(
            ticket_id=ticket.id,
            definition_id=definition.id,
            state="{}",
            status="running",
            next_timer_at=None,
            at=NOW,
        )
        uow.commit()
    with uow_factory() as uow:
        assert (
            uow.processes.save_instance(
                instance_id,
                expected_version=1,
                state="{1}",
                status="running",
                next_timer_at=None,
                at=NOW,
            )
            == 2
        )
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError, match="changed by someone else"):
        uow.processes.save_instance(
            instance_id,
            expected_version=1,
            state="{stale}",
            status="running",
            next_timer_at=None,
            at=NOW,
        )
    with uow_factory() as uow:
        assert uow.processes.instance(instance_id).state == "{1}"


def test_readers_and_writers_do_not_wait_for_each_other(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with SqlUnitOfWork(engine, read_only=True) as reader:
            assert reader.directory.clients() == []
            # Before read-only units existed, this writer waited out the busy timeout.
            with SqlUnitOfWork(engine) as writer:
                add_client(writer)
                writer.commit()
            with SqlUnitOfWork(engine) as writer, SqlUnitOfWork(engine, read_only=True) as other:
                assert writer.tickets.next_sequence("HD-2026") == 1
                assert other.directory.clients()[0].code == "T"
                writer.commit()
        with SqlUnitOfWork(engine, read_only=True) as reader, pytest.raises(RuntimeError):
            reader.commit()
    finally:
        engine.dispose()


def test_concurrent_first_tickets_of_a_year_get_distinct_numbers(database_url: str) -> None:
    import threading

    engine = create_database_engine(database_url)
    numbers: list[int] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        with SqlUnitOfWork(engine) as uow:
            numbers.append(uow.tickets.next_sequence("HD-2027"))
            uow.commit()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert sorted(numbers) == [1, 2, 3, 4]
