"""What the engine decided, stored for readers: each release's control points, where each defect it lists
as fixed stands, and each emergency release's carry-forward verdict (the ledger is in `ledger`, findings
in `findings`); how far each worker has planned; and snapshots of the engine's state."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select

from bridge.domain.fixes import Fix, FixStatus, PlannedMove
from bridge.store.base import Manager, utcnow
from bridge.store.schema import (
    carry_forward,
    control_points,
    outbox,
    planned,
    release_fixes,
    snapshots,
)


@dataclass(frozen=True)
class PointRow:
    """One control point of a release, as the engine judged it last."""

    number: str
    name: str
    status: str
    evidence: str
    source: str


@dataclass(frozen=True)
class VerdictRow:
    """An emergency release's carry-forward verdict (release keys; `regular` None until there is one)."""

    emergency: str
    regular: str | None
    dropped: tuple[int, ...]
    ancestry: bool | None  # None until GitLab has answered


@dataclass(frozen=True)
class StoredFix:
    """A fix as stored, with the outbox's state of the move it waits for (None: no move, or not queued)."""

    fix: Fix
    outcome: str | None  # the move's action status
    error: str | None  # its last error

    def shown(self, skipped: str | None = None) -> tuple[FixStatus, str]:
        """Its status and why, with what the outbox knows (`skipped`: why the release's latest move of the
        defect was skipped, if it was)."""
        return self.fix.dispatched(self.outcome, self.error, skipped)


@dataclass(frozen=True)
class Snapshot:
    journal_id: int
    taken_at: datetime
    format: int
    payload: bytes


class ControlPointManager(Manager):
    """Each release's control points, as the engine judged them last."""

    def replace(self, release_key: str, points: Iterable[PointRow]) -> None:
        """Make one release's control points exactly these (none: the release is gone)."""
        self.connection.execute(delete(control_points).where(control_points.c.release_key == release_key))
        rows = [
            {"release_key": release_key, "position": position, **point.__dict__}
            for position, point in enumerate(points)
        ]
        if rows:
            self.connection.execute(control_points.insert(), rows)

    def of(self, release_keys: Collection[str]) -> dict[str, list[PointRow]]:
        """The control points of these releases, in order; a release never judged has none."""
        found: dict[str, list[PointRow]] = {}
        if not release_keys:
            return found
        c = control_points.c
        query = (
            select(c.release_key, c.number, c.name, c.status, c.evidence, c.source)
            .where(c.release_key.in_(sorted(release_keys)))
            .order_by(c.release_key, c.position)
        )
        for release_key, *point in self.connection.execute(query):
            found.setdefault(release_key, []).append(PointRow(*point))
        return found

    def keys(self) -> set[str]:
        return set(self.connection.execute(select(control_points.c.release_key).distinct()).scalars())


class FixManager(Manager):
    """Where each defect a release lists as fixed stands for it (the release_fixes table)."""

    def replace(self, defect_ids: Collection[int], fixes: Iterable[Fix]) -> None:
        """Make where these defects stand for the releases that list them exactly `fixes`."""
        ordered = sorted(set(defect_ids))
        for start in range(0, len(ordered), 500):  # keeps each statement well within SQL's limits
            chunk = ordered[start : start + 500]
            self.connection.execute(delete(release_fixes).where(release_fixes.c.defect_id.in_(chunk)))
        rows = [
            {
                "release_key": fix.release,
                "defect_id": fix.defect_id,
                "status": fix.status.value,
                "why": fix.why,
                "move_key": fix.move.key if fix.move else None,
                "move_to": fix.move.to_state if fix.move else None,
                "move_where": fix.move.where if fix.move else None,
                "move_back": fix.move.back if fix.move else None,
                "title": fix.title,
                "state": fix.state,
            }
            for fix in fixes
        ]
        if rows:
            self.connection.execute(release_fixes.insert(), rows)

    def of(self, release_keys: Collection[str]) -> dict[str, list[StoredFix]]:
        """Where each defect these releases list as fixed stands for them, with the outbox's state of the
        move each waits for; by release, in defect order."""
        found: dict[str, list[StoredFix]] = {}
        if not release_keys:
            return found
        query = (
            select(*_FIX_COLUMNS, outbox.c.status, outbox.c.last_error)
            .select_from(release_fixes.outerjoin(outbox, outbox.c.key == release_fixes.c.move_key))
            .where(release_fixes.c.release_key.in_(sorted(release_keys)))
            .order_by(release_fixes.c.release_key, release_fixes.c.defect_id)
        )
        # A page lists thousands of fixes: rows are read as plain tuples (by position, in _FIX_COLUMNS'
        # order), which costs a fraction of reading each value by name.
        for *columns, outcome, error in self.connection.execute(query):
            fix = _fix(columns)
            found.setdefault(fix.release, []).append(StoredFix(fix, outcome, error))
        return found

    def list(self) -> list[Fix]:
        """Every stored fix (for a worker storing its whole plan: to write only what differs)."""
        return [_fix(row) for row in self.connection.execute(select(*_FIX_COLUMNS))]


