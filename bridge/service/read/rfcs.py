"""RFCs as the bridge last read them, with their linked releases, the bridge's work notes and findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from bridge.domain.keys import ReleaseKey, Subject
from bridge.domain.links import LinkKind
from bridge.engine.control_points import BRIDGE_NOTE_MARK
from bridge.service.read.common import LinkedRelease, Page, Window, page_of
from bridge.service.read.findings import FindingView, finding_view
from bridge.store.records import RfcRow
from bridge.store.schema import rfcs
from bridge.store.store import Tx


class RfcSummary(BaseModel):
    """An RFC as the bridge last read it."""

    number: str
    sys_id: str
    state: str
    mod_count: int
    updated_at: datetime
    short_description: str | None
    environment: str | None
    correlation_id: str | None


class RfcDetail(RfcSummary):
    """An RFC with its linked releases, the bridge's work notes on it, and its findings."""

    type: str | None
    approval: str | None
    planned_start: str | None
    planned_end: str | None
    cab_date: str | None
    close_code: str | None
    releases: list[LinkedRelease]
    bridge_work_notes: int  # work notes the bridge wrote (its audit trail)
    bridge_work_notes_seen: int  # work notes bearing the bridge's mark in the RFC as last read
    findings: list[FindingView]


def rfc_summary(record: RfcRow) -> RfcSummary:
    fields = record.fields
    return RfcSummary(
        number=record.number,
        sys_id=record.sys_id,
        state=record.state,
        mod_count=record.mod_count,
        updated_at=record.updated_at,
        short_description=fields.get("short_description"),
        environment=fields.get("environment"),
        correlation_id=fields.get("correlation_id"),
    )


def list_rfcs(tx: Tx, window: Window, *, state: str | None = None) -> Page[RfcSummary]:
    """RFCs by number."""
    query = select(rfcs).order_by(rfcs.c.number, rfcs.c.sys_id)
    if state is not None:
        query = query.where(rfcs.c.state == state)
    return page_of(tx, query, window, lambda row: rfc_summary(_rfc_record(row)))


def _rfc_record(row: Any) -> RfcRow:
    return RfcRow(row.sys_id, row.number, row.state, row.mod_count, row.updated_at, row.fields)


def rfc_detail(tx: Tx, number: str) -> RfcDetail | None:
    """One RFC by number with its linked releases and the bridge's notes; None if unknown."""
    record = tx.rfcs.by_number(number)
    if record is None:
        return None
    fields = record.fields
    linked = [
        LinkedRelease(
            component=ReleaseKey.parse(link.left).component,
            version=ReleaseKey.parse(link.left).version,
            evidence=link.evidence,
        )
        for link in tx.links.list(kind=LinkKind.RELEASE_RFC, right=number)
    ]
    trail = tx.audit.list(record=str(Subject.rfc(number)), limit=10_000)
    notes = fields.get("work_notes") or []
    return RfcDetail(
        **rfc_summary(record).model_dump(),
        type=fields.get("type"),
        approval=fields.get("approval"),
        planned_start=fields.get("planned_start"),
        planned_end=fields.get("planned_end"),
        cab_date=fields.get("cab_date"),
        close_code=fields.get("close_code"),
        releases=linked,
        bridge_work_notes=sum(1 for entry in trail if entry.change == "work note added"),
        bridge_work_notes_seen=sum(
            1
            for note in notes
            if isinstance(note, dict) and str(note.get("text", "")).startswith(BRIDGE_NOTE_MARK)
        ),
        findings=[finding_view(f) for f in tx.findings.list(str(Subject.rfc(number)))],
    )
