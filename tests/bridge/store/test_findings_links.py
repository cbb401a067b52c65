"""Findings are recorded once and resolved when no longer true; links are unique with their evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.findings import Finding, FindingSeverity
from bridge.store import LinkKind, Store

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

SKIP = Finding(
    "version.skip",
    FindingSeverity.ERROR,
    "release:dip-platform:1.0.3.0",
    "1.0.3.0 follows 1.0.1.0: 1.0.2.0 is missing",
    (("tag", "dip-platform/1.0.3.0"),),
)
MISSING = Finding(
    "note.missing_item", FindingSeverity.WARNING, "release:dip-platform:1.0.3.0", "no backout plan"
)


def test_the_same_finding_twice_is_one_row_seen_again(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.findings.record(SKIP, now=T0)
        assert not tx.findings.record(SKIP, now=T0 + timedelta(hours=1))
        assert tx.findings.record(MISSING, now=T0)
        rows = tx.findings.list("release:dip-platform:1.0.3.0")
    assert [row.finding() for row in rows] == [SKIP, MISSING]
    assert (rows[0].first_seen, rows[0].last_seen, rows[0].resolved_at) == (T0, T0 + timedelta(hours=1), None)


def test_findings_no_longer_true_are_resolved_and_can_return(store: Store) -> None:
    subject = SKIP.subject
    with store.transaction() as tx:
        tx.findings.record(SKIP, now=T0)
        tx.findings.record(MISSING, now=T0)
        assert tx.findings.resolve(subject, [SKIP], codes=["note.missing_item"], now=T0) == 1
        assert tx.findings.resolve(subject, [SKIP], codes=["note.missing_item"], now=T0) == 0
        assert [row.code for row in tx.findings.list(subject)] == ["version.skip"]
        assert len(tx.findings.list(include_resolved=True)) == 2
        assert tx.findings.resolve(subject, now=T0 + timedelta(hours=1)) == 1
        assert tx.findings.list() == []
        assert not tx.findings.record(MISSING, now=T0 + timedelta(days=1))  # true again: reopened
        (reopened,) = tx.findings.list(subject)
    assert (reopened.code, reopened.resolved_at, reopened.first_seen) == ("note.missing_item", None, T0)


def test_links_are_unique_and_keep_their_first_evidence(store: Store) -> None:
    release = "dip-platform:1.0.2.0"
    with store.transaction() as tx:
        assert tx.links.add(LinkKind.RELEASE_RFC, release, "CHG0031245", "note: RFC CHG0031245", now=T0)
        assert not tx.links.add(LinkKind.RELEASE_RFC, release, "CHG0031245", "rfc short description", now=T0)
        assert tx.links.add(
            LinkKind.DEFECT_FIXED, release, "48211", "Defects fixed row 1", evidence_revision="r1"
        )
        assert tx.links.add(LinkKind.DEFECT_OUTSTANDING, release, "48300", "Known issues row 1")
        assert tx.links.add(LinkKind.DEFECT_FIXED, "dip-platform:1.0.3.0", "48211", "Defects fixed row 4")
    with store.transaction() as tx:
        (rfc,) = tx.links.list(kind=LinkKind.RELEASE_RFC)
        assert (rfc.left, rfc.right, rfc.evidence, rfc.created_at) == (
            release,
            "CHG0031245",
            "note: RFC CHG0031245",
            T0,
        )
        assert [link.kind for link in tx.links.list(left=release)] == [
            LinkKind.RELEASE_RFC,
            LinkKind.DEFECT_FIXED,
            LinkKind.DEFECT_OUTSTANDING,
        ]
        assert [link.left for link in tx.links.list(kind=LinkKind.DEFECT_FIXED, right="48211")] == [
            release,
            "dip-platform:1.0.3.0",
        ]
        assert tx.links.remove(LinkKind.DEFECT_OUTSTANDING, release, "48300")
        assert not tx.links.remove(LinkKind.DEFECT_OUTSTANDING, release, "48300")
        assert len(tx.links.list(left=release)) == 2
