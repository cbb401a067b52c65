"""The outbox: one row per effect key, committed with its transaction, claimed once, retried as rows."""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import (
    Action,
    AddWorkNote,
    CheckAncestry,
    CreateRfcDraft,
    Hyperlink,
    MoveDefect,
    SetCorrelation,
)
from bridge.domain.events import Source
from bridge.store import ActionStatus, Completion, Store, completion_for
from bridge.store.outbox import ACTION_TYPES, DRY_RUN, decode_action, encode_action

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def _note(n: int) -> AddWorkNote:
    return AddWorkNote(rfc_sys_id="s1", rfc_number="CHG0031245", text=f"note {n}")


def _move(defect_id: int) -> MoveDefect:
    return MoveDefect(
        defect_id=defect_id,
        expected_rev=3,
        from_state="Resolved",
        to_state="Ready for Retest",
        comment="deployed",
        deployment="SIT-A:dip-platform:1.0.2.0",
        links=(Hyperlink("https://gitlab.example/r", "release"),),
    )


class RollbackError(Exception):
    pass


def test_enqueued_actions_vanish_with_a_rolled_back_transaction(store: Store) -> None:
    with pytest.raises(RollbackError), store.transaction() as tx:
        assert tx.outbox.enqueue([_note(1), _note(1)], now=T0) == [_note(1).key]
        raise RollbackError
    with store.transaction(readonly=True) as tx:
        assert tx.outbox.list() == []


