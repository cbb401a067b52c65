"""Engines for the store's two backends: SQLite (embedded default) and PostgreSQL through psycopg 3."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
# How often a store's checkpointer moves SQLite's write-ahead log into the database file.
SQLITE_CHECKPOINT_EVERY_S = 0.5
# Execution option naming the BEGIN a SQLite transaction starts with (IMMEDIATE or DEFERRED).
SQLITE_BEGIN = "bridge_sqlite_begin"


def normalise_url(url: str | URL) -> URL:
    """The URL with psycopg 3 named as PostgreSQL's driver, whatever spelling the configuration used."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`, with the connection settings the store relies on."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling begins late and silently; SQLAlchemy's
        # documented remedy is to switch it off and emit BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets readers run beside the one writer; with synchronous=NORMAL a commit survives a
            # process crash (an OS crash may lose the last commits), at a fraction of FULL's fsyncs.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads then writes waits
        # (busy_timeout) rather than failing with SQLITE_BUSY halfway through.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    return engine


def sqlite_file(url: URL) -> str | None:
    """The database file a SQLite URL names; None for an in-memory database or another backend."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else database


class SqliteCheckpointer:
    """Moves SQLite's write-ahead log into the database file from a thread of its own, every
    SQLITE_CHECKPOINT_EVERY_S while its store is open.

    Left to itself, SQLite does that inside whichever commit takes the log past 1,000 pages: that
    commit (an event's, a webhook's) then waits while megabytes are written and synced, holding the one
    writer's turn. Here a commit only appends to the log. A passive checkpoint waits for nobody: it
    moves what no reader still needs, and the log restarts from its beginning once all of it is moved.
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        """Start checkpointing, if not started yet."""
        with self._guard:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"sqlite-checkpoint {self.database}", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Checkpoint once more, then stop."""
        thread = self.halt()
        if thread is not None:
            thread.join()

    def halt(self) -> threading.Thread | None:
        """Tell the thread to checkpoint once more and end, without waiting for it; returns it."""
        with self._guard:
            self._stop.set()
            return self._thread

    def _run(self) -> None:
        timeout_s = SQLITE_BUSY_TIMEOUT_MS / 1000
        connection = sqlite3.connect(self.database, timeout=timeout_s, isolation_level=None)
        failing = False
        try:
            while True:
                stopping = self._stop.wait(SQLITE_CHECKPOINT_EVERY_S)
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    failing = False
                except sqlite3.Error as exc:
                    if not failing:  # said once, not every half second
                        log.warning("SQLite checkpoint of %s failed: %s", self.database, exc)
                    failing = True
                if stopping:
                    return
        finally:
            connection.close()
