"""The audit trail: what the bridge changed, where and why."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from bridge.service.read.common import Page, Window, from_row, page_of
from bridge.store.audit import AuditEntry
from bridge.store.schema import audit
from bridge.store.store import Tx


class AuditView(BaseModel):
    """One entry of the audit trail: what the bridge changed, where and why."""

    id: int
    at: datetime
    system: str
    record: str
    action_key: str | None
    change: str
    reason: str


def audit_view(entry: AuditEntry) -> AuditView:
    return from_row(AuditView, entry)


def list_audit(
    tx: Tx, window: Window, *, record: str | None = None, action_key: str | None = None
) -> Page[AuditView]:
    """The audit trail, newest first, about one record or one action if given."""
    query = select(audit).order_by(audit.c.at.desc(), audit.c.id.desc())
    if record is not None:
        query = query.where(audit.c.record == record)
    if action_key is not None:
        query = query.where(audit.c.action_key == action_key)
    return page_of(
        tx,
        query,
        window,
        lambda row: AuditView(
            id=row.id,
            at=row.at,
            system=row.system,
            record=row.record,
            action_key=row.action_key,
            change=row.change,
            reason=row.reason,
        ),
    )
