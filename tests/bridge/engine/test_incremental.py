"""The incremental planner against the oracle: after every batch of events, in any order and with
duplicates, its plan is the full plan of the same state: the same actions, findings and verdicts."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.events import DomainEvent, RfcState
from bridge.engine.context import EngineContext
from bridge.engine.incremental import Planner
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.histories import histories
from support.programme import at, context, defect, release, rfc

CONTEXT = context()
NOW = at(1000)


def _same(incremental: Plan, oracle: Plan) -> None:
    assert {a.key: a for a in incremental.actions} == {a.key: a for a in oracle.actions}
    assert incremental.findings == oracle.findings
    assert incremental.carry_forward == oracle.carry_forward
    assert incremental.control_points == oracle.control_points
    assert incremental.ledger == oracle.ledger
    assert sorted(incremental.deployments, key=lambda d: d.key) == sorted(
        oracle.deployments, key=lambda d: d.key
    )
    assert incremental.links == oracle.links
    assert incremental.releases == oracle.releases


def _batches(data: st.DataObject, events: list[DomainEvent]) -> list[list[DomainEvent]]:
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events))) if events else []
    ordered = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ordered)), max_size=8)))
    batches, start = [], 0
    for cut in [*cuts, len(ordered)]:
        batches.append(ordered[start:cut])
        start = cut
    return batches


def _follow(batches: list[list[DomainEvent]], ctx: EngineContext) -> None:
    planner = Planner(ctx)
    state = ProgrammeState()
    for batch in batches:
        planner.apply(batch, NOW)
        for event in batch:
            state.apply(event)
        _same(planner.plan(), plan(state, ctx, NOW))


@settings(max_examples=150, deadline=None)
@given(histories(varied=True), st.data())
def test_after_every_batch_the_incremental_plan_is_the_full_plan(
    events: list[DomainEvent], data: st.DataObject
) -> None:
    _follow(_batches(data, events), CONTEXT)


@settings(max_examples=60, deadline=None)
@given(histories(varied=True), st.data())
def test_the_same_holds_when_defects_move_on_the_note(events: list[DomainEvent], data: st.DataObject) -> None:
    _follow(_batches(data, events), replace(CONTEXT, retest_on="release_note"))


@settings(max_examples=40, deadline=None)
@given(histories(varied=True), st.data())
def test_the_same_holds_with_draft_rfcs(events: list[DomainEvent], data: st.DataObject) -> None:
    _follow(_batches(data, events), replace(CONTEXT, create_rfc_drafts=True))


@settings(max_examples=60, deadline=None)
@given(histories(varied=True))
def test_a_planner_made_from_a_state_plans_what_the_oracle_plans(events: list[DomainEvent]) -> None:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    _same(Planner.of(state, CONTEXT, NOW).plan(), plan(state, CONTEXT, NOW))


def test_an_event_reports_only_what_it_changed() -> None:
    planner = Planner(CONTEXT)
    planner.apply(
        [
            release("1.0.2.0", fixed=(48210, 48211), rfc="CHG0031245"),
            rfc("CHG0031245", RfcState.REVIEW, mod=4, updated=at(5)),
            defect(48210, "Fixed", rev=3),
            defect(48211, "In Progress", rev=2),
        ],
        NOW,
    )
    moved = planner.apply([defect(48211, "Fixed", rev=3)], NOW)
    assert [a.key for a in moved.added if a.kind == "move_defect"] == ["move_defect:48211:3:Ready for Retest"]
    assert "defect:48211" in moved.subjects  # the "left alone" finding is gone
    assert not moved.places and not moved.releases and not moved.links

    again = planner.apply([defect(48211, "Fixed", rev=3)], NOW)
    assert again.empty

    rolled = planner.apply(
        [rfc("CHG0031245", RfcState.CLOSED, mod=5, updated=at(9), close_code="unsuccessful")], NOW
    )
    assert rolled.places == {("SIT-A", "dip-platform")}
    assert {"move_defect:48210:3:Ready for Retest", "move_defect:48211:3:Ready for Retest"} <= rolled.gone
