"""SQLite's one writer is taken in turn across threads and processes, never in SQLite's busy handler."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from bridge.domain.events import Source
from bridge.store import Store
from bridge.store.store import SqliteWriter

HOLD = textwrap.dedent(
    """
    import sys
    from bridge.store.store import SqliteWriter

    writer = SqliteWriter(sys.argv[1])
    with writer.turn():
        print("holding", flush=True)
        sys.stdin.readline()  # until the test says so
    print("released", flush=True)
    """
)


@pytest.mark.slow
def test_a_writer_in_another_process_waits_for_the_turn(tmp_path: Path) -> None:
    database = str(tmp_path / "bridge.db")
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert other.stdin is not None and other.stdout is not None
    try:
        assert other.stdout.readline().strip() == "holding"
        mine = SqliteWriter(database)
        got = threading.Event()

        def take() -> None:
            with mine.turn():
                got.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert not got.wait(0.3), "took the turn while another process held it"
        other.stdin.write("go\n")
        other.stdin.flush()
        assert got.wait(10), "never got the turn after the other process let it go"
        taker.join()
        mine.close()
    finally:
        other.kill()
        other.wait()
    assert (tmp_path / "bridge.db.writer-lock").exists()


def test_nested_transactions_of_one_thread_keep_the_turn_until_the_outermost_ends(tmp_path: Path) -> None:
    writer = SqliteWriter(str(tmp_path / "bridge.db"))
    other_got = threading.Event()

    def other() -> None:
        with writer.turn():
            other_got.set()

    with writer.turn():
        with writer.turn():
            pass
        thread = threading.Thread(target=other)
        thread.start()
        assert not other_got.wait(0.2), "the inner turn's end let another writer in"
    assert other_got.wait(10)
    thread.join()
    writer.close()


def test_an_in_memory_store_has_no_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a lock file for an unnamed database would land here
    store = Store.from_url("sqlite://")
    store.upgrade()
    with store.transaction() as tx:
        tx.cursors.save(Source.GITLAB, "projects", "c1")
    with store.transaction(readonly=True) as tx:
        assert tx.cursors.get(Source.GITLAB, "projects") == "c1"
    store.close()
    assert list(tmp_path.iterdir()) == []
