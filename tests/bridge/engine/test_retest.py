"""Retest and rollback: defects move when their fix is deployed under an approved RFC, back on rollback."""

from __future__ import annotations

from bridge.domain.actions import MoveDefect
from bridge.domain.events import DomainEvent, RfcState
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, defect, moved, release, rfc

DEPLOYMENT = "SIT-A:dip-platform:1.0.2.0:CHG0031245"


def _plan(*events: DomainEvent, **context_args: object) -> Plan:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return plan(state, context(**context_args), at(100))


def _moves(result: Plan) -> dict[int, MoveDefect]:
    return {a.defect_id: a for a in result.actions if isinstance(a, MoveDefect)}


def _codes(result: Plan) -> set[tuple[str, str]]:
    return {(f.code, f.subject) for f in result.findings}


BASE = (
    release("1.0.0.0", published=at(-100)),
    release("1.0.1.0", published=at(-50)),
    release("1.0.2.0", fixed=(48211, 48260, 48275, 48299), outstanding=(48190,), rfc="CHG0031245"),
)


def test_fixed_defects_in_an_eligible_state_move_when_the_rfc_is_deployed() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        defect(48211, "Fixed", rev=4),
        defect(48260, "Resolved", rev=2),
        defect(48275, "In Progress", rev=9),
    )
    moves = _moves(result)
    assert sorted(moves) == [48211, 48260]
    move = moves[48211]
    assert (move.expected_rev, move.from_state, move.to_state, move.deployment) == (
        4,
        "Fixed",
        "Ready for Retest",
        DEPLOYMENT,
    )
    assert "dip-platform 1.0.2.0" in move.comment and "CHG0031245" in move.comment and "SIT-A" in move.comment
    assert [link.comment for link in move.links] == [
        "GitLab release dip-platform/1.0.2.0",
        "ServiceNow RFC CHG0031245",
    ]
    codes = _codes(result)
    assert ("retest.left_alone", "defect:48275") in codes
    assert ("retest.defect_not_found", "defect:48299") in codes


def test_nothing_moves_before_the_rfc_is_deployed() -> None:
    for state in (RfcState.NEW, RfcState.SCHEDULED, RfcState.IMPLEMENT):
        result = _plan(*BASE, rfc("CHG0031245", state, mod=3, updated=at(5)), defect(48211, "Fixed", rev=4))
        assert _moves(result) == {}


def test_closed_successful_counts_as_deployed_even_if_review_was_never_seen() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(8), close_code="successful"),
        defect(48211, "Fixed", rev=4),
    )
    assert list(_moves(result)) == [48211]


def test_a_deployment_under_an_rfc_that_is_not_approved_moves_nothing_and_is_a_finding() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5), approval="requested"),
        defect(48211, "Fixed", rev=4),
    )
    assert _moves(result) == {}
    assert ("deployment.rfc_not_approved", "rfc:CHG0031245") in _codes(result)


def test_a_defect_moved_for_this_deployment_is_not_moved_again() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        defect(48211, "Fixed", rev=6),  # a person set it back to Fixed after the bridge's move
        moved(48211, DEPLOYMENT, rev=5),
    )
    assert 48211 not in _moves(result)


def test_a_defect_that_becomes_eligible_later_moves_while_the_release_is_still_deployed() -> None:
    events = [
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        defect(48275, "In Progress", rev=9),
    ]
    assert 48275 not in _moves(_plan(*events))
    assert _moves(_plan(*events, defect(48275, "Fixed", rev=10)))[48275].expected_rev == 10


def test_a_fix_stays_deployed_when_a_later_release_follows_it() -> None:
    # Releases are cumulative: 1.0.3.0 in SIT-A still carries 1.0.2.0's fixes.
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(5), close_code="successful"),
        release("1.0.3.0", fixed=(48400, 48211), rfc="CHG0031300"),
        rfc("CHG0031300", RfcState.REVIEW, mod=4, updated=at(30)),
        defect(48211, "Fixed", rev=4),
        defect(48275, "Fixed", rev=10),
        defect(48400, "Fixed", rev=2),
    )
    moves = _moves(result)
    assert sorted(moves) == [48211, 48275, 48400]
    # A defect both releases fix is moved once, for the newest deployment that lists it.
    assert moves[48211].deployment == "SIT-A:dip-platform:1.0.3.0:CHG0031300"
    assert moves[48275].deployment == DEPLOYMENT


