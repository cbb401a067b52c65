"""Findings as records: the same finding recorded again is one row, seen again; a fixed one is resolved."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from bridge.domain.findings import Finding, FindingSeverity
from bridge.store.base import Manager, utcnow
from bridge.store.schema import findings


@dataclass(frozen=True)
class FindingRow:
    """A stored finding: when first and last seen, and when resolved if it is."""

    id: int
    code: str
    severity: FindingSeverity
    subject: str
    message: str
    evidence: tuple[tuple[str, str], ...]
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None

    def finding(self) -> Finding:
        """The domain finding this row records."""
        return Finding(self.code, self.severity, self.subject, self.message, self.evidence)


def message_hash(message: str) -> str:
    """The digest that stands for a finding's message in its unique key."""
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def _finding(row: Row[Any]) -> FindingRow:
    return FindingRow(
        id=row.id,
        code=row.code,
        severity=FindingSeverity(row.severity),
        subject=row.subject,
        message=row.message,
        evidence=tuple((str(what), str(where)) for what, where in row.evidence),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
    )


class FindingManager(Manager):
    """Findings: recorded (or seen again), resolved when fixed, listed."""

    def record(self, finding: Finding, *, now: datetime | None = None) -> bool:
        """Record a finding; True if it is new, else it is seen again (and open again if it was resolved)."""
        at = now or utcnow()
        digest = message_hash(finding.message)
        evidence = [list(pair) for pair in finding.evidence]
        inserted = self.connection.execute(
            self.insert(findings)
            .values(
                code=finding.code,
                severity=finding.severity.value,
                subject=finding.subject,
                message=finding.message,
                message_hash=digest,
                evidence=evidence,
                first_seen=at,
                last_seen=at,
                resolved_at=None,
            )
            .on_conflict_do_nothing(index_elements=["code", "subject", "message_hash"])
            .returning(findings.c.id)
        ).first()
        if inserted is not None:
            return True
        self.connection.execute(
            update(findings)
            .where(
                findings.c.code == finding.code,
                findings.c.subject == finding.subject,
                findings.c.message_hash == digest,
            )
            .values(last_seen=at, resolved_at=None, severity=finding.severity.value, evidence=evidence)
        )
        return False

    def resolve(
        self,
        subject: str,
        still_true: Iterable[Finding] = (),
        *,
        codes: Collection[str] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Resolve the open findings of `subject` (of `codes`, if given) not in `still_true`; count them."""
        keep = {(finding.code, message_hash(finding.message)) for finding in still_true}
        query = select(findings.c.id, findings.c.code, findings.c.message_hash).where(
            findings.c.subject == subject, findings.c.resolved_at.is_(None)
        )
        if codes is not None:
            query = query.where(findings.c.code.in_(list(codes)))
        gone = [row.id for row in self.connection.execute(query) if (row.code, row.message_hash) not in keep]
        if gone:
            self.connection.execute(
                update(findings).where(findings.c.id.in_(gone)).values(resolved_at=now or utcnow())
            )
        return len(gone)

    def list(self, subject: str | None = None, *, include_resolved: bool = False) -> list[FindingRow]:
        """Findings, of one subject or all, oldest first."""
        query = select(findings)
        if subject is not None:
            query = query.where(findings.c.subject == subject)
        if not include_resolved:
            query = query.where(findings.c.resolved_at.is_(None))
        return [_finding(row) for row in self.connection.execute(query.order_by(findings.c.id))]