def test_an_action_whose_key_exists_is_not_added_again(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.outbox.enqueue([_note(1), _note(1), _move(5)], cause="inbox:1", now=T0) == [
            _note(1).key,
            _move(5).key,
        ]
    with store.transaction() as tx:
        assert tx.outbox.enqueue([_note(1)], cause="inbox:2", now=T0) == []
    with store.transaction(readonly=True) as tx:
        rows = tx.outbox.list()
        assert sorted(row.key for row in rows) == sorted([_note(1).key, _move(5).key])
        note = tx.outbox.by_key(_note(1).key)
        assert note is not None
        assert (note.status, note.cause, note.target, note.attempts) == (
            ActionStatus.PENDING,
            "inbox:1",
            Source.SERVICENOW,
            0,
        )
        assert note.action() == _note(1)
        assert tx.outbox.counts()[ActionStatus.PENDING] == 2


def test_an_action_planned_again_waits_again_only_if_it_was_superseded_or_skipped_by_a_dry_run(
    store: Store,
) -> None:
    # More than one statement's worth of keys (500 a statement), as a worker's first plan offers.
    superseded = [_move(n) for n in range(600)]
    dry_run, done, skipped, waiting = _move(1000), _move(1001), _move(1002), _move(1003)
    with store.transaction() as tx:
        tx.outbox.enqueue([*superseded, dry_run, done, skipped, waiting], now=T0)
        assert tx.outbox.supersede([a.key for a in superseded], kinds=("move_defect",), now=T0) == 600
        claimed = {row.key: row for row in tx.outbox.claim_due(Source.ADO, 10_000, "w", now=T0)}
        ended = {
            dry_run.key: Completion.skipped(DRY_RUN),
            done.key: Completion.done(),
            skipped.key: Completion.skipped("already in Ready for Retest"),
        }
        for key, completion in ended.items():
            assert tx.outbox.complete(claimed[key].id, completion, now=T0)
        tx.outbox.complete(claimed[waiting.key].id, Completion.retry(T0, "503 from ADO"), now=T0)
        assert tx.outbox.settled_keys() == {done.key, skipped.key, waiting.key}
    later = T0 + timedelta(hours=1)
    fresh = _move(2000)
    offered = [dry_run, *reversed(superseded), done, skipped, waiting, fresh, dry_run, superseded[0]]
    with store.transaction() as tx:
        added = tx.outbox.enqueue(offered, now=later)
    # In the order offered, each key once: the new one and those a plan or a dry run had put aside.
    assert added == [dry_run.key, *(a.key for a in reversed(superseded)), fresh.key]
    with store.transaction(readonly=True) as tx:
        for action in [dry_run, *superseded]:
            row = tx.outbox.by_key(action.key)
            assert row is not None
            assert (row.status, row.detail, row.next_attempt_at) == (ActionStatus.PENDING, None, later)
        statuses = {a.key: tx.outbox.by_key(a.key) for a in (done, skipped, waiting)}
        assert {key: (row.status if row else None) for key, row in statuses.items()} == {
            done.key: ActionStatus.DONE,
            skipped.key: ActionStatus.SKIPPED,
            waiting.key: ActionStatus.RETRY,
        }


def test_actions_round_trip_through_their_json() -> None:
    actions: list[Action] = [
        _move(5),
        _note(1),
        SetCorrelation("s1", "dip-platform:1.0.2.0", "dip-platform 1.0.2.0"),
        CheckAncestry("mhhs/dip", "v1.0.1.1", "v1.0.2.0"),
        CreateRfcDraft("dip-platform:1.0.2.0", "Deploy dip-platform 1.0.2.0", "", None),
    ]
    assert {action.kind for action in actions} <= set(ACTION_TYPES)
    for action in actions:
        assert decode_action(action.kind, encode_action(action)) == action
    with pytest.raises(ValueError, match="unknown action kind"):
        decode_action("launch_rocket", {})


def test_an_action_is_stored_as_the_same_json_as_its_dataclass_fields() -> None:
    """Rows enqueued before the codec wrote actions (dataclasses.asdict) and after are alike."""
    actions: list[Action] = [
        _move(5),
        replace(_move(6), links=()),
        _note(1),
        SetCorrelation("s1", "dip-platform:1.0.2.0", "dip-platform 1.0.2.0"),
        CheckAncestry("mhhs/dip", "v1.0.1.1", "v1.0.2.0"),
        CreateRfcDraft("dip-platform:1.0.2.0", "Deploy dip-platform 1.0.2.0", "", "SIT-A"),
    ]
    for action in actions:
        assert json.dumps(encode_action(action)) == json.dumps(dataclasses.asdict(action))


def test_claim_takes_due_rows_of_one_target_once(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.enqueue([_note(1), _note(2), _move(5)], now=T0)
    with store.transaction() as tx:
        assert (
            tx.outbox.claim_due(Source.SERVICENOW, 10, "w1", now=T0 - timedelta(seconds=1)) == []
        )  # not due yet
        claimed = tx.outbox.claim_due(Source.SERVICENOW, 10, "w1", now=T0)
    assert [row.key for row in claimed] == [_note(1).key, _note(2).key]
    assert all(row.status is ActionStatus.RUNNING and row.claimed_by == "w1" for row in claimed)
    assert all(row.attempts == 1 and row.claimed_at == T0 for row in claimed)
    with store.transaction() as tx:
        assert tx.outbox.claim_due(Source.SERVICENOW, 10, "w2", now=T0 + timedelta(seconds=20)) == []
        assert [row.key for row in tx.outbox.claim_due(Source.ADO, 10, "w2", now=T0)] == [_move(5).key]


def test_a_renewed_claim_is_held_a_lease_from_its_renewal_and_only_by_its_holder(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.enqueue([_note(1), _note(2)], now=T0)
    with store.transaction() as tx:
        held = tx.outbox.claim_due(Source.SERVICENOW, 2, "w1", now=T0)
    lease = timedelta(seconds=30)
    renewed = T0 + timedelta(seconds=25)
    with store.transaction() as tx:
        assert tx.outbox.renew([row.id for row in held], "someone-else", now=renewed) == 0
        assert tx.outbox.renew([held[0].id], "w1", now=renewed) == 1
        assert tx.outbox.renew([], "w1", now=renewed) == 0
    with store.transaction() as tx:
        # The one not renewed is taken over once its lease runs out; the renewed one is still held.
        (taken,) = tx.outbox.claim_due(
            Source.SERVICENOW, 2, "w2", now=T0 + lease + timedelta(seconds=1), lease=lease
        )
        assert taken.id == held[1].id
        (late,) = tx.outbox.claim_due(
            Source.SERVICENOW, 2, "w2", now=renewed + lease + timedelta(seconds=1), lease=lease
        )
        assert late.id == held[0].id
        # A claim taken over is no longer the old holder's to renew.
        assert tx.outbox.renew([held[0].id], "w1", now=renewed + lease) == 0


def test_a_claim_older_than_the_lease_is_taken_again(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.enqueue([_note(1)], now=T0)
    with store.transaction() as tx:
        (first,) = tx.outbox.claim_due(Source.SERVICENOW, 1, "crashed", now=T0)
    lease = timedelta(minutes=5)
    with store.transaction() as tx:
        assert tx.outbox.claim_due(Source.SERVICENOW, 1, "w2", now=T0 + lease, lease=lease) == []
        (again,) = tx.outbox.claim_due(
            Source.SERVICENOW, 1, "w2", now=T0 + lease + timedelta(seconds=1), lease=lease
        )
    assert again.id == first.id
    assert (again.claimed_by, again.attempts) == ("w2", 2)
    with store.transaction() as tx:
        # The crashed worker's late answer is refused; the current holder's is recorded.
        assert not tx.outbox.complete(first.id, Completion.done(), worker="crashed", now=T0 + lease)
        assert tx.outbox.complete(first.id, Completion.done("written"), worker="w2", now=T0 + lease)
        row = tx.outbox.get(first.id)
    assert row is not None
    assert (row.status, row.detail) == (ActionStatus.DONE, "written")


def test_an_action_whose_workers_keep_dying_is_dead(store: Store) -> None:
    lease = timedelta(minutes=5)
    with store.transaction() as tx:
        tx.outbox.enqueue([_note(1)], now=T0)
    at = T0
    for attempt in (1, 2, 3):
        with store.transaction() as tx:
            (row,) = tx.outbox.claim_due(
                Source.SERVICENOW, 1, f"w{attempt}", now=at, lease=lease, max_attempts=3
            )
        assert row.attempts == attempt
        at += lease + timedelta(seconds=1)
    with store.transaction() as tx:
        assert tx.outbox.claim_due(Source.SERVICENOW, 1, "w4", now=at, lease=lease, max_attempts=3) == []
        (dead,) = tx.outbox.list(ActionStatus.DEAD)
    assert dead.attempts == 3
    assert dead.last_error is not None and "abandoned" in dead.last_error


def test_retry_dead_and_revive(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.enqueue([_move(5), _move(6)], now=T0)
    with store.transaction() as tx:
        five, six = tx.outbox.claim_due(Source.ADO, 2, "w", now=T0)
        later = T0 + timedelta(minutes=2)
        assert tx.outbox.complete(five.id, Completion.retry(later, "503 from ADO"), now=T0)
        assert tx.outbox.complete(six.id, Completion.dead("400: field is read-only"), now=T0)
        assert not tx.outbox.complete(six.id, Completion.done(), now=T0)  # no longer running
    with store.transaction() as tx:
        assert tx.outbox.claim_due(Source.ADO, 10, "w", now=later - timedelta(seconds=1)) == []
        (retried,) = tx.outbox.claim_due(Source.ADO, 10, "w", now=later)
        assert (retried.id, retried.attempts, retried.last_error) == (five.id, 2, "503 from ADO")
        assert tx.outbox.complete(retried.id, Completion.skipped("already in Ready for Retest"), now=later)
        dead = tx.outbox.list(ActionStatus.DEAD)
        assert [row.id for row in dead] == [six.id]
        assert dead[0].last_error == "400: field is read-only"
        counts = tx.outbox.counts()
        assert (counts[ActionStatus.SKIPPED], counts[ActionStatus.DEAD], counts[ActionStatus.DONE]) == (
            1,
            1,
            0,
        )
    with store.transaction() as tx:
        assert tx.outbox.retry_dead(five.id, now=later) == 0  # not dead
        assert tx.outbox.retry_dead(six.id, now=later) == 1
        assert tx.outbox.retry_dead(now=later) == 0
        (revived,) = tx.outbox.claim_due(Source.ADO, 10, "w", now=later)
    assert (revived.id, revived.attempts, revived.status) == (six.id, 1, ActionStatus.RUNNING)


def test_retry_dead_revives_every_dead_action(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.enqueue([_move(n) for n in range(4)], now=T0)
        for row in tx.outbox.claim_due(Source.ADO, 10, "w", now=T0):
            tx.outbox.complete(row.id, Completion.dead("gone"), now=T0)
        assert tx.outbox.retry_dead(now=T0) == 4
        assert tx.outbox.counts()[ActionStatus.PENDING] == 4


def test_outcomes_become_completions() -> None:
    def outcome(status: OutcomeStatus, **kwargs: object) -> ActionOutcome:
        return ActionOutcome("k", status, **kwargs)  # type: ignore[arg-type]

    assert completion_for(outcome(OutcomeStatus.DONE), attempts=1, now=T0) == Completion.done()
    assert completion_for(
        outcome(OutcomeStatus.SKIPPED, detail="same"), attempts=1, now=T0
    ) == Completion.skipped("same")
    assert completion_for(outcome(OutcomeStatus.CONFLICT), attempts=1, now=T0).status is ActionStatus.SKIPPED
    retry = completion_for(outcome(OutcomeStatus.RETRY, retry_after_s=30.0, detail="429"), attempts=1, now=T0)
    assert retry == Completion.retry(T0 + timedelta(seconds=30), "429")
    jittered = completion_for(outcome(OutcomeStatus.RETRY), attempts=3, now=T0)
    assert jittered.next_attempt_at is not None
    assert T0 <= jittered.next_attempt_at <= T0 + timedelta(minutes=2)
    assert completion_for(outcome(OutcomeStatus.RETRY), attempts=8, now=T0).status is ActionStatus.DEAD
    assert completion_for(outcome(OutcomeStatus.FAILED, detail="400"), attempts=1, now=T0) == Completion.dead(
        "400"
    )


def test_concurrent_dispatchers_never_claim_the_same_row(store: Store) -> None:
    total, workers = 300, 4
    with store.transaction() as tx:
        tx.outbox.enqueue([_move(n) for n in range(total)], now=T0)
    claimed: dict[str, list[int]] = {f"w{n}": [] for n in range(workers)}
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def dispatch(worker: str) -> None:
        try:
            start.wait()
            while True:
                with store.transaction() as tx:
                    rows = tx.outbox.claim_due(Source.ADO, 7, worker, now=T0)
                    claimed[worker].extend(row.id for row in rows)
                if not rows:
                    return
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=dispatch, args=(worker,)) for worker in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    every = [action_id for ids in claimed.values() for action_id in ids]
    assert len(every) == total
    assert len(set(every)) == total
    if store.is_postgres:
        assert sum(1 for ids in claimed.values() if ids) > 1  # they really did share the work


def test_the_moves_of_some_defects_are_theirs_alone(store: Store) -> None:
    # 7, 70 and 700 share a prefix: a key's range must end at the id, not run into the next one.
    back = MoveDefect(
        7, 4, "Ready for Retest", "Resolved", "rolled back", "SIT-A:x:1:CHG1", reason="rollback"
    )
    with store.transaction() as tx:
        tx.outbox.enqueue(
            [_move(7), _move(70), _move(700), _note(7), back, *(_move(n) for n in range(1000, 1450))]
        )
    with store.transaction(readonly=True) as tx:
        assert [row.key for row in tx.outbox.moves_of([7])] == [_move(7).key, back.key]
        assert {row.payload["defect_id"] for row in tx.outbox.moves_of([70, 700, 9])} == {70, 700}
        # More ids than one statement takes are read in parts, each once.
        many = tx.outbox.moves_of(range(1000, 1450))
        assert [row.payload["defect_id"] for row in many] == list(range(1000, 1450))
        assert tx.outbox.moves_of([]) == []