def test_a_rollback_leaves_a_fix_that_a_deployment_in_place_still_carries() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(5), close_code="successful"),
        release("1.0.3.0", fixed=(48400, 48211), rfc="CHG0031300"),
        rfc("CHG0031300", RfcState.REVIEW, mod=4, updated=at(30)),
        rfc("CHG0031300", RfcState.CLOSED, mod=6, updated=at(40), close_code="unsuccessful"),
        defect(48211, "Ready for Retest", rev=5),
        defect(48400, "Ready for Retest", rev=3),
        moved(48211, "SIT-A:dip-platform:1.0.3.0:CHG0031300", rev=5),
        moved(48400, "SIT-A:dip-platform:1.0.3.0:CHG0031300", rev=3),
    )
    moves = _moves(result)
    assert list(moves) == [48400]  # 48211's fix is still in SIT-A through 1.0.2.0
    assert moves[48400].reason == "rollback"


def test_rfc_closed_backed_out_returns_moved_defects_still_in_ready_for_retest() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(9), close_code="unsuccessful"),
        defect(48211, "Ready for Retest", rev=5),
        defect(48260, "In Retest", rev=8),
        moved(48211, DEPLOYMENT, rev=5),
        moved(48260, DEPLOYMENT, rev=3, from_state="Resolved"),
    )
    moves = _moves(result)
    assert list(moves) == [48211]
    back = moves[48211]
    assert (back.from_state, back.to_state, back.reason, back.expected_rev) == (
        "Ready for Retest",
        "Fixed",
        "rollback",
        5,
    )
    assert "rolled back" in back.comment
    assert ("rollback.already_retested", "defect:48260") in _codes(result)
    entry = next(e for e in result.ledger if e.version.parts == (1, 0, 2, 0))
    assert entry.undone and entry.deployed_to == at(9)


def test_a_defect_already_back_in_its_state_before_the_move_is_neither_moved_nor_reported() -> None:
    # The bridge's rollback move reached ADO but its reply was lost (or a person moved it back).
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        rfc("CHG0031245", RfcState.CLOSED, mod=9, updated=at(9), close_code="unsuccessful"),
        defect(48211, "Fixed", rev=6),
        moved(48211, DEPLOYMENT, rev=5),
    )
    assert 48211 not in _moves(result)
    assert not {code for code, subject in _codes(result) if subject == "defect:48211"}


def test_an_older_version_deployed_again_undoes_the_newer_one() -> None:
    result = _plan(
        *BASE,
        rfc(
            "CHG0031200",
            RfcState.CLOSED,
            mod=5,
            updated=at(1),
            close_code="successful",
            short_description="Deploy dip-platform 1.0.1.0 to SIT-A",
        ),
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),
        rfc(
            "CHG0031290",
            RfcState.REVIEW,
            mod=3,
            updated=at(20),
            short_description="Redeploy dip-platform 1.0.1.0 to SIT-A after a failed 1.0.2.0",
        ),
        defect(48211, "Ready for Retest", rev=5),
        moved(48211, DEPLOYMENT, rev=5),
    )
    assert _moves(result)[48211].reason == "rollback"
    current = [e for e in result.ledger if e.current]
    assert [(str(e.version), e.rfc_number) for e in current] == [("1.0.1.0", "CHG0031290")]
    undone = [str(e.version) for e in result.ledger if e.undone]
    assert undone == ["1.0.2.0"]


def test_release_note_policy_moves_as_soon_as_the_note_is_published() -> None:
    result = _plan(*BASE, defect(48211, "Fixed", rev=4), retest_on="release_note")
    move = _moves(result)[48211]
    assert move.deployment == "note:dip-platform:1.0.2.0"
    assert "release note" in move.comment


def test_an_rfc_with_no_known_environment_is_a_finding_and_moves_nothing() -> None:
    result = _plan(
        *BASE,
        rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5), environment="Production"),
        defect(48211, "Fixed", rev=4),
    )
    assert _moves(result) == {}
    assert ("rfc.environment_unknown", "rfc:CHG0031245") in _codes(result)
