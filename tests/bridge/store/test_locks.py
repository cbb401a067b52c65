"""Advisory locks: one holder at a time across connections (PostgreSQL) or threads (SQLite)."""

from __future__ import annotations

import threading

from bridge.store import Store


def test_a_lock_is_exclusive_while_held_and_free_after(store: Store, database_url: str) -> None:
    other = Store.from_url(database_url)
    try:
        with store.advisory_lock("poller:gitlab") as held:
            assert held
            with store.advisory_lock("poller:gitlab") as again:
                assert not again  # another connection of the same process
            with store.advisory_lock("poller:ado") as different:
                assert different
            if store.is_postgres:
                with other.advisory_lock("poller:gitlab") as elsewhere:
                    assert not elsewhere  # another replica's pool
        with other.advisory_lock("poller:gitlab") as after:
            assert after
    finally:
        other.close()


def test_a_lock_is_released_when_the_block_raises(store: Store) -> None:
    class StopError(Exception):
        pass

    try:
        with store.advisory_lock("poller:servicenow") as held:
            assert held
            raise StopError
    except StopError:
        pass
    with store.advisory_lock("poller:servicenow") as held:
        assert held


def test_only_one_thread_holds_a_lock(store: Store) -> None:
    holders: list[bool] = []
    inside, release = threading.Barrier(4), threading.Event()

    def hold() -> None:
        with store.advisory_lock("poller:ado") as held:
            holders.append(held)
            inside.wait(timeout=10)
            release.wait(timeout=10)

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(holders) == [False, False, False, True]
