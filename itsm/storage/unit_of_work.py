"""One transaction per use case: everything a step changes commits together or not at all."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from itsm.domain.errors import ConflictError
from itsm.storage.database import READ_ONLY_OPTION
from itsm.storage.inbound import InboundMessages
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
    inbound: InboundMessages

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        if self._read_only:
            connection.execution_options(**{READ_ONLY_OPTION: True})
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
        self.inbound = InboundMessages(connection)
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
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            self._connection.commit()
        except OperationalError as err:
            # PostgreSQL serialization failures / SQLite busy after the timeout.
            raise ConflictError(f"the change could not be saved concurrently: {err.orig}") from err
