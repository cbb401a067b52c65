"""A release's timeline in causal order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bridge.engine.deployments import Deployment, LedgerEntry
from bridge.service.read.release_status import (
    Happening,
    Move,
    RfcRevision,
    timeline,
)
from bridge.store.outbox import ActionStatus
from bridge.versions import Version
from tests.support.programme import at

RELEASE = "helix:1.1.0.0"
SIT_B = Deployment("SIT-B", "helix", Version.parse("1.1.0.0"), "CHG1", "s1", at(1), True, None)
DEPLOYMENT = SIT_B.key


def move(
    status: ActionStatus, *, release: str | None = RELEASE, reason: str = "retest", **more: object
) -> Move:
    base = Move(7, release, DEPLOYMENT, reason, "Fixed", "Ready for Retest", status, at(2), None, None)
    return replace(base, **more)


def test_the_timeline_orders_a_move_after_its_deployment_even_when_clocks_disagree() -> None:
    # ServiceNow stamped the deployment a few seconds after the bridge's clock says it moved the defect.
    early_move = move(ActionStatus.DONE, at=SIT_B.at - timedelta(seconds=3))
    rolled_back = LedgerEntry("SIT-B", "helix", SIT_B.version, "CHG1", at(1), at(5), True, DEPLOYMENT)
    entries = timeline(
        tag="v1.1.0.0",
        published_at=at(-10),
        rfc_revisions=[
            RfcRevision("CHG1", "Scheduled", at(-2)),
            RfcRevision("CHG1", "Scheduled", at(-1)),  # a revision without a change of state
            RfcRevision("CHG1", "Review", at(1)),
        ],
        deployments=[SIT_B],
        stays=[rolled_back],
        moves=[early_move, move(ActionStatus.PENDING)],
    )
    assert [(e.what, e.text) for e in entries] == [
        (Happening.PUBLISHED, "tag v1.1.0.0 published"),
        (Happening.RFC_STATE, "CHG1 is Scheduled"),
        (Happening.RFC_STATE, "CHG1 is Review"),
        (Happening.DEPLOYED, "deployed to SIT-B under CHG1"),
        (Happening.MOVED, "defect 7 moved from Fixed to Ready for Retest"),
        (Happening.ROLLED_BACK, "rolled back in SIT-B"),
    ]
    assert entries[4].at == early_move.at  # shown with its own time
    assert [e.source for e in entries] == [
        "note:v1.1.0.0",
        "rfc:CHG1",
        "rfc:CHG1",
        "rfc:CHG1",
        "defect:7",
        "rfc:CHG1",
    ]
