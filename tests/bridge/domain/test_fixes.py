"""A stored fix as shown: the engine's word, with what the outbox knows of the move it queued."""

from __future__ import annotations

import pytest

from bridge.domain.fixes import Fix, FixStatus, PlannedMove

WHERE = "the deployment to SIT-B under CHG1"
QUEUED = Fix(
    "helix:1.1.0.0",
    7,
    FixStatus.WAITING,
    f"move to Ready for Retest queued for {WHERE}",
    PlannedMove("move_defect:7:3:Ready for Retest", "Ready for Retest", WHERE, back=False),
)
BACK = Fix(
    "helix:1.1.0.0",
    7,
    FixStatus.WAITING,
    f"move back to Fixed queued: {WHERE} was rolled back",
    PlannedMove("move_defect:7:5:Fixed", "Fixed", WHERE, back=True),
)
LEFT = Fix("helix:1.1.0.0", 7, FixStatus.LEFT, "Active, not Fixed or Resolved")


@pytest.mark.parametrize(
    ("fix", "outcome", "error", "status", "why"),
    [
        (QUEUED, None, None, FixStatus.WAITING, f"move to Ready for Retest queued for {WHERE}"),
        (QUEUED, "pending", None, FixStatus.WAITING, f"move to Ready for Retest queued for {WHERE}"),
        (QUEUED, "running", None, FixStatus.WAITING, f"move to Ready for Retest queued for {WHERE}"),
        (QUEUED, "done", None, FixStatus.MOVED, f"moved to Ready for Retest for {WHERE}"),
        (BACK, "done", None, FixStatus.MOVED_BACK, f"moved back to Fixed: {WHERE} was rolled back"),
        (
            QUEUED,
            "retry",
            "429 Too Many Requests",
            FixStatus.WAITING,
            "move to Ready for Retest retrying: 429 Too Many Requests",
        ),
        (QUEUED, "retry", None, FixStatus.WAITING, "move to Ready for Retest retrying: transient error"),
        (
            QUEUED,
            "dead",
            "403 Forbidden",
            FixStatus.FAILED,
            "the move failed: 403 Forbidden; retry it from the outbox",
        ),
        (LEFT, None, None, FixStatus.LEFT, "Active, not Fixed or Resolved"),
    ],
)
def test_the_outbox_says_how_a_queued_move_went(
    fix: Fix, outcome: str | None, error: str | None, status: FixStatus, why: str
) -> None:
    assert fix.dispatched(outcome, error) == (status, why)


def test_a_defect_left_alone_says_why_its_move_was_skipped() -> None:
    assert LEFT.dispatched(None, None, "changed in ADO since") == (
        FixStatus.LEFT,
        "Active, not Fixed or Resolved (move skipped: changed in ADO since)",
    )
    # A move under way is not left alone: a skip of an earlier one says nothing about it.
    assert QUEUED.dispatched("pending", None, "changed in ADO since")[1] == QUEUED.why
