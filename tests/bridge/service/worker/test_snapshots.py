"""Snapshots of the engine's state: a start reads the newest one and the journal after it, the journal
behind a snapshot can be compacted, and what the worker stored stays the same."""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.codec import encode_event
from bridge.domain.events import ChangeUpdated, DomainEvent, JournalEntry, RfcState
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from bridge.service.worker.processor import Processor
from bridge.service.worker.snapshots import decode_state, encode_state
from bridge.store import Store
from bridge.store.inbox import InboxKind
from bridge.store.journal import journal_identity
from support.histories import histories
from support.programme import at, context, defect, release, rfc

CONTEXT = context()


def _state(events: list[DomainEvent]) -> ProgrammeState:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return state


@settings(max_examples=60, deadline=None)
@given(histories(varied=True), st.booleans())
def test_a_snapshot_reads_back_the_state_it_was_made_from(events: list[DomainEvent], notes: bool) -> None:
    if notes:
        note = JournalEntry(at(3), "Deployment Team", "deployed, one retry")
        events = [*events, rfc("CHG0031000", RfcState.IMPLEMENT, mod=9, updated=at(3), work_notes=(note,))]
    state = _state(events)
    assert decode_state(encode_state(state)) == state


def _programme() -> list[DomainEvent]:
    return [
        release("1.0.1.0", fixed=(48201, 48202), rfc="CHG0031245", published=at(0)),
        release("1.0.2.0", fixed=(48203, 48204), rfc="CHG0031246", published=at(10)),
        rfc("CHG0031245", RfcState.SCHEDULED, mod=1, updated=at(1)),
        rfc("CHG0031245", RfcState.REVIEW, mod=2, updated=at(2)),
        rfc("CHG0031246", RfcState.SCHEDULED, mod=1, updated=at(11)),
        rfc("CHG0031246", RfcState.IMPLEMENT, mod=2, updated=at(12)),
        *(defect(d, "Fixed", rev=2) for d in (48201, 48202, 48203)),
        defect(48204, "In Progress", rev=2),
    ]


def _seed(store: Store, events: list[DomainEvent]) -> None:
    with store.transaction() as tx:
        for event in events:
            key = ":".join(journal_identity(event))
            tx.inbox.put(event.source, key, InboxKind.POLL, {"event": encode_event(event)})


def again_now() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def _processor(store: Store, **options: object) -> Processor:
    return Processor(store, {}, CONTEXT, **options)  # type: ignore[arg-type]


def _stored(store: Store) -> tuple[object, ...]:
    with store.transaction(readonly=True) as tx:
        return (
            sorted((f.code, f.subject, f.message) for f in tx.findings.list()),
            sorted((link.kind.value, link.left, link.right) for link in tx.links.list()),
            sorted(
                (r.environment, r.component, r.version, r.deployed_to, r.rolled_back)
                for r in tx.ledger.list()
            ),
            sorted(a.key for a in tx.outbox.list()),
        )


def test_a_start_reads_the_snapshot_and_only_the_journal_after_it(store: Store) -> None:
    first = _processor(store, snapshot_every=5)
    _seed(store, _programme())
    while first.process_inbox():
        pass
    with store.transaction(readonly=True) as tx:
        snapshot = tx.snapshots.newest()
        _, newest = tx.journal.span()
    assert snapshot is not None and snapshot.journal_id == newest
    before = _stored(store)

    # Everything the snapshot holds leaves the journal: a start that replayed the journal would see nothing.
    with store.transaction() as tx:
        assert tx.journal.compact(before=again_now()) == newest
        assert tx.journal.span() == (0, 0)

    again = _processor(store, snapshot_every=5)
    _seed(store, [defect(48204, "Fixed", rev=3)])
    while again.process_inbox():
        pass
    assert again.state.releases.keys() == first.state.releases.keys()
    assert again.planner.plan() == plan(again.state, CONTEXT, again.clock())
    after = _stored(store)
    assert "move_defect:48204:3:Ready for Retest" not in before[3]  # 1.0.2.0 is not deployed yet
    assert after[:3] == before[:3]


def test_compacting_keeps_rfc_revisions_and_whatever_no_snapshot_holds(store: Store) -> None:
    worker = _processor(store, snapshot_every=10_000)
    _seed(store, _programme())
    while worker.process_inbox():
        pass
    with store.transaction() as tx:
        assert tx.journal.compact(before=again_now()) == 0, "nothing goes without a snapshot"
    held = worker.snapshot()
    _seed(store, [defect(48204, "Resolved", rev=3)])
    while worker.process_inbox():
        pass
    gone = worker.compact(timedelta(seconds=0))
    with store.transaction(readonly=True) as tx:
        left = tx.journal.after(0)
        revisions = tx.journal.of(
            ChangeUpdated, {e.sys_id for e in _programme() if isinstance(e, ChangeUpdated)}
        )
    assert gone > 0
    assert all(isinstance(event, ChangeUpdated) or row_id > held for row_id, event in left)
    assert len(revisions) == 4, "the RFCs' revisions stay for the release timelines"


def test_an_unreadable_snapshot_is_passed_over_and_the_journal_replayed(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    worker = _processor(store)
    _seed(store, _programme())
    while worker.process_inbox():
        pass
    with store.transaction() as tx:
        tx.snapshots.save(worker.last_journal_id, b"not a snapshot", format=1)
    with caplog.at_level(logging.WARNING):
        again = _processor(store)
        again.refresh()
    assert "unreadable" in caplog.text
    assert again.state == worker.state


def test_a_worker_of_its_own_freezes_its_heap_once_its_first_plan_is_stored(store: Store) -> None:
    before = gc.get_freeze_count()
    try:
        shared = _processor(store)
        _seed(store, _programme())
        shared.process_inbox()
        assert gc.get_freeze_count() == before  # a shared process (this one) is never frozen

        alone = _processor(store, freeze_heap=True)
        alone.refresh()
        frozen = gc.get_freeze_count()
        assert frozen > before
        _seed(store, [defect(48204, "Fixed", rev=3)])
        while alone.process_inbox():
            pass
        # Once, at the first plan only (frozen objects freed meanwhile leave the count).
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_a_start_plans_with_the_collector_paused_and_resumes_it_as_it_was(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(store, _programme())
    _processor(store).refresh()
    seen: list[bool] = []
    build = Processor._store_plan

    def storing(processor: Processor, whole: Plan) -> None:
        seen.append(gc.isenabled())
        build(processor, whole)

    monkeypatch.setattr(Processor, "_store_plan", storing)
    assert gc.isenabled()
    started = _processor(store)
    started.refresh()
    assert seen == [False], "the whole plan is built and stored with the collector paused"
    assert gc.isenabled(), "and it runs again after"
    assert started.planner.plan() == plan(started.state, CONTEXT, started.clock())

    def failing(processor: Processor, whole: Plan) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Processor, "_store_plan", failing)
    with pytest.raises(OSError, match="disk full"):
        _processor(store).refresh()
    assert gc.isenabled(), "a start that fails leaves the collector running"

    monkeypatch.setattr(Processor, "_store_plan", storing)
    gc.disable()
    try:
        _processor(store).refresh()
        assert not gc.isenabled(), "a collector paused by its process stays paused"
    finally:
        gc.enable()
    assert seen == [False, False]
