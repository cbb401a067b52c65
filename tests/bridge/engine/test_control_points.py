"""Control points 1-10 and the note's lead time, and the change window, judged from what the systems show."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bridge.domain.events import DomainEvent, JournalEntry, RfcState
from bridge.engine.control_points import PointStatus, working_day_deadline, working_days_before
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, note, release, rfc


def _plan(*events: DomainEvent) -> Plan:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return plan(state, context(), at(500))


def _points(result: Plan, key: str = "dip-platform:1.0.2.0") -> dict[str, PointStatus]:
    return {p.number: p.status for p in result.control_points[key]}


def _lifecycle(**kwargs: object) -> list[DomainEvent]:
    """An RFC through New → Scheduled → Implement (with a work note) → Review → Closed successful."""
    notes = (JournalEntry(at(30), "deployer", "Step 2 took 5 minutes longer: slow artefact copy."),)
    states = [
        (RfcState.NEW, 1, at(-48)),
        (RfcState.SCHEDULED, 4, at(-24)),
        (RfcState.IMPLEMENT, 6, at(26)),
        (RfcState.REVIEW, 8, at(40)),
    ]
    events: list[DomainEvent] = [
        rfc("CHG0031245", state, mod=mod, updated=when, cab=at(200), **kwargs)  # type: ignore[arg-type]
        for state, mod, when in states
    ]
    events.append(
        rfc(
            "CHG0031245",
            RfcState.CLOSED,
            mod=10,
            updated=at(60),
            close_code="successful",
            close_notes="Deployed to plan; lessons: pre-stage artefacts.",
            cab=at(200),
            work_notes=notes,
            **kwargs,  # type: ignore[arg-type]
        )
    )
    return events


def test_a_release_through_its_whole_lifecycle_passes_every_point() -> None:
    result = _plan(release("1.0.2.0", rfc="CHG0031245"), *_lifecycle())
    points = _points(result)
    assert points == {
        "1": PointStatus.PASS,
        "2": PointStatus.NOT_APPLICABLE,
        "4": PointStatus.PASS,
        "5": PointStatus.PASS,
        "6": PointStatus.PASS,
        "7": PointStatus.PASS,
        "8": PointStatus.PASS,
        "9": PointStatus.PASS,
        "10": PointStatus.PASS,
        "lead-time": PointStatus.PASS,
    }
    assert not [f for f in result.findings if f.code.startswith("control_point.")]


def test_without_an_rfc_the_rfc_points_are_pending() -> None:
    points = _points(_plan(release("1.0.2.0")))
    assert points["1"] is PointStatus.PENDING and points["7"] is PointStatus.PENDING


def test_an_incomplete_note_fails_points_4_and_5() -> None:
    text = note("1.0.2.0", complete=False).replace("## Outstanding defects", "## Notes")
    points = _points(_plan(release("1.0.2.0", text=text)))
    assert points["4"] is PointStatus.FAIL
    assert points["5"] is PointStatus.FAIL


def test_no_work_note_during_implement_fails_point_8_and_no_close_notes_fails_10() -> None:
    events = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.IMPLEMENT, mod=6, updated=at(26)),
        rfc("CHG0031245", RfcState.CLOSED, mod=10, updated=at(60), close_code="successful"),
    ]
    points = _points(_plan(*events))
    assert points["8"] is PointStatus.FAIL
    assert points["10"] is PointStatus.FAIL
    assert points["9"] is PointStatus.PASS


def test_implement_never_seen_uses_the_planned_start_for_point_8() -> None:
    noted = (JournalEntry(at(10), "deployer", "Deployed; one retry of step 3."),)
    events = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.REVIEW, mod=8, updated=at(40), work_notes=noted),
    ]
    assert _points(_plan(*events))["8"] is PointStatus.PASS
    unplanned = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.REVIEW, mod=8, updated=at(40), planned=None),
    ]
    assert _points(_plan(*unplanned))["8"] is PointStatus.PENDING


def test_a_backed_out_rollout_fails_point_9() -> None:
    events = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc(
            "CHG0031245",
            RfcState.CLOSED,
            mod=10,
            updated=at(60),
            close_code="unsuccessful",
            close_notes="Backed out.",
        ),
    ]
    assert _points(_plan(*events))["9"] is PointStatus.FAIL


def test_a_major_release_needs_governance_approval() -> None:
    major = release("2.0.0.0", component="helix-settlement", rfc="CHG0032001")
    without = _plan(major, rfc("CHG0032001", RfcState.SCHEDULED, mod=3, updated=at(1), environment="SIT-B"))
    assert _points(without, "helix-settlement:2.0.0.0")["2"] is PointStatus.FAIL
    approved = _plan(
        major,
        rfc(
            "CHG0032001",
            RfcState.SCHEDULED,
            mod=3,
            updated=at(1),
            environment="SIT-B",
            fields=(("governance_approval", "Approved"),),
        ),
    )
    assert _points(approved, "helix-settlement:2.0.0.0")["2"] is PointStatus.PASS


@pytest.mark.parametrize(
    ("published", "cab", "days"),
    [
        (date(2024, 3, 1), date(2024, 3, 4), 1),  # Friday for a Monday CAB
        (date(2024, 3, 4), date(2024, 3, 4), 0),  # on the day itself
        (date(2024, 3, 4), date(2024, 3, 11), 5),  # a week before
        (date(2024, 5, 24), date(2024, 5, 28), 1),  # Friday, then the Spring bank holiday Monday
        (date(2024, 12, 20), date(2025, 1, 2), 6),  # Christmas, Boxing Day and New Year excluded
    ],
)
def test_working_days_exclude_weekends_and_england_and_wales_bank_holidays(
    published: date, cab: date, days: int
) -> None:
    assert working_days_before(published, cab) == days


def test_the_deadline_is_the_last_day_that_gives_the_lead_time() -> None:
    cab = datetime(2024, 5, 28, 10, tzinfo=UTC)
    assert working_day_deadline(cab, 1) == date(2024, 5, 24)
    assert working_day_deadline(cab, 5) == date(2024, 5, 20)


def test_lead_time_is_five_working_days_for_a_major_and_one_for_others() -> None:
    cab = datetime(2024, 3, 11, 10, tzinfo=UTC)  # Monday
    patch = release("1.0.2.0", rfc="CHG0031245", published=datetime(2024, 3, 8, 9, tzinfo=UTC))
    late_major = release(
        "2.0.0.0",
        component="helix-settlement",
        rfc="CHG0032001",
        published=datetime(2024, 3, 6, 9, tzinfo=UTC),
    )
    result = _plan(
        patch,
        late_major,
        rfc("CHG0031245", RfcState.NEW, mod=1, updated=at(1), cab=cab),
        rfc("CHG0032001", RfcState.NEW, mod=1, updated=at(1), cab=cab, environment="SIT-B"),
    )
    assert _points(result)["lead-time"] is PointStatus.PASS
    assert _points(result, "helix-settlement:2.0.0.0")["lead-time"] is PointStatus.FAIL


def test_implement_outside_the_planned_window_is_a_finding() -> None:
    events = [
        release("1.0.2.0", rfc="CHG0031245"),
        rfc("CHG0031245", RfcState.IMPLEMENT, mod=6, updated=at(400)),  # the window ends at +240 h
    ]
    findings = [f for f in _plan(*events).findings if f.code == "rfc.outside_change_window"]
    assert [f.subject for f in findings] == ["rfc:CHG0031245"]
