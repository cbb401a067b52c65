"""The systems the store was filled from: one identity per source, recorded once and changed on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bridge.domain.events import Source
from bridge.store.base import Manager, utcnow
from bridge.store.schema import defects, releases, rfcs, systems

# The records each source fills: what a store holds from that system.
_RECORDS = {Source.GITLAB: releases, Source.SERVICENOW: rfcs, Source.ADO: defects}


@dataclass(frozen=True)
class SystemRecord:
    """The system one source's records were read from, as the configuration named it then."""

    source: Source
    identity: dict[str, Any]
    recorded_at: datetime
    updated_at: datetime


class SystemManager(Manager):
    """Which systems the store was filled from."""

    def by_source(self) -> dict[Source, SystemRecord]:
        """The system each source was recorded as read from, by source."""
        rows = self.connection.execute(select(systems).order_by(systems.c.source))
        return {
            Source(row.source): SystemRecord(
                Source(row.source), dict(row.identity), row.recorded_at, row.updated_at
            )
            for row in rows
        }

    def add(self, source: Source, identity: dict[str, Any], *, now: datetime | None = None) -> bool:
        """Record the system a source is read from, unless one is recorded already; True when recorded."""
        at = now or utcnow()
        statement = (
            self.insert(systems)
            .values(source=source.value, identity=identity, recorded_at=at, updated_at=at)
            .on_conflict_do_nothing(index_elements=["source"])
        )
        return self.connection.execute(statement).rowcount == 1

    def save(self, source: Source, identity: dict[str, Any], *, now: datetime | None = None) -> None:
        """Replace the recorded system of a source (a repoint, or more GitLab projects)."""
        at = now or utcnow()
        if not self.add(source, identity, now=at):
            self.connection.execute(
                update(systems)
                .where(systems.c.source == source.value)
                .values(identity=identity, updated_at=at)
            )

    def count_records(self, source: Source) -> int:
        """How many records (releases, RFCs or defects) the store holds from a source."""
        table = _RECORDS[source]
        return int(self.connection.execute(select(func.count()).select_from(table)).scalar_one())
