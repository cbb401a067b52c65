"""Poll cursors: where each poller resumes per scope, and how its last poll went (for /readyz)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from bridge.domain.events import Source
from bridge.store.base import Manager, utcnow
from bridge.store.schema import poll_cursors


@dataclass(frozen=True)
class PollState:
    """A poller's position and last outcome in one scope (a project, a table, a query)."""

    source: Source
    scope: str
    cursor: str | None
    updated_at: datetime | None  # when the cursor last moved
    last_poll_at: datetime | None
    last_poll_ok: bool | None  # None: never polled
    last_success_at: datetime | None
    last_error: str | None


def _state(row: Row[Any]) -> PollState:
    return PollState(
        source=Source(row.source),
        scope=row.scope,
        cursor=row.cursor,
        updated_at=row.updated_at,
        last_poll_at=row.last_poll_at,
        last_poll_ok=row.last_poll_ok,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
    )


class CursorManager(Manager):
    """Poll cursors: where each poller resumes per scope, and how its last poll went."""

    def get(self, source: Source, scope: str) -> str | None:
        query = select(poll_cursors.c.cursor).where(
            poll_cursors.c.source == source.value, poll_cursors.c.scope == scope
        )
        return self.connection.execute(query).scalar_one_or_none()

    def save(self, source: Source, scope: str, cursor: str | None, *, now: datetime | None = None) -> None:
        """Move the cursor; call it in the transaction that stores the page read up to it."""
        values = {"cursor": cursor, "updated_at": now or utcnow()}
        statement = self.insert(poll_cursors).values(source=source.value, scope=scope, **values)
        self.connection.execute(
            statement.on_conflict_do_update(index_elements=["source", "scope"], set_=values)
        )

    def mark_polled(
        self, source: Source, scope: str, *, error: str | None = None, now: datetime | None = None
    ) -> None:
        """Record a poll's outcome: success when `error` is None."""
        at = now or utcnow()
        values: dict[str, Any] = {"last_poll_at": at, "last_poll_ok": error is None, "last_error": error}
        if error is None:
            values["last_success_at"] = at
        statement = self.insert(poll_cursors).values(source=source.value, scope=scope, **values)
        self.connection.execute(
            statement.on_conflict_do_update(index_elements=["source", "scope"], set_=values)
        )

    def list(self, source: Source | None = None) -> list[PollState]:
        """Every poller scope's state, by source and scope."""
        query = select(poll_cursors)
        if source is not None:
            query = query.where(poll_cursors.c.source == source.value)
        query = query.order_by(poll_cursors.c.source, poll_cursors.c.scope)
        return [_state(row) for row in self.connection.execute(query)]
