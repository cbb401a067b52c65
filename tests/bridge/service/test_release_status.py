"""Where a fixed defect stands for a release, and why; a release's timeline in causal order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bridge.engine.deployments import Deployment, LedgerEntry
from bridge.service.release_status import (
    Deployed,
    FixStatus,
    Happening,
    Move,
    RfcRevision,
    fix_status,
    timeline,
)
from bridge.store.ledger import DeploymentRow
from bridge.store.outbox import ActionStatus
from bridge.store.records import DefectRecord
from bridge.versions import Version
from tests.support.programme import at, context

RELEASE = "helix:1.1.0.0"
OTHER = "helix:1.0.0.0"
SIT_B = Deployment("SIT-B", "helix", Version.parse("1.1.0.0"), "CHG1", "s1", at(1), True, None)
DEPLOYMENT = SIT_B.key


def plan_with(*deployments: Deployment, ledger: tuple[LedgerEntry, ...] = ()) -> Deployed:
    """What the stored ledger holds for these deployments (undone where `ledger` says so)."""
    undone = {entry.deployment for entry in ledger if entry.undone}
    return Deployed.of_ledger(
        DeploymentRow(
            n,
            d.environment,
            d.component,
            str(d.version),
            d.rfc_number,
            d.at,
            None,
            d.key in undone,
            d.approved,
            d.rfc_sys_id,
        )
        for n, d in enumerate(deployments)
    )


def defect(state: str) -> DefectRecord:
    return DefectRecord(7, 3, state, "3 - Medium", "Totals wrong", at(0))


def move(
    status: ActionStatus, *, release: str | None = RELEASE, reason: str = "retest", **more: object
) -> Move:
    base = Move(7, release, DEPLOYMENT, reason, "Fixed", "Ready for Retest", status, at(2), None, None)
    return replace(base, **more)


@pytest.mark.parametrize(
    ("state", "moves", "deployments", "status", "why"),
    [
        (
            "Ready for Retest",
            [move(ActionStatus.DONE)],
            [SIT_B],
            FixStatus.MOVED,
            "moved to Ready for Retest for the deployment to SIT-B under CHG1",
        ),
        (
            "Fixed",
            [move(ActionStatus.DONE), move(ActionStatus.DONE, reason="rollback", to_state="Fixed", at=at(3))],
            [SIT_B],
            FixStatus.MOVED_BACK,
            "moved back to Fixed: the deployment to SIT-B under CHG1 was rolled back",
        ),
        (
            "Fixed",
            [move(ActionStatus.PENDING)],
            [SIT_B],
            FixStatus.WAITING,
            "move to Ready for Retest queued for the deployment to SIT-B under CHG1",
        ),
        (
            "Fixed",
            [move(ActionStatus.RETRY, error="429 Too Many Requests")],
            [SIT_B],
            FixStatus.WAITING,
            "move to Ready for Retest retrying: 429 Too Many Requests",
        ),
        (
            "Fixed",
            [move(ActionStatus.DEAD, error="403 Forbidden")],
            [SIT_B],
            FixStatus.FAILED,
            "the move failed: 403 Forbidden; retry it from the outbox",
        ),
        ("Fixed", [], [], FixStatus.WAITING, "waiting for a deployment under an approved RFC"),
        (
            "Fixed",
            [],
            [replace(SIT_B, approved=False)],
            FixStatus.WAITING,
            "deployed under CHG1, which is not approved",
        ),
        ("Fixed", [], [SIT_B], FixStatus.WAITING, "to be moved at the bridge's next cycle"),
        ("Closed", [], [SIT_B], FixStatus.LEFT, "already retested: Closed"),
        ("Ready for Retest", [], [SIT_B], FixStatus.LEFT, "already Ready for Retest"),
        (
            "Ready for Retest",
            [move(ActionStatus.DONE, release=OTHER, deployment="SIT-A:helix:1.0.0.0:CHG0")],
            [SIT_B],
            FixStatus.LEFT,
            "already Ready for Retest: moved for the deployment to SIT-A under CHG0",
        ),
        ("In Progress", [], [SIT_B], FixStatus.LEFT, "In Progress, not Fixed or Resolved"),
        (
            "Active",
            [move(ActionStatus.SKIPPED, detail="changed in ADO since")],
            [SIT_B],
            FixStatus.LEFT,
            "Active, not Fixed or Resolved (move skipped: changed in ADO since)",
        ),
    ],
)
def test_each_status_says_why(
    state: str, moves: list[Move], deployments: list[Deployment], status: FixStatus, why: str
) -> None:
    fix = fix_status(7, defect(state), RELEASE, moves, plan_with(*deployments), context())
    assert (fix.status, fix.why) == (status, why)
    assert (fix.id, fix.title, fix.state) == (7, "Totals wrong", state)


def test_a_defect_ado_does_not_show_is_left_with_no_state() -> None:
    fix = fix_status(7, None, RELEASE, [], plan_with(SIT_B), context())
    assert (fix.status, fix.why, fix.state) == (FixStatus.LEFT, "ADO shows no such defect (yet)", None)


def test_an_undone_deployment_does_not_count_as_in_place() -> None:
    undone = LedgerEntry("SIT-B", "helix", SIT_B.version, "CHG1", at(1), at(2), True, DEPLOYMENT)
    fix = fix_status(7, defect("Fixed"), RELEASE, [], plan_with(SIT_B, ledger=(undone,)), context())
    assert (fix.status, fix.why) == (FixStatus.WAITING, "waiting for a deployment under an approved RFC")


def test_with_the_release_note_policy_a_fixed_defect_waits_for_the_next_cycle_only() -> None:
    fix = fix_status(7, defect("Fixed"), RELEASE, [], plan_with(), context(retest_on="release_note"))
    assert (fix.status, fix.why) == (FixStatus.WAITING, "to be moved at the bridge's next cycle")


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
