"""Defects as the bridge last read them, with the releases that list them and the bridge's moves of them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from bridge.domain.keys import MoveDefectKey, ReleaseKey, Subject
from bridge.domain.links import LinkKind
from bridge.service.read.audit import AuditView, audit_view
from bridge.service.read.common import LinkedRelease, Page, Window, from_row, page_of
from bridge.service.read.outbox import ActionView, action_row_view
from bridge.store.records import DefectRecord
from bridge.store.schema import defects, outbox
from bridge.store.store import Tx


class DefectSummary(BaseModel):
    """A defect as the bridge last read it."""

    id: int
    rev: int
    state: str
    severity: str | None
    title: str
    changed_at: datetime
    changed_by: str | None


class DefectRelease(LinkedRelease):
    """A release whose note lists the defect, as fixed or as outstanding."""

    listed_as: str  # fixed or outstanding


class DefectDetail(DefectSummary):
    """A defect with the releases that list it and the bridge's moves of it."""

    releases: list[DefectRelease]
    moves: list[AuditView]  # done, from the audit trail
    actions: list[ActionView]  # every planned move, from the outbox


def defect_summary(record: DefectRecord) -> DefectSummary:
    return from_row(DefectSummary, record)


def list_defects(tx: Tx, window: Window, *, state: str | None = None) -> Page[DefectSummary]:
    """Defects by id."""
    query = select(defects).order_by(defects.c.id)
    if state is not None:
        query = query.where(defects.c.state == state)
    return page_of(
        tx,
        query,
        window,
        lambda row: from_row(DefectSummary, row),
    )


def defect_detail(tx: Tx, defect_id: int) -> DefectDetail | None:
    """One defect with the releases that list it and the bridge's moves; None if unknown."""
    record = tx.defects.get(defect_id)
    if record is None:
        return None
    listed = [
        DefectRelease(
            component=ReleaseKey.parse(link.left).component,
            version=ReleaseKey.parse(link.left).version,
            evidence=link.evidence,
            listed_as="fixed" if link.kind is LinkKind.DEFECT_FIXED else "outstanding",
        )
        for kind in (LinkKind.DEFECT_FIXED, LinkKind.DEFECT_OUTSTANDING)
        for link in tx.links.list(kind=kind, right=str(defect_id))
    ]
    moves = tx.audit.list(record=str(Subject.defect(defect_id)), limit=10_000)
    prefix = MoveDefectKey.of_defect(defect_id).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    planned = select(outbox).where(outbox.c.key.like(f"{prefix}%", escape="\\"))
    actions = [action_row_view(row) for row in tx.connection.execute(planned.order_by(outbox.c.id))]
    return DefectDetail(
        **defect_summary(record).model_dump(),
        releases=listed,
        moves=[audit_view(entry) for entry in moves],
        actions=actions,
    )
