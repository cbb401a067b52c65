"""The inbox: every delivery and poll result, stored before it is acknowledged, processed once."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, func, select, tuple_, update

from bridge.domain.events import Source
from bridge.store.base import Manager, utcnow
from bridge.store.retry import inbox_backoff
from bridge.store.schema import inbox


class InboxKind(StrEnum):
    """How an inbox row arrived."""

    WEBHOOK = "webhook"  # a verified webhook delivery
    POLL = "poll"  # a record read by a poller
    FETCH = "fetch"  # a record re-read because a webhook named it
    FEEDBACK = "feedback"  # a record a writer re-read after a conflict


@dataclass(frozen=True)
class Delivery:
    """A delivery to store: the system it came from, its key (the same delivery sent again has the same
    key, so it is stored once), how it arrived and what it carries."""

    source: Source
    key: str
    kind: InboxKind
    payload: dict[str, Any]
    correlation_id: str | None = None


@dataclass(frozen=True)
class InboxPut:
    """The result of storing a delivery: its row, and whether that row was already there."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class InboxRow:
    """A stored delivery or poll result, as the processor sees it."""

    id: int
    source: Source
    delivery_key: str
    kind: InboxKind
    payload: dict[str, Any]
    correlation_id: str | None
    received_at: datetime
    available_at: datetime
    processed_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class InboxStats:
    """Counts and the age of the oldest unprocessed row, for /readyz and metrics."""

    unprocessed: int
    failing: int  # unprocessed rows that failed at least once
    processed: int
    oldest_unprocessed_at: datetime | None
    lag: timedelta  # age of the oldest unprocessed row; zero when there is none


