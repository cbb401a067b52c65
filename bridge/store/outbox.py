"""The outbox: actions committed with the state they come from, claimed by dispatchers, retried as rows.

A claim is a row update: PostgreSQL skips rows another dispatcher holds (FOR UPDATE SKIP LOCKED);
a claim older than the lease belongs to a worker that died and is taken again, so a dispatcher renews
the lease of what it holds while it works (`renew`). A retry is the row rescheduled
(`next_attempt_at`), never a sleeping process.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast, get_args

from sqlalchemy import Row, and_, bindparam, func, or_, select, update

from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Action, MoveDefect
from bridge.domain.codec import decode, encode
from bridge.domain.events import Source
from bridge.store.base import Manager, utcnow
from bridge.store.retry import DEFAULT_MAX_ATTEMPTS, next_attempt_at
from bridge.store.schema import outbox

# Short, because a live dispatcher renews its claims (a third of a lease apart): a dead one's claims
# are taken over within a lease and a renewal.
DEFAULT_LEASE = timedelta(seconds=30)
# Why supersede_waiting skipped an action, and why a dry run did; one planned again waits again.
SUPERSEDED = "no longer wanted: the newest plan does not include it"
DRY_RUN = "dry run: not written"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Each action's kind is its class name in snake case (MoveDefect: move_defect).
ACTION_TYPES: dict[str, type[Any]] = {_snake(cls.__name__): cls for cls in get_args(Action)}


class ActionStatus(StrEnum):
    """Where an action stands."""

    PENDING = "pending"  # waiting for its first attempt
    RUNNING = "running"  # claimed by a dispatcher (until its lease runs out)
    DONE = "done"  # written
    SKIPPED = "skipped"  # nothing to write; `detail` says why
    RETRY = "retry"  # failed transiently; due again at `next_attempt_at`
    DEAD = "dead"  # failed for good; waits for an operator's retry_dead


@dataclass(frozen=True)
class OutboxRow:
    """An action in the outbox with its state of delivery."""

    id: int
    key: str
    kind: str
    target: Source
    payload: dict[str, Any]
    status: ActionStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    detail: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    cause: str | None
    created_at: datetime
    updated_at: datetime

    def action(self) -> Action:
        """The action this row holds."""
        return decode_action(self.kind, self.payload)


@dataclass(frozen=True)
class Completion:
    """What to record of an attempt: done, skipped (why), retry (when, what failed) or dead (what failed)."""

    status: ActionStatus
    detail: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None

    @classmethod
    def done(cls, detail: str | None = None) -> Completion:
        return cls(ActionStatus.DONE, detail=detail)

    @classmethod
    def skipped(cls, reason: str) -> Completion:
        return cls(ActionStatus.SKIPPED, detail=reason)

    @classmethod
    def retry(cls, next_attempt_at: datetime, error: str) -> Completion:
        return cls(ActionStatus.RETRY, error=error, next_attempt_at=next_attempt_at)

    @classmethod
    def dead(cls, error: str) -> Completion:
        return cls(ActionStatus.DEAD, error=error)


def completion_for(
    outcome: ActionOutcome,
    *,
    attempts: int,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Completion:
    """How a writer's outcome is recorded: a conflict is finished (the engine decides again on the
    fresh record), a transient failure is retried until `max_attempts`, then the action is dead."""
    if outcome.status is OutcomeStatus.DONE:
        return Completion.done(outcome.detail or None)
    if outcome.status is OutcomeStatus.SKIPPED:
        return Completion.skipped(outcome.detail or "nothing to write")
    if outcome.status is OutcomeStatus.CONFLICT:
        return Completion.skipped(f"conflict: {outcome.detail}" if outcome.detail else "conflict")
    if outcome.status is OutcomeStatus.RETRY:
        due = next_attempt_at(attempts, now, retry_after_s=outcome.retry_after_s, max_attempts=max_attempts)
        if due is not None:
            return Completion.retry(due, outcome.detail or "transient failure")
        return Completion.dead(f"gave up after {attempts} attempts: {outcome.detail}")
    return Completion.dead(outcome.detail or "failed")


def encode_action(action: Action) -> dict[str, Any]:
    """The action as a JSON document (its dataclass fields), as the domain codec writes it."""
    return cast(dict[str, Any], encode(action))


def decode_action(kind: str, payload: dict[str, Any]) -> Action:
    """The action a row's kind and payload describe (the inverse of encode_action)."""
    try:
        cls = ACTION_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown action kind {kind!r}") from None
    return cast(Action, decode(cls, payload))


