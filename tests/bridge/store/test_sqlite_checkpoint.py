"""SQLite's write-ahead log is moved into the database file by the store's own thread, never inside a
commit."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

from sqlalchemy import text

from bridge.domain.events import Source
from bridge.store import Store
from bridge.store.engine import SQLITE_CHECKPOINT_EVERY_S
from bridge.store.inbox import Delivery, InboxKind

PAYLOAD = {"note": "x" * 4000}  # a delivery of about a page


def _checkpointers(database: Path) -> list[threading.Thread]:
    """The checkpointing threads of the stores on `database`."""
    return [t for t in threading.enumerate() if t.name == f"sqlite-checkpoint {database}"]


def _fill(store: Store, deliveries: int, start: int = 0) -> None:
    with store.transaction() as tx:
        tx.inbox.put_many(
            [
                Delivery(Source.GITLAB, f"delivery-{n}", InboxKind.WEBHOOK, PAYLOAD)
                for n in range(start, start + deliveries)
            ]
        )


def test_a_commit_never_checkpoints_and_the_store_moves_the_log_itself(tmp_path: Path) -> None:
    database = tmp_path / "bridge.db"
    store = Store.from_url(f"sqlite:///{database}")
    store.upgrade()
    try:
        with store.transaction() as tx:
            assert tx.connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        before = database.stat().st_size
        # Well past the 1,000 pages after which a commit would otherwise checkpoint.
        for batch in range(6):
            _fill(store, 250, start=batch * 250)
        deadline = time.monotonic() + 20 * SQLITE_CHECKPOINT_EVERY_S + 5
        while database.stat().st_size < before + 4_000_000 and time.monotonic() < deadline:
            time.sleep(SQLITE_CHECKPOINT_EVERY_S / 5)
        assert database.stat().st_size >= before + 4_000_000, "the log was not moved into the file"
        with store.transaction(readonly=True) as tx:
            assert tx.inbox.stats().unprocessed == 1500
        assert _checkpointers(database)
    finally:
        store.close()
    assert not _checkpointers(database)


def test_a_store_that_only_reads_starts_no_checkpointer(tmp_path: Path) -> None:
    database = tmp_path / "bridge.db"
    writer = Store.from_url(f"sqlite:///{database}")
    writer.upgrade()
    writer.close()
    reader = Store.from_url(f"sqlite:///{database}")
    try:
        with reader.transaction(readonly=True) as tx:
            assert tx.inbox.stats().unprocessed == 0
        assert not _checkpointers(database)
    finally:
        reader.close()


def test_an_in_memory_store_needs_no_checkpointer() -> None:
    def checkpointing() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("sqlite-checkpoint")}

    before = checkpointing()
    store = Store.from_url("sqlite://")
    try:
        store.upgrade()
        with store.transaction() as tx:
            tx.inbox.put_many([Delivery(Source.ADO, "one", InboxKind.WEBHOOK, PAYLOAD)])
        assert checkpointing() <= before
    finally:
        store.close()


def test_a_store_dropped_without_closing_stops_checkpointing(tmp_path: Path) -> None:
    database = tmp_path / "bridge.db"
    store = Store.from_url(f"sqlite:///{database}")
    store.upgrade()
    _fill(store, 1)
    (thread,) = _checkpointers(database)
    del store
    gc.collect()
    thread.join(timeout=10 * SQLITE_CHECKPOINT_EVERY_S)
    assert not thread.is_alive()
