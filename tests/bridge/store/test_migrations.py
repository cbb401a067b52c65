"""Migrations: an empty database reaches the head revision, and the result matches the models."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, StatementError

from bridge.domain.events import Source
from bridge.store import InboxKind, RfcRow, Store, current_revision, head_revision, is_up_to_date, upgrade
from bridge.store.engine import make_engine
from bridge.store.schema import metadata


def test_an_empty_database_is_migrated_to_head(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    assert not is_up_to_date(empty_database_url)

    upgrade(empty_database_url)

    assert current_revision(empty_database_url) == head_revision()
    assert is_up_to_date(empty_database_url)


def test_each_revision_keeps_the_data_before_it(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0001")
    assert current_revision(empty_database_url) == "0001"
    store = Store.from_url(empty_database_url)
    try:
        record = RfcRow("s1", "CHG0031245", "review", 4, datetime(2024, 5, 1, tzinfo=UTC), {"type": "normal"})
        with store.transaction() as tx:
            tx.rfcs.upsert(record)
        store.upgrade()
        with store.transaction(readonly=True) as tx:
            assert tx.rfcs.get("s1") == record
    finally:
        store.close()


def test_upgrading_twice_changes_nothing(empty_database_url: str) -> None:
    store = Store.from_url(empty_database_url)
    try:
        store.upgrade()
        store.upgrade()
        assert store.is_up_to_date()
        assert store.current_revision() == head_revision()
    finally:
        store.close()


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_the_audit_trail_cannot_be_edited(store: Store) -> None:
    with store.transaction() as tx:
        tx.audit.append(Source.ADO, "defect:1", "state Resolved -> Ready for Retest", "deployed")
    for statement in ("UPDATE audit SET reason = 'no'", "DELETE FROM audit"):
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
            tx.connection.execute(text(statement))
    with store.transaction() as tx:
        assert [entry.reason for entry in tx.audit.list()] == ["deployed"]


def test_a_sqlite_file_is_created_with_its_folder_and_durable_settings(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "var" / "bridge.db"
    store = Store.from_url(f"sqlite:///{path}")
    try:
        store.upgrade()
        assert path.is_file()
        with store.transaction(readonly=True) as tx:
            pragma = tx.connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
    finally:
        store.close()


def test_a_postgresql_url_without_a_driver_uses_psycopg() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1/test")
    try:
        assert make_url(engine.url).get_driver_name() == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.slow
def test_replicas_starting_together_migrate_once(empty_database_url: str) -> None:
    # Separate processes, as replicas are: each runs Alembic on its own connection.
    code = "import sys; from bridge.store import upgrade; upgrade(sys.argv[1])"
    replicas = [
        subprocess.Popen([sys.executable, "-c", code, empty_database_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    failures = [
        err for replica in replicas if (err := replica.communicate(timeout=120)[1]) and replica.returncode
    ]
    assert failures == []
    assert is_up_to_date(empty_database_url)


def test_threads_of_one_process_migrate_one_at_a_time(empty_database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def migrate() -> None:
        try:
            start.wait()
            upgrade(empty_database_url)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert is_up_to_date(empty_database_url)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.transaction() as tx:
        tx.inbox.put(Source.ADO, "d", InboxKind.POLL, {}, now=datetime(2024, 5, 1, 10, 0))


def test_each_time_is_stored_as_its_own_utc_instant_however_often_it_is_bound(store: Store) -> None:
    """The bound form of a time is remembered between rows; a different time must never reuse it."""
    first = datetime(2024, 5, 1, 11, 0, 0, 1, tzinfo=timezone(timedelta(hours=1)))
    second = datetime(2024, 5, 1, 10, 0, 0, 2, tzinfo=UTC)
    times = [first, first, second, first, second + timedelta(0), first.astimezone(UTC)]
    with store.transaction() as tx:
        ids = [tx.inbox.put(Source.ADO, f"d{n}", InboxKind.POLL, {}, now=at).id for n, at in enumerate(times)]
    with store.transaction(readonly=True) as tx:
        stored = [tx.inbox.get(inbox_id) for inbox_id in ids]
    assert [row.received_at if row else None for row in stored] == times
    assert all(row is not None and row.received_at.tzinfo is UTC for row in stored)


def test_a_read_only_transaction_refuses_writes_on_postgresql(store: Store) -> None:
    if not store.is_postgres:
        pytest.skip("SQLite's read-only transactions only decline the write lock up front")
    with pytest.raises(DBAPIError, match="read-only"), store.transaction(readonly=True) as tx:
        tx.inbox.put(Source.ADO, "d", InboxKind.POLL, {})


def test_the_moves_already_in_the_outbox_get_their_defect(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0005")
    engine = make_engine(empty_database_url)
    at = datetime(2024, 5, 1, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for n, key in enumerate(
                ["move_defect:48211:4:Ready for Retest", "add_work_note:CHG0031245:ab12"]
            ):
                connection.execute(
                    text(
                        "INSERT INTO outbox (id, key, kind, target, payload, status, attempts,"
                        " next_attempt_at, created_at, updated_at)"
                        " VALUES (:id, :key, :kind, 'ado', '{}', 'done', 1, :at, :at, :at)"
                    ),
                    {"id": n + 1, "key": key, "kind": key.partition(":")[0], "at": at},
                )
        upgrade(empty_database_url)
        with engine.connect() as connection:
            found = {
                key: defect for key, defect in connection.execute(text("SELECT key, defect_id FROM outbox"))
            }
    finally:
        engine.dispose()
    assert found == {"move_defect:48211:4:Ready for Retest": 48211, "add_work_note:CHG0031245:ab12": None}
    store = Store.from_url(empty_database_url)
    try:
        with store.transaction(readonly=True) as tx:
            assert [row.key for row in tx.outbox.moves_of([48211])] == [
                "move_defect:48211:4:Ready for Retest"
            ]
    finally:
        store.close()


def test_the_releases_already_stored_get_their_version_order(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0005")
    engine = make_engine(empty_database_url)
    at = datetime(2024, 5, 1, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for tag, version in [("a/1.0.10.0", "1.0.10.0"), ("a/1.0.9.0", "1.0.9.0"), ("a/next", "next")]:
                connection.execute(
                    text(
                        "INSERT INTO releases (project, tag, component, version, note_text, note_source,"
                        " removed, revision, read_at, stored_at)"
                        " VALUES ('g/a', :tag, 'a', :version, '', 'release', false, :tag, :at, :at)"
                    ),
                    {"tag": tag, "version": version, "at": at},
                )
        upgrade(empty_database_url)
        with engine.connect() as connection:
            query = "SELECT version FROM releases ORDER BY version_order DESC"
            newest_first = [version for (version,) in connection.execute(text(query))]
    finally:
        engine.dispose()
    assert newest_first == ["next", "1.0.10.0", "1.0.9.0"]
