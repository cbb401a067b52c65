"""The incremental planner against the oracle: after every batch of events, in any order and with
duplicates, its plan is the full plan of the same state: the same actions, findings and verdicts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.events import DomainEvent, RfcState
from bridge.domain.findings import Finding
from bridge.engine.context import EngineContext
from bridge.engine.incremental import PlanChanges, Planner
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
    assert incremental.fixes == oracle.fixes


def _batches(data: st.DataObject, events: list[DomainEvent]) -> list[list[DomainEvent]]:
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events))) if events else []
    ordered = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ordered)), max_size=8)))
    batches, start = [], 0
    for cut in [*cuts, len(ordered)]:
        batches.append(ordered[start:cut])
        start = cut
    return batches


def _differ(before: dict[Any, Any], after: dict[Any, Any]) -> set[Any]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def _reported(changes: PlanChanges, before: Plan, after: Plan) -> None:
    """Every difference between two consecutive plans is among the changes reported (the store writes
    only those)."""

    def links(p: Plan) -> dict[Any, Any]:
        return {(link.kind.value, link.release, link.other): link for link in p.links}

    def subjects(p: Plan) -> dict[str, Any]:
        found: dict[str, list[Finding]] = {}
        for finding in p.findings:
            found.setdefault(finding.subject, []).append(finding)
        return found

    def ledger(p: Plan) -> dict[Any, Any]:
        places: dict[Any, list[Any]] = {}
        for entry in p.ledger:
            places.setdefault((entry.environment, entry.component), []).append(entry)
        return places

    assert _differ(links(before), links(after)) <= changes.links
    assert _differ(subjects(before), subjects(after)) <= changes.subjects
    assert _differ(ledger(before), ledger(after)) <= changes.places
    assert (
        _differ({r.key: r for r in before.releases}, {r.key: r for r in after.releases}) <= changes.releases
    )
    assert _differ(before.control_points, after.control_points) <= changes.points

    def fixes(p: Plan) -> dict[Any, Any]:
        return {(f.release, f.defect_id): f for f in p.fixes}

    assert {defect for _, defect in _differ(fixes(before), fixes(after))} <= changes.fixes
    wanted_before = {a.key: a for a in before.actions}
    wanted_after = {a.key: a for a in after.actions}
    assert set(wanted_before) - set(wanted_after) <= changes.gone
    assert {k for k in wanted_after if wanted_before.get(k) != wanted_after[k]} <= {
        a.key for a in changes.added
    }
    assert not changes.gone & set(wanted_after)


def _follow(batches: list[list[DomainEvent]], ctx: EngineContext) -> None:
    planner = Planner(ctx)
    state = ProgrammeState()
    before = plan(state, ctx, NOW)
    for batch in batches:
        changes = planner.apply(batch, NOW)
        for event in batch:
            state.apply(event)
        after = plan(state, ctx, NOW)
        _same(planner.plan(), after)
        _reported(changes, before, after)
        before = after


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
