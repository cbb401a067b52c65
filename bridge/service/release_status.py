"""Where a release stands, in release managers' words: each fixed defect's status and why, the timeline.

Read from what the store holds (defects as last read, the outbox's moves, the ledger the worker
stored); free of HTTP and of queries, so the pages, the read API and their tests share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.engine.context import EngineContext
from bridge.engine.deployments import Deployment, LedgerEntry
from bridge.engine.retest import ROLLBACK
from bridge.store.ledger import DeploymentRow
from bridge.store.outbox import ActionStatus
from bridge.store.records import DefectRecord
from bridge.versions import Version

WAITING_STATUSES = (ActionStatus.PENDING, ActionStatus.RUNNING, ActionStatus.RETRY)


class FixStatus(StrEnum):
    """Where a defect a release lists as fixed stands, for that release."""

    MOVED = "moved"  # the bridge moved it to Ready for Retest for this release
    MOVED_BACK = "moved back"  # and moved it back when the deployment was rolled back
    WAITING = "waiting"  # a move is queued, or waits for a deployment under an approved RFC
    FAILED = "failed"  # the move failed for good; an operator's retry is needed
    LEFT = "left"  # the bridge leaves it be, for the reason given


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
class DefectFix:
    """A defect a release lists as fixed: its state in ADO, the status for the release and why."""

    id: int
    title: str | None
    state: str | None
    status: FixStatus
    why: str


@dataclass(frozen=True)
class Deployed:
    """What the stored ledger says is deployed, indexed once per page: by release, and in place."""

    by_release: dict[str, list[Deployment]]  # each release's deployments, oldest first
    in_place: frozenset[str]  # keys of deployments not undone (backed out, or replaced by an older one)
    stays: dict[str, list[LedgerEntry]]  # each release's stays in environments, oldest first

    @classmethod
    def of_ledger(cls, rows: Iterable[DeploymentRow]) -> Deployed:
        """From the ledger rows of some releases (each stay is one deployment)."""
        by_release: dict[str, list[Deployment]] = {}
        stays: dict[str, list[LedgerEntry]] = {}
        in_place: set[str] = set()
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
            if not row.rolled_back:
                in_place.add(deployment.key)
        return cls(by_release, frozenset(in_place), stays)


def fix_status(
    defect_id: int,
    record: DefectRecord | None,
    release: str,
    moves: Sequence[Move],
    deployed: Deployed,
    context: EngineContext,
) -> DefectFix:
    """The status of one fixed defect for `release`, from its moves (all releases'), its state, the ledger."""
    title = record.title if record else None
    state = record.state if record else None

    def fix(status: FixStatus, why: str) -> DefectFix:
        return DefectFix(defect_id, title, state, status, why)

    mine = sorted((m for m in moves if m.release == release), key=lambda m: m.at)
    done = [m for m in mine if m.status is ActionStatus.DONE]
    if done:
        last = done[-1]
        if last.reason == ROLLBACK:
            return fix(FixStatus.MOVED_BACK, f"moved back to {last.to_state}: {_where(last)} was rolled back")
        return fix(FixStatus.MOVED, f"moved to {last.to_state} for {_where(last)}")
    for move in reversed(mine):
        if move.status is ActionStatus.DEAD:
            return fix(
                FixStatus.FAILED,
                f"the move failed: {move.error or 'no error recorded'}; retry it from the outbox",
            )
        if move.status in WAITING_STATUSES:
            if move.status is ActionStatus.RETRY:
                return fix(
                    FixStatus.WAITING, f"move to {move.to_state} retrying: {move.error or 'transient error'}"
                )
            return fix(FixStatus.WAITING, f"move to {move.to_state} queued for {_where(move)}")
    if record is None:
        return fix(FixStatus.LEFT, "ADO shows no such defect (yet)")
    if record.state in context.retested_states:
        return fix(FixStatus.LEFT, f"already retested: {record.state}")
    if record.state == context.ready_for_retest:
        other = [m for m in moves if m.status is ActionStatus.DONE and m.release not in (None, release)]
        if other:
            return fix(FixStatus.LEFT, f"already {record.state}: moved for {_where(other[-1])}")
        return fix(FixStatus.LEFT, f"already {record.state}")
    skipped = [m for m in mine if m.status is ActionStatus.SKIPPED]
    if record.state not in context.eligible_states:
        why = f"{record.state}, not {' or '.join(context.eligible_states)}"
        if skipped and skipped[-1].detail:
            why += f" (move skipped: {skipped[-1].detail})"
        return fix(FixStatus.LEFT, why)
    if context.retest_on == "release_note":
        return fix(FixStatus.WAITING, "to be moved at the bridge's next cycle")
    placed = [d for d in deployed.by_release.get(release, []) if d.key in deployed.in_place]
    if not placed:
        return fix(FixStatus.WAITING, "waiting for a deployment under an approved RFC")
    if not any(d.approved for d in placed):
        rfcs = ", ".join(sorted({d.rfc_number for d in placed}))
        return fix(FixStatus.WAITING, f"deployed under {rfcs}, which is not approved")
    return fix(FixStatus.WAITING, "to be moved at the bridge's next cycle")


def _where(move: Move) -> str:
    if move.deployment.startswith("note:"):
        return "the release note"
    environment, _, rest = move.deployment.partition(":")
    rfc = rest.rpartition(":")[2]
    return f"the deployment to {environment} under {rfc}" if rfc else f"the deployment to {environment}"


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
            TimelineEntry(published_at, Happening.PUBLISHED, f"tag {tag} published", f"note:{tag}")
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
                f"rfc:{revision.number}",
            )
        )
    for deployment in deployments:
        entries.append(
            TimelineEntry(
                deployment.at,
                Happening.DEPLOYED,
                f"deployed to {deployment.environment} under {deployment.rfc_number}"
                + ("" if deployment.approved else " (RFC not approved)"),
                f"rfc:{deployment.rfc_number}",
            )
        )
    for stay in stays:
        if stay.deployed_to is None:
            continue
        what = Happening.ROLLED_BACK if stay.undone else Happening.REPLACED
        words = "rolled back" if stay.undone else "replaced by another version"
        entries.append(
            TimelineEntry(stay.deployed_to, what, f"{words} in {stay.environment}", f"rfc:{stay.rfc_number}")
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
            f"defect:{move.defect_id}",
        )
        placed.append((max(move.at, deployed_at.get(move.deployment, move.at)), entry))
    order = list(Happening)
    placed.sort(key=lambda item: (item[0], order.index(item[1].what), item[1].text))
    return [entry for _, entry in placed]
