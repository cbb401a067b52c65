"""The journal: each revision of each record once, in the order it was first recorded."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text

from bridge.domain.codec import decode_event, encode_event
from bridge.domain.events import DomainEvent
from bridge.store.base import Manager, lock_key, utcnow
from bridge.store.decisions import SnapshotManager
from bridge.store.schema import journal


def journal_identity(event: DomainEvent) -> tuple[str, str, str]:
    """(kind, record key, revision): the journal holds one row for each."""
    return type(event).__name__, event.record_key, str(event.revision)


class JournalManager(Manager):
    """The journal: revisions appended once, read in order, compacted once a snapshot holds them."""

    def append(self, events: Sequence[DomainEvent], *, now: datetime | None = None) -> int:
        """Record the revisions not recorded yet; returns how many were new."""
        added = 0
        at = now or utcnow()
        if events and self.is_postgres:
            # Writers take turns until they commit, so ids are given in commit order: a reader that
            # has folded up to an id never sees a smaller one committed later (`after`).
            self.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("journal")})
        statement = self.prepared(
            "journal.append",
            lambda insert: (
                insert(journal)
                .on_conflict_do_nothing(index_elements=["kind", "record_key", "revision"])
                .returning(journal.c.id)
            ),
        )
        rows = []
        for event in events:
            kind, key, revision = journal_identity(event)
            rows.append(
                {
                    "source": event.source.value,
                    "kind": kind,
                    "record_key": key,
                    "revision": revision,
                    "payload": encode_event(event),
                    "recorded_at": at,
                }
            )
        for start in range(0, len(rows), 1000):
            # One statement for many rows; RETURNING answers for the new rows only, on both backends
            # (rowcount is not reliable here). Rows go in the events' order, so ids follow it.
            added += len(self.connection.execute(statement, rows[start : start + 1000]).fetchall())
        return added

    def after(self, last_id: int, *, limit: int = 10_000) -> list[tuple[int, Any]]:
        """Journal rows recorded after `last_id`, oldest first, as (id, decoded event)."""
        rows = self.connection.execute(
            select(journal.c.id, journal.c.payload)
            .where(journal.c.id > last_id)
            .order_by(journal.c.id)
            .limit(limit)
        )
        return [(row.id, decode_event(row.payload)) for row in rows]

    def of(self, kind: type[DomainEvent], record_keys: Collection[str]) -> list[Any]:
        """Every recorded revision of these records of one event kind, in the order first recorded."""
        if not record_keys:
            return []
        rows = self.connection.execute(
            select(journal.c.payload)
            .where(journal.c.kind == kind.__name__, journal.c.record_key.in_(sorted(record_keys)))
            .order_by(journal.c.id)
        )
        return [decode_event(row.payload) for row in rows]

    def compact(self, *, before: datetime, keep_kinds: Collection[str] = ()) -> int:
        """Delete journal rows recorded before `before` that the newest snapshot holds, except those of
        `keep_kinds`; count them.

        Only rows a snapshot covers go, so the state can always be rebuilt: the snapshot, then the
        journal after it."""
        snapshot = SnapshotManager(self.connection).newest()
        if snapshot is None:
            return 0
        condition = (journal.c.id <= snapshot.journal_id) & (journal.c.recorded_at < before)
        if keep_kinds:
            condition &= journal.c.kind.not_in(sorted(keep_kinds))
        result = self.connection.execute(delete(journal).where(condition))
        return int(result.rowcount or 0)

    def span(self) -> tuple[int, int]:
        """(rows, newest id) of the journal."""
        count, newest = self.connection.execute(select(func.count(), func.max(journal.c.id))).one()
        return int(count or 0), int(newest or 0)
