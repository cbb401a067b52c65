"""The Store: one engine, transactions with a manager per table, migrations, and advisory locks."""

from __future__ import annotations

import fcntl
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import URL

from bridge.store import migrate
from bridge.store.audit import AuditManager
from bridge.store.base import lock_key
from bridge.store.cursors import CursorManager
from bridge.store.decisions import (
    CarryForwardManager,
    ControlPointManager,
    FixManager,
    PlannedManager,
    SnapshotManager,
)
from bridge.store.engine import SQLITE_BEGIN, SqliteCheckpointer, make_engine, sqlite_file
from bridge.store.findings import FindingManager
from bridge.store.inbox import InboxManager
from bridge.store.journal import JournalManager
from bridge.store.ledger import LedgerManager
from bridge.store.links import LinkManager
from bridge.store.outbox import OutboxManager
from bridge.store.records import DefectManager, ReleaseManager, RfcManager
from bridge.store.systems import SystemManager

if TYPE_CHECKING:  # the store needs only the URL; configuration loading stays out of its imports
    from bridge.config import DatabaseSettings


class Tx:
    """One transaction, with a manager per table (`tx.outbox.claim_due(...)`); it commits when its `with`
    block ends. Every manager runs on the transaction's `connection`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.inbox = InboxManager(connection)
        self.journal = JournalManager(connection)
        self.releases = ReleaseManager(connection)
        self.rfcs = RfcManager(connection)
        self.defects = DefectManager(connection)
        self.links = LinkManager(connection)
        self.ledger = LedgerManager(connection)
        self.findings = FindingManager(connection)
        self.outbox = OutboxManager(connection)
        self.audit = AuditManager(connection)
        self.cursors = CursorManager(connection)
        self.control_points = ControlPointManager(connection)
        self.fixes = FixManager(connection)
        self.carry_forward = CarryForwardManager(connection)
        self.planned = PlannedManager(connection)
        self.snapshots = SnapshotManager(connection)
        self.systems = SystemManager(connection)


def _no_checkpoint_on_commit(dbapi_connection: Any, _record: Any) -> None:
    # The store's checkpointer moves the log into the database file (see SqliteCheckpointer).
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class SqliteWriter:
    """SQLite's one writer, taken in turn by this process's threads and, through a lock file beside
    the database, by the other processes on it (the service's HTTP, worker and pages processes).

    Writers queue here rather than in SQLite's busy handler, which sleeps up to 100 ms between tries:
    a long tail for webhook answers. The busy handler stays as the safety net for other writers.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0  # nested transactions of the thread holding the turn
        in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
        self._path = None if in_memory else Path(f"{database}.writer-lock")
        self._file: IO[bytes] | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            self._depth += 1
            try:
                if self._depth == 1 and self._path is not None:
                    if self._file is None:
                        self._file = self._path.open("ab")  # held for the store's life
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
                yield
            finally:
                if self._depth == 1 and self._file is not None:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._depth -= 1

    def close(self) -> None:
        with self._threads:
            if self._file is not None:
                self._file.close()
                self._file = None


class Store:
    """The bridge's database, SQLite or PostgreSQL, built from a URL; no global state."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local_locks: dict[str, threading.Lock] = {}
        self._local_locks_guard = threading.Lock()
        self._sqlite_writer = SqliteWriter(engine.url.database if engine.dialect.name == "sqlite" else None)
        database = sqlite_file(engine.url)
        self._checkpointer = SqliteCheckpointer(database) if database is not None else None
        if self._checkpointer is not None:
            event.listen(engine, "connect", _no_checkpoint_on_commit)
            # A store dropped without close() must not leave its thread checkpointing for ever.
            weakref.finalize(self, self._checkpointer.halt)

    @classmethod
    def from_url(cls, url: str | URL, **engine_options: Any) -> Store:
        """A store on `url` (sqlite:///path or postgresql+psycopg://...); options go to the engine."""
        return cls(make_engine(url, **engine_options))

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Store:
        """A store on the configured database."""
        return cls.from_url(settings.url)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Close the pool's connections."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()
        self._sqlite_writer.close()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """A transaction: committed when the block ends, rolled back if it raises.

        `readonly` lets SQLite readers run beside the writer (a deferred BEGIN) and makes
        PostgreSQL refuse writes; other transactions take SQLite's write lock up front.
        """
        options: dict[str, Any] = {}
        if readonly:
            options = {SQLITE_BEGIN: "DEFERRED"} if not self.is_postgres else {"postgresql_readonly": True}
        writer = self._sqlite_writer.turn() if not readonly and not self.is_postgres else nullcontext()
        if not readonly and self._checkpointer is not None:
            self._checkpointer.start()
        with writer, self.engine.connect().execution_options(**options) as connection, connection.begin():
            yield Tx(connection)

    @contextmanager
    def advisory_lock(self, name: str) -> Iterator[bool]:
        """Try to hold the lock `name` for the block; yields whether it was acquired (never waits).

        PostgreSQL: a session-level advisory lock on a dedicated connection, so one poller of a
        kind runs across every replica. SQLite serves one process, so the lock is local to it.
        """
        if not self.is_postgres:
            with self._local_lock(name) as acquired:
                yield acquired
            return
        key = lock_key(name)
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            acquired = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
            )
            try:
                yield acquired
            finally:
                if acquired:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    except Exception:
                        # A lock we cannot release must not go back to the pool with its session:
                        # discarding the connection ends the session, which releases the lock.
                        connection.invalidate()
                        raise
        finally:
            connection.close()

    @contextmanager
    def _local_lock(self, name: str) -> Iterator[bool]:
        with self._local_locks_guard:
            lock = self._local_locks.setdefault(name, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def upgrade(self) -> None:
        """Migrate the database to the newest schema."""
        migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        """The schema revision the database is at; None before the first upgrade."""
        return migrate.current_revision(self.engine)

    def is_up_to_date(self) -> bool:
        """Whether the schema is at the newest revision (for /readyz)."""
        return migrate.is_up_to_date(self.engine)
