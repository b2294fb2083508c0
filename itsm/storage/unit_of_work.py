"""One transaction per use case: everything a step changes commits together or not at all."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from itsm.domain.errors import ConflictError
from itsm.storage.repositories import (
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

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        connection.begin()
        self._connection = connection
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

    def commit(self) -> None:
        assert self._connection is not None, "commit outside the unit of work"
        try:
            self._connection.commit()
        except OperationalError as err:
            # PostgreSQL serialization failures / SQLite busy after the timeout.
            raise ConflictError(f"the change could not be saved concurrently: {err.orig}") from err
