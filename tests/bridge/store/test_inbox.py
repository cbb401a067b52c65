"""The inbox: a delivery is stored once, claimed, processed or rescheduled, and its lag is measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.events import Source
from bridge.store import InboxKind, Store
from bridge.store.inbox import Delivery

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def test_the_same_delivery_twice_is_one_row_reported_duplicate(store: Store) -> None:
    with store.transaction() as tx:
        first = tx.inbox.put(Source.GITLAB, "idem-1", InboxKind.WEBHOOK, {"tag": "v1.0.0.0"}, now=T0)
    with store.transaction() as tx:
        second = tx.inbox.put(Source.GITLAB, "idem-1", InboxKind.WEBHOOK, {"tag": "changed"}, now=T0)
        other_source = tx.inbox.put(Source.ADO, "idem-1", InboxKind.WEBHOOK, {}, now=T0)

    assert not first.duplicate
    assert second.duplicate
    assert second.id == first.id
    assert not other_source.duplicate
    with store.transaction() as tx:
        row = tx.inbox.get(first.id)
        assert row is not None
        assert row.payload == {"tag": "v1.0.0.0"}
        assert tx.inbox.stats(now=T0).unprocessed == 2


def test_many_deliveries_at_once_each_answered_in_order_new_or_already_there(store: Store) -> None:
    with store.transaction() as tx:
        old = tx.inbox.put(Source.ADO, "old", InboxKind.POLL, {"n": 0}, now=T0)
    deliveries = [
        Delivery(Source.GITLAB, "a", InboxKind.WEBHOOK, {"n": 1}),
        Delivery(Source.ADO, "old", InboxKind.WEBHOOK, {"n": 2}),
        Delivery(Source.GITLAB, "b", InboxKind.WEBHOOK, {"n": 3}),
        Delivery(Source.GITLAB, "a", InboxKind.WEBHOOK, {"n": 4}),  # twice among them
        Delivery(Source.ADO, "a", InboxKind.POLL, {"n": 5}),  # the same key from another system
    ]
    with store.transaction() as tx:
        puts = tx.inbox.put_many(deliveries, now=T0)
        assert tx.inbox.put_many([], now=T0) == []
    assert [put.duplicate for put in puts] == [False, True, False, True, False]
    assert puts[1].id == old.id and puts[3].id == puts[0].id
    assert len({puts[0].id, puts[2].id, puts[4].id, old.id}) == 4
    with store.transaction(readonly=True) as tx:
        stored = {put.id: tx.inbox.get(put.id) for put in puts}
    assert {i: (r.delivery_key, r.payload["n"]) for i, r in stored.items() if r} == {
        old.id: ("old", 0),
        puts[0].id: ("a", 1),
        puts[2].id: ("b", 3),
        puts[4].id: ("a", 5),
    }
    # Many more than one statement's worth of keys already there.
    again = [Delivery(Source.GITLAB, f"k{n}", InboxKind.POLL, {}) for n in range(1200)]
    with store.transaction() as tx:
        first = tx.inbox.put_many(again, now=T0)
        second = tx.inbox.put_many(again, now=T0)
    assert not any(p.duplicate for p in first) and all(p.duplicate for p in second)
    assert [p.id for p in first] == [p.id for p in second]


def test_claimed_rows_are_processed_once_in_order(store: Store) -> None:
    with store.transaction() as tx:
        ids = [
            tx.inbox.put(Source.ADO, f"48211:{rev}", InboxKind.POLL, {"rev": rev}, now=T0).id
            for rev in range(1, 4)
        ]
    with store.transaction() as tx:
        claimed = tx.inbox.claim_due(2, now=T0)
        assert [row.id for row in claimed] == ids[:2]
        for row in claimed:
            tx.inbox.mark_processed(row.id, now=T0 + timedelta(seconds=1))
    with store.transaction() as tx:
        assert [row.id for row in tx.inbox.claim_due(10, now=T0)] == ids[2:]
        stats = tx.inbox.stats(now=T0 + timedelta(seconds=5))
    assert (stats.unprocessed, stats.processed, stats.failing) == (1, 2, 0)
    assert stats.oldest_unprocessed_at == T0
    assert stats.lag == timedelta(seconds=5)


def test_a_failed_row_is_rescheduled_not_lost(store: Store) -> None:
    with store.transaction() as tx:
        put = tx.inbox.put(Source.SERVICENOW, "abc:3", InboxKind.FETCH, {}, correlation_id="c-1", now=T0)
    with store.transaction() as tx:
        tx.inbox.mark_failed(put.id, "boom", now=T0)
    with store.transaction() as tx:
        assert tx.inbox.claim_due(10, now=T0) == []  # backing off
        row = tx.inbox.get(put.id)
        assert row is not None
        assert (row.attempts, row.last_error, row.correlation_id) == (1, "boom", "c-1")
        assert row.available_at > T0
        assert [r.id for r in tx.inbox.claim_due(10, now=T0 + timedelta(minutes=5))] == [put.id]
        assert tx.inbox.stats(now=T0).failing == 1
    with store.transaction() as tx:
        tx.inbox.mark_failed(put.id, "again", retry_at=T0 + timedelta(hours=2), now=T0)
        assert tx.inbox.claim_due(10, now=T0 + timedelta(hours=1)) == []
        tx.inbox.mark_processed(put.id, now=T0 + timedelta(hours=2))
        stats = tx.inbox.stats(now=T0 + timedelta(hours=3))
    assert (stats.unprocessed, stats.processed, stats.lag) == (0, 1, timedelta(0))
    assert stats.oldest_unprocessed_at is None


def test_old_processed_rows_are_pruned(store: Store) -> None:
    with store.transaction() as tx:
        old = tx.inbox.put(Source.ADO, "old", InboxKind.POLL, {}, now=T0)
        recent = tx.inbox.put(Source.ADO, "recent", InboxKind.POLL, {}, now=T0)
        waiting = tx.inbox.put(Source.ADO, "waiting", InboxKind.POLL, {}, now=T0)
        tx.inbox.mark_processed(old.id, now=T0)
        tx.inbox.mark_processed(recent.id, now=T0 + timedelta(days=30))
        assert tx.inbox.prune(T0 + timedelta(days=7)) == 1
        assert tx.inbox.get(old.id) is None
        assert tx.inbox.get(recent.id) is not None
        assert tx.inbox.get(waiting.id) is not None


def test_an_empty_inbox_has_no_lag(store: Store) -> None:
    with store.transaction(readonly=True) as tx:
        stats = tx.inbox.stats(now=T0)
    assert (stats.unprocessed, stats.failing, stats.processed, stats.lag) == (0, 0, 0, timedelta(0))


def test_processors_claim_disjoint_rows(store: Store) -> None:
    with store.transaction() as tx:
        ids = [tx.inbox.put(Source.ADO, f"d:{n}", InboxKind.POLL, {}, now=T0).id for n in range(5)]
    with store.transaction() as first:
        held = [row.id for row in first.inbox.claim_due(2, now=T0)]
        assert held == ids[:2]
        if store.is_postgres:
            # A second processor, while the first still holds its rows, gets the others.
            with store.transaction() as second:
                assert [row.id for row in second.inbox.claim_due(10, now=T0)] == ids[2:]
        for inbox_id in held:
            first.inbox.mark_processed(inbox_id, now=T0)
    with store.transaction() as tx:
        assert [row.id for row in tx.inbox.claim_due(10, now=T0)] == ids[2:]


def test_a_read_only_transaction_leaves_its_connection_writable(database_url: str) -> None:
    store = Store.from_url(database_url, pool_size=1, max_overflow=0)
    try:
        with store.transaction(readonly=True) as tx:
            assert tx.inbox.stats(now=T0).unprocessed == 0
        with store.transaction() as tx:
            assert not tx.inbox.put(Source.ADO, "d", InboxKind.POLL, {}, now=T0).duplicate
    finally:
        store.close()
