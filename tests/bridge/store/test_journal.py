"""The journal keeps each revision of each record once and hands them back in recorded order."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.domain.events import RfcState
from bridge.store import Store
from support.programme import defect, release, rfc


def test_each_revision_is_recorded_once_and_read_back_in_order(store: Store) -> None:
    t = datetime(2024, 3, 4, 9, tzinfo=UTC)
    first = [
        release("1.0.2.0", fixed=(1,)),
        rfc("CHG0000001", RfcState.NEW, mod=1, updated=t),
        defect(1, "Fixed", rev=2),
    ]
    with store.transaction() as tx:
        assert tx.journal.append(first) == 3
    with store.transaction() as tx:
        assert tx.journal.append([first[1], defect(1, "Fixed", rev=3)]) == 1
    with store.transaction(readonly=True) as tx:
        rows = tx.journal.after(0)
        assert [event for _, event in rows] == [*first, defect(1, "Fixed", rev=3)]
        last = rows[1][0]
        assert [event for _, event in tx.journal.after(last)] == [first[2], defect(1, "Fixed", rev=3)]


def test_a_rolled_back_transaction_records_nothing(store: Store) -> None:
    try:
        with store.transaction() as tx:
            tx.journal.append([defect(7, "New", rev=1)])
            raise RuntimeError("the processor failed before committing")
    except RuntimeError:
        pass
    with store.transaction(readonly=True) as tx:
        assert tx.journal.after(0) == []
