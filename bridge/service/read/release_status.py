"""A release's history in release managers' words: the bridge's moves, its deployments, its timeline.

Read from what the store holds (the outbox's moves, the ledger and RFC revisions the worker stored);
free of HTTP and of queries, so the pages, the read API and their tests share it. Where each fixed
defect stands is the engine's (`bridge.domain.fixes`), stored by the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.domain.keys import Subject
from bridge.engine.deployments import Deployment, LedgerEntry
from bridge.store.ledger import DeploymentRow
from bridge.store.outbox import ActionStatus
from bridge.versions import Version

WAITING_STATUSES = (ActionStatus.PENDING, ActionStatus.RUNNING, ActionStatus.RETRY)


@dataclass(frozen=True)
class Move:
    """One of the bridge's moves of a defect, as the outbox holds it."""

    defect_id: int
    release: str | None  # the release key the move is for, None when the deployment is no longer known
    deployment: str
    reason: str  # retest or rollback
    from_state: str
    to_state: str
    status: ActionStatus
    at: datetime  # when the outbox last changed it: when it was done, for a done move
    error: str | None
    detail: str | None


@dataclass(frozen=True)
class Deployed:
    """What the stored ledger says was deployed, indexed by release."""

    by_release: dict[str, list[Deployment]]  # each release's deployments, oldest first
    stays: dict[str, list[LedgerEntry]]  # each release's stays in environments, oldest first

    @classmethod
    def of_ledger(cls, rows: Iterable[DeploymentRow]) -> Deployed:
        """From the ledger rows of some releases (each stay is one deployment)."""
        by_release: dict[str, list[Deployment]] = {}
        stays: dict[str, list[LedgerEntry]] = {}
        for row in sorted(rows, key=lambda r: (r.deployed_from, r.id)):
            version = Version.parse(row.version)
            deployment = Deployment(
                row.environment,
                row.component,
                version,
                row.rfc_number or "",
                row.rfc_sys_id or "",
                row.deployed_from,
                row.approved,
                None,
            )
            by_release.setdefault(deployment.release_key, []).append(deployment)
            stays.setdefault(deployment.release_key, []).append(
                LedgerEntry(
                    row.environment,
                    row.component,
                    version,
                    row.rfc_number or "",
                    row.deployed_from,
                    row.deployed_to,
                    row.rolled_back,
                    deployment.key,
                    row.approved,
                    row.rfc_sys_id or "",
                )
            )
        return cls(by_release, stays)


# --- the timeline ----------------------------------------------------------------------------------


class Happening(StrEnum):
    """What a line of a release's timeline says happened."""

    PUBLISHED = "published"
    RFC_STATE = "RFC state"
    DEPLOYED = "deployed"
    MOVED = "defect moved"
    ROLLED_BACK = "rolled back"
    REPLACED = "replaced"


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a release, when, and the record that shows it."""

    at: datetime
    what: Happening
    text: str
    source: str  # e.g. rfc:CHG0031245, defect:48211, note:v1.0.2.0


@dataclass(frozen=True)
class RfcRevision:
    """An RFC's state at one of its revisions, as the journal holds it."""

    number: str
    state: str
    at: datetime


def timeline(
    *,
    tag: str,
    published_at: datetime | None,
    rfc_revisions: Iterable[RfcRevision],
    deployments: Sequence[Deployment],
    stays: Iterable[LedgerEntry],
    moves: Iterable[Move],
) -> list[TimelineEntry]:
    """Published, each RFC state change, deployed, each defect moved, rolled back: oldest first.

    `stays` are the release's stays in environments, from the stored ledger.
    """
    entries: list[TimelineEntry] = []
    if published_at is not None:
        entries.append(
            TimelineEntry(published_at, Happening.PUBLISHED, f"tag {tag} published", str(Subject.note(tag)))
        )
    last_state: dict[str, str] = {}
    for revision in sorted(rfc_revisions, key=lambda r: (r.at, r.number)):
        if last_state.get(revision.number) == revision.state:
            continue
        last_state[revision.number] = revision.state
        entries.append(
            TimelineEntry(
                revision.at,
                Happening.RFC_STATE,
                f"{revision.number} is {revision.state}",
                str(Subject.rfc(revision.number)),
            )
        )
    for deployment in deployments:
        entries.append(
            TimelineEntry(
                deployment.at,
                Happening.DEPLOYED,
                f"deployed to {deployment.environment} under {deployment.rfc_number}"
                + ("" if deployment.approved else " (RFC not approved)"),
                str(Subject.rfc(deployment.rfc_number)),
            )
        )
    for stay in stays:
        if stay.deployed_to is None:
            continue
        what = Happening.ROLLED_BACK if stay.undone else Happening.REPLACED
        words = "rolled back" if stay.undone else "replaced by another version"
        entries.append(
            TimelineEntry(
                stay.deployed_to, what, f"{words} in {stay.environment}", str(Subject.rfc(stay.rfc_number))
            )
        )
    # The bridge's clock and ServiceNow's may disagree by seconds: a move is listed after the
    # deployment it is for, whatever the two stamps say, and shows its own time.
    deployed_at = {d.key: d.at for d in deployments}
    placed = [(entry.at, entry) for entry in entries]
    for move in moves:
        if move.status is not ActionStatus.DONE:
            continue
        entry = TimelineEntry(
            move.at,
            Happening.MOVED,
            f"defect {move.defect_id} moved from {move.from_state} to {move.to_state}",
            str(Subject.defect(move.defect_id)),
        )
        placed.append((max(move.at, deployed_at.get(move.deployment, move.at)), entry))
    order = list(Happening)
    placed.sort(key=lambda item: (item[0], order.index(item[1].what), item[1].text))
    return [entry for _, entry in placed]
