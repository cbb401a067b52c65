"""RFC work notes and correlation, draft RFCs, and the emergency carry-forward check."""

from __future__ import annotations

from datetime import timedelta

from bridge.domain.actions import AddWorkNote, CheckAncestry, CreateRfcDraft, SetCorrelation
from bridge.domain.events import AncestryChecked, DomainEvent, RfcState
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, release, rfc


def _plan(*events: DomainEvent, now_hours: float = 100, **context_args: object) -> Plan:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return plan(state, context(**context_args), at(now_hours))


def test_the_work_note_tells_the_release_its_defects_crs_check_and_points() -> None:
    result = _plan(
        release("1.0.2.0", fixed=(48211,), outstanding=(48190,), rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.SCHEDULED, mod=4, updated=at(1)),
    )
    notes = [a for a in result.actions if isinstance(a, AddWorkNote)]
    assert len(notes) == 1
    text = notes[0].text
    assert text.startswith("[Release bridge] Linked release(s) of CHG0031245")
    for expected in (
        "Release dip-platform 1.0.2.0 (patch)",
        "Tag: dip-platform/1.0.2.0 (https://gitlab.example.com/mhhs/dip-platform/-/releases/dip-platform%2F1.0.2.0)",
        "Defects fixed: 48211 (3 - Medium)",
        "Defects outstanding: 48190 (4 - Low)",
        "Release note check: complete",
        "7. RFC approved: pass",
    ):
        assert expected in text


def test_the_same_content_gives_the_same_work_note_key_and_a_change_a_new_one() -> None:
    events = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.SCHEDULED, mod=4, updated=at(1)),
    ]
    first = {a.key for a in _plan(*events).actions if isinstance(a, AddWorkNote)}
    again = {
        a.key
        for a in _plan(*events, rfc("CHG0031245", RfcState.SCHEDULED, mod=5, updated=at(2))).actions
        if isinstance(a, AddWorkNote)
    }
    closed = {
        a.key
        for a in _plan(
            *events,
            rfc(
                "CHG0031245", RfcState.CLOSED, mod=9, updated=at(3), close_code="successful", close_notes="ok"
            ),
        ).actions
        if isinstance(a, AddWorkNote)
    }
    assert first == again
    assert closed != first


def test_correlation_is_set_when_empty_or_ours_never_over_someone_elses() -> None:
    def correlation(value: str) -> list[SetCorrelation]:
        result = _plan(
            release("1.0.2.0", rfc="CHG0031245"),
            rfc("CHG0031245", RfcState.NEW, mod=1, updated=at(1), correlation_id=value),
        )
        return [a for a in result.actions if isinstance(a, SetCorrelation)]

    [empty] = correlation("")
    assert (empty.correlation_id, empty.correlation_display) == (
        "release-bridge:dip-platform:1.0.2.0",
        "dip-platform 1.0.2.0",
    )
    assert correlation("release-bridge:dip-platform:1.0.2.0") == []
    assert correlation("JIRA-REL-77") == []
    assert len(correlation("release-bridge:dip-platform:1.0.1.0")) == 1


def test_drafts_are_off_by_default_and_made_once_the_wait_is_over() -> None:
    lonely = release("1.0.2.0", fixed=(48211,), published=at(0))
    assert not [a for a in _plan(lonely, now_hours=48).actions if isinstance(a, CreateRfcDraft)]
    early = _plan(lonely, now_hours=10, create_rfc_drafts=True, rfc_draft_after=timedelta(hours=24))
    assert not [a for a in early.actions if isinstance(a, CreateRfcDraft)]
    due = _plan(lonely, now_hours=30, create_rfc_drafts=True, rfc_draft_after=timedelta(hours=24))
    [draft] = [a for a in due.actions if isinstance(a, CreateRfcDraft)]
    assert draft.short_description == "Deploy dip-platform 1.0.2.0 to SIT-A"
    assert draft.correlation_id == "release-bridge:dip-platform:1.0.2.0"
    assert "48211" in draft.description and "Backout plan" in draft.description
    assert draft.key == "create_rfc_draft:release-bridge:dip-platform:1.0.2.0"


def test_no_draft_for_a_release_an_rfc_links_to() -> None:
    result = _plan(
        release("1.0.2.0", published=at(0)),
        rfc(
            "CHG0000009",
            RfcState.NEW,
            mod=1,
            updated=at(1),
            correlation_id="release-bridge:dip-platform:1.0.2.0",
        ),
        now_hours=30,
        create_rfc_drafts=True,
    )
    assert not [a for a in result.actions if isinstance(a, CreateRfcDraft)]


EMERGENCY = release("1.0.1.3", fixed=(48255, 48256))


def test_an_emergency_fix_not_listed_in_the_next_regular_release_is_a_finding() -> None:
    result = _plan(release("1.0.1.0"), EMERGENCY, release("1.0.2.0", fixed=(48255, 48211)))
    dropped = [f for f in result.findings if f.code == "carry_forward.dropped_fix"]
    assert [(f.subject, "48256" in f.message) for f in dropped] == [("release:dip-platform:1.0.2.0", True)]
    [verdict] = result.carry_forward
    assert (verdict.emergency, verdict.regular, verdict.dropped) == (
        "dip-platform:1.0.1.3",
        "dip-platform:1.0.2.0",
        (48256,),
    )


def test_ancestry_is_asked_of_gitlab_and_a_negative_answer_is_a_finding() -> None:
    events = [release("1.0.1.0"), EMERGENCY, release("1.0.2.0", fixed=(48255, 48256))]
    asked = [a for a in _plan(*events).actions if isinstance(a, CheckAncestry)]
    assert asked == [CheckAncestry("mhhs/dip-platform", "dip-platform/1.0.1.3", "dip-platform/1.0.2.0")]
    no = AncestryChecked("mhhs/dip-platform", "dip-platform/1.0.1.3", "dip-platform/1.0.2.0", False, "abc123")
    answered = _plan(*events, no)
    assert not [a for a in answered.actions if isinstance(a, CheckAncestry)]
    assert [f.code for f in answered.findings if f.code.startswith("carry_forward")] == [
        "carry_forward.not_ancestor"
    ]
    yes = AncestryChecked("mhhs/dip-platform", "dip-platform/1.0.1.3", "dip-platform/1.0.2.0", True, "def456")
    assert not [f for f in _plan(*events, yes).findings if f.code.startswith("carry_forward")]


def test_an_emergency_release_with_no_regular_successor_yet_is_pending() -> None:
    result = _plan(release("1.0.1.0"), EMERGENCY)
    [verdict] = result.carry_forward
    assert verdict.regular is None and verdict.ancestry is None
