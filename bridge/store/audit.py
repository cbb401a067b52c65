"""The audit trail: what the bridge changed in which system and why, appended and never edited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from bridge.domain.events import Source
from bridge.store.base import Manager, utcnow
from bridge.store.schema import audit


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit trail."""

    id: int
    at: datetime
    system: Source
    record: str  # e.g. defect:48211, rfc:CHG0031245
    action_key: str | None
    change: str  # what changed, e.g. "state Resolved -> Ready for Retest"
    reason: str  # why, e.g. "dip-platform 1.0.2.0 deployed to SIT-A by CHG0031245"


@dataclass(frozen=True)
class AuditLine:
    """An entry to append: which record of which system changed, how and why."""

    system: Source
    record: str
    change: str
    reason: str
    action_key: str | None = None


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        system=Source(row.system),
        record=row.record,
        action_key=row.action_key,
        change=row.change,
        reason=row.reason,
    )


class AuditManager(Manager):
    """The audit trail: appended, never edited, listed newest first."""

    def append(
        self,
        system: Source,
        record: str,
        change: str,
        reason: str,
        *,
        action_key: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append an entry; returns its id. The database refuses updates and deletes of the trail."""
        statement = self.prepared("audit.append", lambda _: audit.insert().returning(audit.c.id))
        values = {
            "at": at or utcnow(),
            "system": system.value,
            "record": record,
            "action_key": action_key,
            "change": change,
            "reason": reason,
        }
        return int(self.connection.execute(statement, values).scalar_one())

    def append_many(self, entries: Sequence[AuditLine], *, at: datetime | None = None) -> None:
        """Append many entries in one statement."""
        if not entries:
            return
        when = at or utcnow()
        rows = [
            {
                "at": when,
                "system": e.system.value,
                "record": e.record,
                "action_key": e.action_key,
                "change": e.change,
                "reason": e.reason,
            }
            for e in entries
        ]
        self.connection.execute(audit.insert(), rows)

    def list(
        self, *, record: str | None = None, action_key: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries, newest first, about one record or action if given."""
        query = select(audit)
        if record is not None:
            query = query.where(audit.c.record == record)
        if action_key is not None:
            query = query.where(audit.c.action_key == action_key)
        query = query.order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit)
        return [_entry(row) for row in self.connection.execute(query)]