def _outbox_row(row: Row[Any]) -> OutboxRow:
    return OutboxRow(
        id=row.id,
        key=row.key,
        kind=row.kind,
        target=Source(row.target),
        payload=row.payload,
        status=ActionStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        detail=row.detail,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        cause=row.cause,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class OutboxManager(Manager):
    """The outbox: actions enqueued with their state, claimed when due, completed, retried as rows."""

    def enqueue(
        self, actions: Iterable[Action], *, cause: str | None = None, now: datetime | None = None
    ) -> list[str]:
        """Add actions in this transaction; a key already in the outbox is not added again.

        Returns the keys added. Call it in the transaction that stores the state the actions come
        from, so both commit or neither does.
        """
        at = now or utcnow()
        added: list[str] = []
        statement = self.prepared(
            "outbox.enqueue",
            lambda insert: (
                insert(outbox).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.key)
            ),
        )
        wanted = list(actions)
        for action in wanted:
            if ACTION_TYPES.get(action.kind) is not type(action):
                # A row the dispatcher could not decode would sit in the outbox for ever.
                raise ValueError(f"{type(action).__name__} has kind {action.kind!r}, not its class name")
        rows = [
            {
                "key": action.key,
                "kind": action.kind,
                "target": action.target.value,
                "payload": encode_action(action),
                "status": ActionStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": at,
                "cause": cause,
                "created_at": at,
                "updated_at": at,
                "defect_id": action.defect_id if isinstance(action, MoveDefect) else None,
            }
            for action in wanted
        ]
        inserted: set[str] = set()
        for start in range(0, len(rows), 500):
            # RETURNING answers for the rows inserted only, on both backends.
            inserted.update(self.connection.execute(statement, rows[start : start + 500]).scalars())
        revived = self._revive(list(dict.fromkeys(a.key for a in wanted if a.key not in inserted)), at)
        for action in wanted:
            if action.key in inserted or action.key in revived:
                added.append(action.key)
                # A key twice in `actions` is added once.
                inserted.discard(action.key)
                revived.discard(action.key)
        return added

    def settled_keys(self) -> set[str]:
        """The keys of the actions that `enqueue` would neither add nor revive: every key in the outbox
        but those a newer plan or a dry run put aside."""
        put_aside = and_(
            outbox.c.status == ActionStatus.SKIPPED.value,
            func.coalesce(outbox.c.detail, "").in_([SUPERSEDED, DRY_RUN]),
        )
        return set(self.connection.execute(select(outbox.c.key).where(~put_aside)).scalars())

    def _revive(self, keys: Sequence[str], at: datetime) -> set[str]:
        # A replica whose state lagged may have superseded an action another replica planned, and a
        # dry run skips what it plans: an action planned again waits again, or it would never run.
        # One statement per 500 keys, not one per key: a whole plan may offer thousands at once.
        statement = self.prepared(
            "outbox.revive",
            lambda _: (
                update(outbox)
                .where(
                    outbox.c.key.in_(bindparam("keys", expanding=True)),
                    outbox.c.status == ActionStatus.SKIPPED.value,
                    outbox.c.detail.in_([SUPERSEDED, DRY_RUN]),
                )
                .values(
                    status=ActionStatus.PENDING.value,
                    detail=None,
                    next_attempt_at=bindparam("at"),
                    updated_at=bindparam("at"),
                )
                .returning(outbox.c.key)
            ),
        )
        revived: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            revived.update(self.connection.execute(statement, {"keys": chunk, "at": at}).scalars())
        return revived

    def claim_due(
        self,
        target: Source,
        limit: int,
        worker: str,
        *,
        now: datetime | None = None,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> list[OutboxRow]:
        """Claim up to `limit` due actions for `target`: pending or retry rows whose time has come, and
        running rows whose claim is older than `lease` (their worker died). Each claim counts an attempt.

        An action whose workers died `max_attempts` times is dead instead: it may be what kills them.
        """
        at = now or utcnow()
        self._bury_abandoned(target, at - lease, max_attempts, at)
        due = and_(
            outbox.c.target == target.value,
            or_(
                and_(
                    outbox.c.status.in_([ActionStatus.PENDING.value, ActionStatus.RETRY.value]),
                    outbox.c.next_attempt_at <= at,
                ),
                and_(outbox.c.status == ActionStatus.RUNNING.value, outbox.c.claimed_at < at - lease),
            ),
        )
        chosen = select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
        if self.is_postgres:
            # Rows another dispatcher is claiming are skipped, not waited for; a row claimed and
            # committed meanwhile is re-checked against `due` and dropped.
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(chosen.scalar_subquery()))
            .values(
                status=ActionStatus.RUNNING.value,
                claimed_by=worker,
                claimed_at=at,
                attempts=outbox.c.attempts + 1,
                updated_at=at,
            )
            .returning(*outbox.c)
        )
        rows = [_outbox_row(row) for row in self.connection.execute(statement)]
        return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))

    def renew(self, action_ids: Collection[int], worker: str, *, now: datetime | None = None) -> int:
        """Extend the lease of the actions `worker` still holds (claimed_at moves to now); how many it
        still held. One another dispatcher took over meanwhile is left to that dispatcher."""
        if not action_ids:
            return 0
        at = now or utcnow()
        statement = (
            update(outbox)
            .where(
                outbox.c.id.in_(list(action_ids)),
                outbox.c.status == ActionStatus.RUNNING.value,
                outbox.c.claimed_by == worker,
            )
            .values(claimed_at=at)
        )
        return int(self.connection.execute(statement).rowcount)

    def _bury_abandoned(self, target: Source, expired: datetime, max_attempts: int, at: datetime) -> None:
        abandoned = select(outbox.c.id).where(
            outbox.c.target == target.value,
            outbox.c.status == ActionStatus.RUNNING.value,
            outbox.c.claimed_at < expired,
            outbox.c.attempts >= max_attempts,
        )
        if self.is_postgres:
            abandoned = abandoned.with_for_update(skip_locked=True)
        self.connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(abandoned.scalar_subquery()))
            .values(
                status=ActionStatus.DEAD.value,
                last_error=f"abandoned by {max_attempts} workers (lease expired each time)",
                updated_at=at,
            )
        )

    def complete(
        self,
        action_id: int,
        completion: Completion,
        *,
        worker: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record an attempt's end; False if the action is no longer running (for `worker`, if given),
        e.g. its lease ran out and another dispatcher took it."""
        statement, parameters = self._completion(completion, worker, now or utcnow())
        return self.connection.execute(statement, parameters | {"action_id": action_id}).rowcount == 1

    def complete_many(
        self,
        ends: Sequence[tuple[int, Completion]],
        *,
        worker: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Record the ends of many attempts, one statement for each kind of end (see `complete`)."""
        at = now or utcnow()
        batches: dict[Any, list[dict[str, Any]]] = {}
        for action_id, completion in ends:
            statement, parameters = self._completion(completion, worker, at)
            batches.setdefault(statement, []).append(parameters | {"action_id": action_id})
        for statement, rows in batches.items():
            self.connection.execute(statement, rows)

    def _completion(
        self, completion: Completion, worker: str | None, at: datetime
    ) -> tuple[Any, dict[str, Any]]:
        """The statement that records an attempt's end of this kind, and its parameters (but the id)."""
        values: dict[str, Any] = {"status": completion.status.value, "updated_at": at}
        if completion.status is ActionStatus.DONE:
            values |= {"detail": completion.detail, "last_error": None}
        elif completion.status is ActionStatus.SKIPPED:
            values |= {"detail": completion.detail}
        elif completion.status is ActionStatus.RETRY:
            if completion.next_attempt_at is None:
                raise ValueError("a retry needs its next attempt time")
            values |= {
                "next_attempt_at": completion.next_attempt_at,
                "last_error": completion.error,
                "claimed_by": None,
                "claimed_at": None,
            }
        elif completion.status is ActionStatus.DEAD:
            values |= {"last_error": completion.error}
        else:
            raise ValueError(f"an attempt cannot end as {completion.status}")
        columns = tuple(values)

        def build(_: Any) -> Any:
            statement = update(outbox).where(
                outbox.c.id == bindparam("action_id"), outbox.c.status == ActionStatus.RUNNING.value
            )
            if worker is not None:
                statement = statement.where(outbox.c.claimed_by == bindparam("worker"))
            return statement.values({name: bindparam(f"new_{name}") for name in columns})

        statement = self.prepared(f"complete:{','.join(columns)}:{worker is not None}", build)
        parameters = {f"new_{name}": value for name, value in values.items()}
        if worker is not None:
            parameters["worker"] = worker
        return statement, parameters

    def retry_dead(self, action_id: int | None = None, *, now: datetime | None = None) -> int:
        """Put a dead action (or every dead action) back to pending, due now, with a fresh budget.

        Returns how many were revived; the last error stays for the record.
        """
        at = now or utcnow()
        statement = update(outbox).where(outbox.c.status == ActionStatus.DEAD.value)
        if action_id is not None:
            statement = statement.where(outbox.c.id == action_id)
        result = self.connection.execute(
            statement.values(
                status=ActionStatus.PENDING.value,
                attempts=0,
                next_attempt_at=at,
                claimed_by=None,
                claimed_at=None,
                updated_at=at,
            )
        )
        return result.rowcount

    def get(self, action_id: int) -> OutboxRow | None:
        row = self.connection.execute(select(outbox).where(outbox.c.id == action_id)).first()
        return None if row is None else _outbox_row(row)

    def by_key(self, key: str) -> OutboxRow | None:
        row = self.connection.execute(select(outbox).where(outbox.c.key == key)).first()
        return None if row is None else _outbox_row(row)

    def list(
        self,
        status: ActionStatus | None = None,
        *,
        target: Source | None = None,
        limit: int = 100,
    ) -> list[OutboxRow]:
        """Actions, newest first, of one status and target if given."""
        query = select(outbox)
        if status is not None:
            query = query.where(outbox.c.status == status.value)
        if target is not None:
            query = query.where(outbox.c.target == target.value)
        query = query.order_by(outbox.c.id.desc()).limit(limit)
        return [_outbox_row(row) for row in self.connection.execute(query)]

    # builtins.list: in this class, `list` names the method above.
    def moves_of(self, defect_ids: Collection[int]) -> builtins.list[OutboxRow]:
        """Every move of these defects the outbox holds, oldest first."""
        found: list[OutboxRow] = []
        ordered = sorted(set(defect_ids))
        for start in range(0, len(ordered), 500):  # keeps each statement well within SQL's limits
            query = select(outbox).where(outbox.c.defect_id.in_(ordered[start : start + 500]))
            found.extend(_outbox_row(row) for row in self.connection.execute(query))
        return sorted(found, key=lambda row: row.id)

    def counts(self) -> dict[ActionStatus, int]:
        """How many actions are in each status (every status present, zero if none)."""
        counts = dict.fromkeys(ActionStatus, 0)
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        for status, count in self.connection.execute(query):
            counts[ActionStatus(status)] = count
        return counts

    def supersede(self, keys: Collection[str], *, kinds: Collection[str], now: datetime | None = None) -> int:
        """Skip the waiting actions of `kinds` with these keys, which the plan no longer wants; count them."""
        if not keys:
            return 0
        result = self.connection.execute(
            update(outbox)
            .where(
                outbox.c.key.in_(sorted(keys)),
                outbox.c.status.in_([ActionStatus.PENDING.value, ActionStatus.RETRY.value]),
                outbox.c.kind.in_(list(kinds)),
            )
            .values(status=ActionStatus.SKIPPED.value, detail=SUPERSEDED, updated_at=now or utcnow())
        )
        return int(result.rowcount or 0)

    def supersede_waiting(
        self, wanted: Collection[str], *, kinds: Collection[str], now: datetime | None = None
    ) -> int:
        """Skip waiting actions of `kinds` whose keys the newest plan no longer wants; count them.

        A move planned for a deployment that was undone before it ran must not run late.
        """
        waiting = select(outbox.c.id, outbox.c.key).where(
            outbox.c.status.in_([ActionStatus.PENDING.value, ActionStatus.RETRY.value]),
            outbox.c.kind.in_(list(kinds)),
        )
        gone = [row.id for row in self.connection.execute(waiting) if row.key not in wanted]
        if gone:
            self.connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(gone))
                .values(
                    status=ActionStatus.SKIPPED.value,
                    detail=SUPERSEDED,
                    updated_at=now or utcnow(),
                )
            )
        return len(gone)
