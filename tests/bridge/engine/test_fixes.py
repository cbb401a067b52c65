"""Where each defect a release lists as fixed stands for it, and why: decided with the moves, stored as is."""

from __future__ import annotations

import pytest

from bridge.domain.events import DomainEvent, RfcState
from bridge.domain.fixes import Fix, FixStatus
from bridge.engine.reconcile import plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, defect, moved, release, rfc

SIT_A = "SIT-A:dip-platform:1.0.2.0:CHG0031245"
EARLIER = "SIT-A:dip-platform:1.0.1.0:CHG0031100"
RELEASE = release("1.0.2.0", fixed=(48211,), rfc="CHG0031245")
DEPLOYED = rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5))


def _fix(*events: DomainEvent, **context_args: object) -> Fix:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    fixes = {(f.release, f.defect_id): f for f in plan(state, context(**context_args), at(100)).fixes}
    return fixes[("dip-platform:1.0.2.0", 48211)]


@pytest.mark.parametrize(
    ("events", "status", "why"),
    [
        (
            [DEPLOYED, defect(48211, "Fixed", rev=4)],
            FixStatus.WAITING,
            "move to Ready for Retest queued for the deployment to SIT-A under CHG0031245",
        ),
        (
            [DEPLOYED, defect(48211, "Ready for Retest", rev=5), moved(48211, SIT_A, rev=5)],
            FixStatus.MOVED,
            "moved to Ready for Retest for the deployment to SIT-A under CHG0031245",
        ),
        (
            [defect(48211, "Fixed", rev=4)],
            FixStatus.WAITING,
            "waiting for a deployment under an approved RFC",
        ),
        (
            [
                rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5), approval="requested"),
                defect(48211, "Fixed", rev=4),
            ],
            FixStatus.WAITING,
            "deployed under CHG0031245, which is not approved",
        ),
        ([DEPLOYED, defect(48211, "Closed", rev=9)], FixStatus.LEFT, "already retested: Closed"),
        ([DEPLOYED, defect(48211, "Ready for Retest", rev=9)], FixStatus.LEFT, "already Ready for Retest"),
        (
            [
                release("1.0.1.0", fixed=(48211,), rfc="CHG0031100"),
                rfc("CHG0031100", RfcState.REVIEW, mod=3, updated=at(2)),
                moved(48211, EARLIER, rev=5),
                DEPLOYED,
                defect(48211, "Ready for Retest", rev=5),
            ],
            FixStatus.LEFT,
            "already Ready for Retest: moved for the deployment to SIT-A under CHG0031100",
        ),
        (
            [DEPLOYED, defect(48211, "In Progress", rev=2)],
            FixStatus.LEFT,
            "In Progress, not Fixed or Resolved",
        ),
        ([DEPLOYED], FixStatus.LEFT, "ADO shows no such defect (yet)"),
    ],
)
def test_each_status_says_why(events: list[DomainEvent], status: FixStatus, why: str) -> None:
    fix = _fix(RELEASE, *events)
    assert (fix.status, fix.why) == (status, why)


def test_a_queued_move_names_its_outbox_action() -> None:
    state = ProgrammeState()
    for event in (RELEASE, DEPLOYED, defect(48211, "Fixed", rev=4)):
        state.apply(event)
    result = plan(state, context(), at(100))
    fix = next(f for f in result.fixes if f.defect_id == 48211)
    assert fix.move is not None
    assert fix.move.key in {a.key for a in result.actions}
    assert (fix.move.to_state, fix.move.back) == ("Ready for Retest", False)


def test_a_rolled_back_deployment_moves_the_defect_back_and_says_so() -> None:
    backed_out = rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(9), close_code="unsuccessful")
    moved_there = [defect(48211, "Ready for Retest", rev=5), moved(48211, SIT_A, rev=5)]
    queued = _fix(RELEASE, DEPLOYED, backed_out, *moved_there)
    assert (queued.status, queued.why) == (
        FixStatus.WAITING,
        "move back to Fixed queued: the deployment to SIT-A under CHG0031245 was rolled back",
    )
    assert queued.move is not None and queued.move.back
    back = moved(48211, SIT_A, rev=6, from_state="Ready for Retest", to_state="Fixed", reason="rollback")
    done = _fix(RELEASE, DEPLOYED, backed_out, moved_there[1], defect(48211, "Fixed", rev=6), back)
    assert (done.status, done.why) == (
        FixStatus.MOVED_BACK,
        "moved back to Fixed: the deployment to SIT-A under CHG0031245 was rolled back",
    )


def test_with_the_release_note_policy_a_fixed_defect_moves_for_the_note() -> None:
    fix = _fix(RELEASE, defect(48211, "Fixed", rev=4), retest_on="release_note")
    assert (fix.status, fix.why) == (
        FixStatus.WAITING,
        "move to Ready for Retest queued for the release note",
    )


def test_a_release_no_longer_listing_a_defect_has_no_fix_for_it() -> None:
    state = ProgrammeState()
    for event in (RELEASE, DEPLOYED, defect(48211, "Fixed", rev=4)):
        state.apply(event)
    state.apply(release("1.0.2.0", fixed=(48260,), rfc="CHG0031245", read=at(50)))
    listed = {(f.release, f.defect_id) for f in plan(state, context(), at(100)).fixes}
    assert listed == {("dip-platform:1.0.2.0", 48260)}
