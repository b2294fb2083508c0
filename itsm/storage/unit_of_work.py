"""One transaction per use case: everything a step changes commits together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from itsm.domain.errors import ConflictError
from itsm.faults import fault_point
from itsm.storage.database import READ_ONLY_OPTION
from itsm.storage.drafts import DraftRepository
from itsm.storage.inbound import InboundMessages
from itsm.storage.notices import NoticeBoard
from itsm.storage.report_archive import ReportArchive
from itsm.storage.reporting import ReportQueries
from itsm.storage.repositories import (
    ApiTokenRepository,
    AttachmentRepository,
    AuditLog,
    CommentRepository,
    DirectoryRepository,
    HumanTaskRepository,
    KnowledgeBase,
    Outbox,
    ProcessRepository,
    SessionRepository,
    TicketRepository,
    WorkLog,
)
from itsm.storage.sla import SlaRepository


class SqlUnitOfWork:
    directory: DirectoryRepository
    tickets: TicketRepository
    processes: ProcessRepository
    tasks: HumanTaskRepository
    audit: AuditLog
    outbox: Outbox
    knowledge: KnowledgeBase
    work: WorkLog
    sessions: SessionRepository
    comments: CommentRepository
    attachments: AttachmentRepository
    api_tokens: ApiTokenRepository
    inbound: InboundMessages
    sla: SlaRepository
    notices: NoticeBoard
    reporting: ReportQueries
    reports: ReportArchive
    drafts: DraftRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None
        self._broken = False

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        if self._read_only:
            connection.execution_options(**{READ_ONLY_OPTION: True})
        connection.begin()
        self._connection = connection
        self._broken = False
        self.directory = DirectoryRepository(connection)
        self.tickets = TicketRepository(connection)
        self.processes = ProcessRepository(connection)
        self.tasks = HumanTaskRepository(connection)
        self.audit = AuditLog(connection)
        self.outbox = Outbox(connection)
        self.knowledge = KnowledgeBase(connection)
        self.work = WorkLog(connection)
        self.sessions = SessionRepository(connection)
        self.comments = CommentRepository(connection)
        self.attachments = AttachmentRepository(connection)
        self.api_tokens = ApiTokenRepository(connection)
        self.inbound = InboundMessages(connection)
        self.sla = SlaRepository(connection)
        self.notices = NoticeBoard(connection)
        self.reporting = ReportQueries(connection)
        self.reports = ReportArchive(connection)
        self.drafts = DraftRepository(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection = self._connection
        self._connection = None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()
        # Two writers colliding on a unique key or a lock is a conflict to report, not a crash.
        if isinstance(exc, IntegrityError | DBAPIError) and _is_concurrency_error(exc):
            raise ConflictError("the change collided with a concurrent one; try again") from exc

    def commit(self) -> None:
        assert self._connection is not None, "commit outside the unit of work"
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._broken:
            raise RuntimeError("a savepoint could not be closed: this unit of work must not commit")
        fault_point("uow.before_commit")
        try:
            self._connection.commit()
        except OperationalError as err:
            # PostgreSQL serialization failures / SQLite busy after the timeout.
            raise ConflictError(f"the change could not be saved concurrently: {err.orig}") from err
        fault_point("uow.after_commit")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what runs inside on an exception (a failing service task's writes) and
        keep the rest of the transaction. If the savepoint itself cannot be rolled back or
        released, the transaction's content is unknown: the unit of work refuses to commit."""
        assert self._connection is not None, "savepoint outside the unit of work"
        nested = self._connection.begin_nested()
        try:
            yield
        except BaseException:
            try:
                nested.rollback()
            except BaseException:
                self._broken = True
                raise
            raise
        try:
            nested.commit()
        except BaseException:
            self._broken = True
            raise


def _is_concurrency_error(error: BaseException) -> bool:
    """Unique-key collisions and lock/serialization failures; other integrity errors
    (a foreign key, a NOT NULL) are bugs and stay loud."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    # 23505 unique violation, 40001 serialization failure, 40P01 deadlock, 55P03 lock timeout.
    if code in {"23505", "40001", "40P01", "55P03"}:
        return True
    text = str(getattr(error, "orig", error))
    return "UNIQUE constraint failed" in text or "database is locked" in text