def _inbox_row(row: Row[Any]) -> InboxRow:
    return InboxRow(
        id=row.id,
        source=Source(row.source),
        delivery_key=row.delivery_key,
        kind=InboxKind(row.kind),
        payload=row.payload,
        correlation_id=row.correlation_id,
        received_at=row.received_at,
        available_at=row.available_at,
        processed_at=row.processed_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def _delivery(
    source: Source,
    delivery_key: str,
    kind: InboxKind,
    payload: dict[str, Any],
    at: datetime,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    return {
        "source": source.value,
        "delivery_key": delivery_key,
        "kind": kind.value,
        "payload": payload,
        "correlation_id": correlation_id,
        "received_at": at,
        "available_at": at,
        "attempts": 0,
    }


class InboxManager(Manager):
    """The inbox: deliveries stored once, claimed when due, marked processed or failed."""

    def put(
        self,
        source: Source,
        delivery_key: str,
        kind: InboxKind,
        payload: dict[str, Any],
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> InboxPut:
        """Store a delivery; the same (source, delivery key) again is a no-op reported as duplicate."""
        delivery = Delivery(source, delivery_key, kind, payload, correlation_id)
        return self.put_many([delivery], now=now)[0]

    def put_many(self, deliveries: Sequence[Delivery], *, now: datetime | None = None) -> list[InboxPut]:
        """Store deliveries in one statement; those already there (or twice among them) are left as they
        are. Each delivery's row, in order, and whether it was there before."""
        if not deliveries:
            return []
        at = now or utcnow()
        rows = [_delivery(d.source, d.key, d.kind, d.payload, at, d.correlation_id) for d in deliveries]
        statement = self.prepared(
            "inbox.put_many",
            lambda insert: (
                insert(inbox)
                .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
                .returning(inbox.c.id, inbox.c.source, inbox.c.delivery_key)
            ),
        )
        # RETURNING answers for the rows inserted only, on both backends.
        new = {(row.source, row.delivery_key): row.id for row in self.connection.execute(statement, rows)}
        there = self._ids([(d.source.value, d.key) for d in deliveries if (d.source.value, d.key) not in new])
        puts: list[InboxPut] = []
        for delivery in deliveries:
            key = (delivery.source.value, delivery.key)
            if key in new:
                puts.append(InboxPut(new[key], duplicate=False))
                there[key] = new.pop(key)  # the same delivery again among these is a duplicate
            else:
                puts.append(InboxPut(there[key], duplicate=True))
        return puts

    def _ids(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The rows of (source, delivery key) pairs stored already."""
        ids: dict[tuple[str, str], int] = {}
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), 500):  # keeps each statement well within SQL's limits
            chosen = wanted[start : start + 500]
            query = select(inbox.c.id, inbox.c.source, inbox.c.delivery_key).where(
                tuple_(inbox.c.source, inbox.c.delivery_key).in_(chosen)
            )
            ids |= {(row.source, row.delivery_key): row.id for row in self.connection.execute(query)}
        return ids

    def claim_due(self, limit: int, *, now: datetime | None = None) -> list[InboxRow]:
        """Unprocessed rows that are due, the longest due first, locked for this transaction: process
        them before it ends.

        The order follows the unprocessed rows' index (due time, then id), so a claim reads only
        unprocessed rows however many processed ones the inbox holds. On PostgreSQL, rows another
        processor holds are skipped (FOR UPDATE SKIP LOCKED), so any number of processors share the
        inbox; SQLite has one processor and one writer at a time.
        """
        query = (
            select(inbox)
            .where(inbox.c.processed_at.is_(None), inbox.c.available_at <= (now or utcnow()))
            .order_by(inbox.c.available_at, inbox.c.id)
            .limit(limit)
        )
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True)
        return [_inbox_row(row) for row in self.connection.execute(query)]

    def get(self, inbox_id: int) -> InboxRow | None:
        row = self.connection.execute(select(inbox).where(inbox.c.id == inbox_id)).first()
        return None if row is None else _inbox_row(row)

    def mark_processed(self, inbox_ids: int | Collection[int], *, now: datetime | None = None) -> None:
        """Record that rows' events were applied (in the same transaction as their effects)."""
        ordered = sorted({inbox_ids} if isinstance(inbox_ids, int) else set(inbox_ids))
        for start in range(0, len(ordered), 500):  # keeps each statement well within SQL's limits
            self.connection.execute(
                update(inbox)
                .where(inbox.c.id.in_(ordered[start : start + 500]))
                .values(processed_at=now or utcnow(), last_error=None)
            )

    def mark_failed(
        self,
        inbox_id: int,
        error: str,
        *,
        retry_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """Record a failure and reschedule the row (by default after an exponential backoff)."""
        at = now or utcnow()
        attempts = self.connection.execute(
            update(inbox)
            .where(inbox.c.id == inbox_id)
            .values(attempts=inbox.c.attempts + 1, last_error=error)
            .returning(inbox.c.attempts)
        ).scalar_one()
        self.connection.execute(
            update(inbox)
            .where(inbox.c.id == inbox_id)
            .values(available_at=retry_at or at + inbox_backoff(attempts))
        )

    def prune(self, processed_before: datetime) -> int:
        """Delete rows processed before the given time; returns how many.

        A redelivery of a pruned delivery is stored and applied again, which is harmless: records
        only move forward and actions are keyed by their effect.
        """
        result = self.connection.execute(
            delete(inbox).where(inbox.c.processed_at.is_not(None), inbox.c.processed_at < processed_before)
        )
        return result.rowcount

    def stats(self, *, now: datetime | None = None) -> InboxStats:
        """Counts of unprocessed, failing and processed rows, and the inbox's lag."""
        unprocessed = inbox.c.processed_at.is_(None)
        row = self.connection.execute(
            select(
                func.count().filter(unprocessed).label("unprocessed"),
                func.count().filter(unprocessed, inbox.c.attempts > 0).label("failing"),
                func.count().filter(inbox.c.processed_at.is_not(None)).label("processed"),
                func.min(inbox.c.received_at).filter(unprocessed).label("oldest"),
            )
        ).one()
        oldest: datetime | None = row.oldest
        lag = max((now or utcnow()) - oldest, timedelta(0)) if oldest is not None else timedelta(0)
        return InboxStats(
            unprocessed=row.unprocessed,
            failing=row.failing,
            processed=row.processed,
            oldest_unprocessed_at=oldest,
            lag=lag,
        )
