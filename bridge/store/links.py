"""Links between records (a release and its RFCs and defects), each kept with the evidence that made it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select

from bridge.domain.links import LinkKind
from bridge.store.base import Manager, utcnow
from bridge.store.schema import links


@dataclass(frozen=True)
class LinkRow:
    """A link between a release and an RFC or a defect, with its evidence."""

    id: int
    kind: LinkKind
    left: str
    right: str
    evidence: str  # the text that shows the link, e.g. the note line or the RFC field
    evidence_revision: str | None  # the revision of the record the evidence was read in
    created_at: datetime


def _link(row: Row[Any]) -> LinkRow:
    return LinkRow(
        id=row.id,
        kind=LinkKind(row.kind),
        left=row.left_key,
        right=row.right_key,
        evidence=row.evidence,
        evidence_revision=row.evidence_revision,
        created_at=row.created_at,
    )


class LinkManager(Manager):
    """Links between records, each with the evidence it was first made with."""

    def add(
        self,
        kind: LinkKind,
        left: str,
        right: str,
        evidence: str,
        *,
        evidence_revision: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record a link; True if it is new (a known link keeps the evidence it was first made with)."""
        statement = self.prepared(
            "links.add",
            lambda insert: (
                insert(links)
                .on_conflict_do_nothing(index_elements=["kind", "left_key", "right_key"])
                .returning(links.c.id)
            ),
        )
        values = {
            "kind": kind.value,
            "left_key": left,
            "right_key": right,
            "evidence": evidence,
            "evidence_revision": evidence_revision,
            "created_at": now or utcnow(),
        }
        return self.connection.execute(statement, values).first() is not None

    def remove(self, kind: LinkKind, left: str, right: str) -> bool:
        """Forget a link whose evidence is gone (e.g. an edited note); True if there was one."""
        result = self.connection.execute(
            delete(links).where(
                links.c.kind == kind.value, links.c.left_key == left, links.c.right_key == right
            )
        )
        return result.rowcount > 0

    def list(
        self,
        *,
        kind: LinkKind | None = None,
        left: str | None = None,
        right: str | None = None,
        lefts: Collection[str] | None = None,
    ) -> list[LinkRow]:
        """Links matching every given criterion (`lefts`: any of these left keys), oldest first."""
        query = select(links)
        if kind is not None:
            query = query.where(links.c.kind == kind.value)
        if left is not None:
            query = query.where(links.c.left_key == left)
        if lefts is not None:
            query = query.where(links.c.left_key.in_(sorted(lefts)))
        if right is not None:
            query = query.where(links.c.right_key == right)
        return [_link(row) for row in self.connection.execute(query.order_by(links.c.id))]
