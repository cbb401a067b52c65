"""Where each defect a release lists as fixed stands for that release, and why, in defect managers' words.

The engine decides a `Fix` for every (release, defect) pair and the worker stores it; the pages and the
read API show it as stored, adding only what the outbox knows of a move under way (done, retrying,
failed), so the retest rule is worded and decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FixStatus(StrEnum):
    """Where a defect a release lists as fixed stands, for that release."""

    MOVED = "moved"  # the bridge moved it to Ready for Retest for this release
    MOVED_BACK = "moved back"  # and moved it back when the deployment was rolled back
    WAITING = "waiting"  # a move is queued, or waits for a deployment under an approved RFC
    FAILED = "failed"  # the move failed for good; an operator's retry is needed
    LEFT = "left"  # the bridge leaves it be, for the reason given


@dataclass(frozen=True)
class PlannedMove:
    """The move the engine wants of a defect for a release: the outbox's action of that key."""

    key: str
    to_state: str
    where: str  # "the deployment to SIT-B under CHG1", "the release note"
    back: bool  # a rollback's move back


@dataclass(frozen=True)
class Fix:
    """The engine's word on one defect that one release lists as fixed."""

    release: str  # release key
    defect_id: int
    status: FixStatus
    why: str
    move: PlannedMove | None = None
    title: str | None = None  # the defect's, as last read; None when ADO shows no such defect
    state: str | None = None

    def dispatched(
        self, outcome: str | None, error: str | None, skipped: str | None = None
    ) -> tuple[FixStatus, str]:
        """The status and why with what the outbox knows: `outcome` is the action status of this fix's
        move (pending, running, done, skipped, retry, dead; None if it is not in the outbox), `error` its
        last error, `skipped` why the latest of the defect's moves for this release was skipped, if it was.
        """
        move = self.move
        if move is None or outcome is None:
            if self.status is FixStatus.LEFT and skipped:
                return self.status, f"{self.why} (move skipped: {skipped})"
            return self.status, self.why
        if outcome == "done":
            return (FixStatus.MOVED_BACK if move.back else FixStatus.MOVED), moved_why(
                move.to_state, move.where, move.back
            )
        if outcome == "dead":
            return (
                FixStatus.FAILED,
                f"the move failed: {error or 'no error recorded'}; retry it from the outbox",
            )
        if outcome == "retry":
            return FixStatus.WAITING, f"move to {move.to_state} retrying: {error or 'transient error'}"
        return self.status, self.why


def moved_why(to_state: str, where: str, back: bool) -> str:
    if back:
        return f"moved back to {to_state}: {where} was rolled back"
    return f"moved to {to_state} for {where}"


def queued_why(to_state: str, where: str, back: bool) -> str:
    if back:
        return f"move back to {to_state} queued: {where} was rolled back"
    return f"move to {to_state} queued for {where}"