class CarryForwardManager(Manager):
    """Each emergency release's carry-forward verdict, by component."""

    def replace(self, component: str, verdicts: Iterable[VerdictRow]) -> None:
        """Make one component's carry-forward verdicts exactly these."""
        self.connection.execute(delete(carry_forward).where(carry_forward.c.component == component))
        rows = [
            {
                "emergency": v.emergency,
                "component": component,
                "regular": v.regular,
                "dropped": list(v.dropped),
                "ancestry": v.ancestry,
            }
            for v in verdicts
        ]
        if rows:
            self.connection.execute(carry_forward.insert(), rows)

    def of(self, release_key: str) -> list[VerdictRow]:
        """The verdicts that concern a release, as the emergency release or the regular one."""
        query = (
            select(carry_forward)
            .where(or_(carry_forward.c.emergency == release_key, carry_forward.c.regular == release_key))
            .order_by(carry_forward.c.emergency)
        )
        return [_verdict(row) for row in self.connection.execute(query)]

    def list(self) -> list[VerdictRow]:
        return [_verdict(row) for row in self.connection.execute(select(carry_forward))]

    def keys(self) -> set[str]:
        return set(self.connection.execute(select(carry_forward.c.component).distinct()).scalars())


class PlannedManager(Manager):
    """How far each worker has planned the journal and stored what it decided."""

    def save(self, worker: str, journal_id: int, *, now: datetime | None = None) -> None:
        """Record that `worker` has stored what it decided from the journal up to `journal_id`."""

        def build(insert: Any) -> Any:
            statement = insert(planned)
            return statement.on_conflict_do_update(
                index_elements=["worker"],
                set_={
                    "journal_id": statement.excluded.journal_id,
                    "planned_at": statement.excluded.planned_at,
                },
            )

        values = {"worker": worker, "journal_id": journal_id, "planned_at": now or utcnow()}
        self.connection.execute(self.prepared("planned.save", build), values)

    def furthest(self) -> int | None:
        """The furthest journal id any worker has planned and stored; None before any has."""
        value = self.connection.execute(select(func.max(planned.c.journal_id))).scalar()
        return None if value is None else int(value)


class SnapshotManager(Manager):
    """Snapshots of the engine's state folded up to a journal id; only the newest is kept."""

    def save(self, journal_id: int, payload: bytes, *, format: int, now: datetime | None = None) -> None:
        """Keep a snapshot of the state folded up to `journal_id`; older snapshots go."""
        self.connection.execute(
            snapshots.insert().values(
                journal_id=journal_id, taken_at=now or utcnow(), format=format, payload=payload
            )
        )
        newest = (
            select(snapshots.c.id).order_by(snapshots.c.journal_id.desc(), snapshots.c.id.desc()).limit(1)
        )
        self.connection.execute(delete(snapshots).where(snapshots.c.id.not_in(newest.scalar_subquery())))

    def newest(self) -> Snapshot | None:
        row = self.connection.execute(
            select(snapshots).order_by(snapshots.c.journal_id.desc(), snapshots.c.id.desc()).limit(1)
        ).first()
        return None if row is None else Snapshot(row.journal_id, row.taken_at, row.format, bytes(row.payload))


def _verdict(row: Any) -> VerdictRow:
    return VerdictRow(row.emergency, row.regular, tuple(int(d) for d in row.dropped), row.ancestry)


_FIX_COLUMNS = tuple(
    release_fixes.c[name]
    for name in (
        "release_key",
        "defect_id",
        "status",
        "why",
        "move_key",
        "move_to",
        "move_where",
        "move_back",
        "title",
        "state",
    )
)
_FIX_STATUSES = {status.value: status for status in FixStatus}


def _fix(columns: Sequence[Any]) -> Fix:
    """A fix from a row of _FIX_COLUMNS."""
    release_key, defect_id, status, why, move_key, move_to, move_where, move_back, title, state = columns
    move = None
    if move_key is not None:
        move = PlannedMove(move_key, move_to or "", move_where or "", bool(move_back))
    return Fix(release_key, defect_id, _FIX_STATUSES[status], why, move, title, state)
