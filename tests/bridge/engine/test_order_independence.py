"""Events arrive in any order and more than once: the plan, and the moves carried out, do not depend on it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.actions import MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated, DomainEvent, ReleasePublished
from bridge.engine.context import EngineContext
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.histories import histories
from support.programme import at, context


def _shuffled_with_duplicates(data: st.DataObject, events: list[DomainEvent]) -> list[DomainEvent]:
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events))) if events else []
    return data.draw(st.permutations(events + duplicates))


def _state(events: list[DomainEvent]) -> ProgrammeState:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return state


def _summary(result: Plan) -> tuple[object, ...]:
    return (
        sorted(a.key for a in result.actions),
        result.findings,
        result.ledger,
        result.links,
        sorted((k, tuple(v)) for k, v in result.control_points.items()),
        result.carry_forward,
    )


CONTEXT = context()
NOW = at(1000)


@settings(max_examples=40, deadline=None)
@given(histories(), st.data())
def test_the_plan_does_not_depend_on_order_or_duplicates(
    events: list[DomainEvent], data: st.DataObject
) -> None:
    reference = _summary(plan(_state(events), CONTEXT, NOW))
    shuffled = _shuffled_with_duplicates(data, events)
    assert _summary(plan(_state(shuffled), CONTEXT, NOW)) == reference


def _run_bridge(
    events: list[DomainEvent], context: EngineContext
) -> tuple[Counter[tuple[int, str, str]], dict[int, str]]:
    """Feed events one by one, carrying out every move against a fake ADO after each, until quiet.

    The fake ADO applies a move only if the defect is still at the expected revision, as the `test`
    on `/rev` does, and reports the move back as the dispatcher would. Returns the moves carried out
    and the defects' final states.

    A move is counted as (defect, from state, to state): when two deployments carry the same fix,
    which one a move is credited to follows the order the bridge learnt of them; the move does not.
    """
    state = ProgrammeState()
    carried: Counter[tuple[int, str, str]] = Counter()
    for event in [*events, None]:
        if event is not None:
            state.apply(event)
        for _ in range(10):
            moves = [a for a in plan(state, context, NOW).actions if isinstance(a, MoveDefect)]
            if not moves:
                break
            for move in moves:
                current = state.defects.get(move.defect_id)
                if current is None or current.rev != move.expected_rev:
                    continue  # conflict: the engine decides again with the fresh revision
                rev = current.rev + 1
                when = current.changed_at + timedelta(seconds=1)
                state.apply(
                    DefectUpdated(
                        move.defect_id, rev, move.to_state, current.severity, current.title, when, "bridge"
                    )
                )
                state.apply(
                    DefectMoved(
                        move.defect_id,
                        move.deployment,
                        move.from_state,
                        move.to_state,
                        rev,
                        move.reason,
                        when,
                    )
                )
                carried[(move.defect_id, move.from_state, move.to_state)] += 1
    return carried, {d.id: d.state for d in state.defects.values()}


def _people_first(events: list[DomainEvent]) -> list[DomainEvent]:
    # People's edits of defects arrive before the bridge can act on them; the test is about the
    # order of everything else (releases, RFCs) and duplicates.
    return [e for e in events if isinstance(e, DefectUpdated)] + [
        e for e in events if not isinstance(e, DefectUpdated)
    ]


def _final_revisions_only(events: list[DomainEvent]) -> list[DomainEvent]:
    """Each record at its newest revision only: nothing transient for the bridge to act on."""
    newest: dict[tuple[str, str], DomainEvent] = {}
    for event in events:
        key = (
            type(event).__name__,
            event.record_key if not isinstance(event, ReleasePublished) else event.tag,
        )
        held = newest.get(key)
        if held is None or _order(event) > _order(held):
            newest[key] = event
    return list(newest.values())


def _order(event: DomainEvent) -> tuple[object, ...]:
    return (event.order,) if isinstance(event, ReleasePublished) else (event.revision,)


@settings(max_examples=30, deadline=None)
@given(histories(), st.data())
def test_the_moves_carried_out_do_not_depend_on_order_or_duplicates(
    events: list[DomainEvent], data: st.DataObject
) -> None:
    settled = _final_revisions_only(events)
    reference = _run_bridge(_people_first(settled), CONTEXT)
    assert _run_bridge(_people_first(_shuffled_with_duplicates(data, settled)), CONTEXT) == reference


@settings(max_examples=30, deadline=None)
@given(histories(edited_notes=False), st.data())
def test_with_rfcs_seen_through_their_lives_the_defects_end_in_the_same_states(
    events: list[DomainEvent], data: st.DataObject
) -> None:
    # Seen in another order, an RFC in Review can be acted on before its back-out arrives: the move
    # and its undo are both carried out. What a person sees at the end is the same.
    _, reference = _run_bridge(_people_first(events), CONTEXT)
    _, states = _run_bridge(_people_first(_shuffled_with_duplicates(data, events)), CONTEXT)
    assert states == reference
