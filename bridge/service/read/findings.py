"""Findings, newest first, filtered by subject, code and severity."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from bridge.service.read.common import Page, Window, from_row, page_of
from bridge.store.findings import FindingRow
from bridge.store.schema import findings
from bridge.store.store import Tx


class FindingView(BaseModel):
    """A finding with when it was first and last seen, and resolved if it is."""

    id: int
    code: str
    severity: str
    subject: str
    message: str
    evidence: list[tuple[str, str]]
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


def finding_view(row: FindingRow) -> FindingView:
    return from_row(FindingView, row)


def list_findings(
    tx: Tx,
    window: Window,
    *,
    subject_prefix: str | None = None,
    code: str | None = None,
    severity: str | None = None,
    include_resolved: bool = False,
) -> Page[FindingView]:
    """Findings, newest first, filtered by subject prefix, code and severity."""
    query = select(findings).order_by(findings.c.id.desc())
    if subject_prefix:
        escaped = subject_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(findings.c.subject.like(f"{escaped}%", escape="\\"))
    if code is not None:
        query = query.where(findings.c.code == code)
    if severity is not None:
        query = query.where(findings.c.severity == severity)
    if not include_resolved:
        query = query.where(findings.c.resolved_at.is_(None))
    return page_of(
        tx,
        query,
        window,
        lambda row: FindingView(
            id=row.id,
            code=row.code,
            severity=row.severity,
            subject=row.subject,
            message=row.message,
            evidence=[(str(what), str(where)) for what, where in row.evidence],
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            resolved_at=row.resolved_at,
        ),
    )


def finding_codes(tx: Tx) -> list[str]:
    """Every finding code in the store, for choosing one in a filter."""
    return sorted(tx.connection.execute(select(findings.c.code).distinct()).scalars())
