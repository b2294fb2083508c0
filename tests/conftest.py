"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server), real engine,
real BPMN from ``bpmn/``, a manual clock."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from itsm.bootstrap import Services, build
from itsm.clock import ManualClock
from itsm.directory_seed import SeededDirectory, seed_directory
from itsm.process_files import read_process_source
from itsm.services.service_tasks import ServiceFunction
from itsm.settings import PROJECT_ROOT, Settings
from itsm.storage.migrate import upgrade_database
from itsm.storage.tables import metadata

os.environ.setdefault("DO_NOT_TRACK", "1")

LIFECYCLE_BPMN = PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"
START = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)  # a Monday, 9:00 in Warsaw


EXTERNAL_DIR = Path(
    os.environ.get("ITSM_EXTERNAL_DIR", PROJECT_ROOT.parent / "shared" / "external")
)


@pytest.fixture(scope="session")
def external() -> Path:
    """Models, e-mails and alerts written by others (``../shared/external``)."""
    if not (EXTERNAL_DIR / "bpmn").is_dir():
        message = (
            f"external test material not found at {EXTERNAL_DIR}; clone the repository "
            "beside shared/ or set ITSM_EXTERNAL_DIR"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return EXTERNAL_DIR


def _postgres_admin_url() -> str:
    return os.environ.get("ITSM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A fresh database for this test session (and xdist worker) on the PostgreSQL server."""
    admin_url = _postgres_admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as err:
        admin.dispose()
        message = (
            f"PostgreSQL not reachable at {admin_url} ({type(err).__name__}). Start a "
            "server with trust auth on 127.0.0.1:5432 (database 'test') or set "
            "ITSM_TEST_POSTGRES_URL to enable these tests."
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"itsm_test_{os.getpid()}_{worker_id}".replace("-", "_")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "itsm.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "itsm.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def build_desk(
    url: str,
    clock: ManualClock,
    *,
    functions: Mapping[str, ServiceFunction] | None = None,
    **settings: object,
) -> tuple[Services, SeededDirectory]:
    """A seeded desk with the lifecycle deployed; ``functions`` replace the service-task
    functions (default: the bundled ones)."""
    services = build(
        Settings(database_url=url, attachments_dir=Path(tempfile.mkdtemp()), **settings),  # type: ignore[arg-type]
        clock=clock,
        functions=functions,
        fast_password_hashing=True,
    )
    with services.unit_of_work() as uow:
        seeded = seed_directory(uow, services.catalog, clock.now())
        uow.commit()
    services.processes.deploy(read_process_source(LIFECYCLE_BPMN), "test-setup", "bundled")
    return services, seeded


def resent_as(raw: bytes, from_header: str, message_id: str, extra: bytes = b"") -> bytes:
    """A corpus message as if another mail system had sent it: From and Message-ID replaced
    (folded continuation lines too), Sender dropped, ``extra`` header lines added."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and dropping:
            continue
        dropping = line.lower().startswith((b"from:", b"message-id:", b"sender:"))
        if not dropping:
            kept.append(line)
    new_head = [f"From: {from_header}".encode(), f"Message-ID: <{message_id}>".encode()]
    new_head += [extra] if extra else []
    return b"\r\n".join(new_head + kept) + (sep or b"\r\n\r\n") + body


def worker_processes() -> list[int]:
    """Live isolated script workers (``itsm.engine.isolated``) started by this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"isolated_worker" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def desk(database_url: str, clock: ManualClock) -> Iterator[Services]:
    """Services on a seeded database with the bundled lifecycle deployed."""
    services, _ = build_desk(database_url, clock)
    yield services
    services.close()


@pytest.fixture
def sqlite_desk(sqlite_url: str, clock: ManualClock) -> Iterator[Services]:
    services, _ = build_desk(sqlite_url, clock)
    yield services
    services.close()
