"""Defects a note names where it does not say fixed are never moved: not on deployment, not under the
release-note policy; the release gets a finding and the RFC's work note lists them apart."""

from __future__ import annotations

import pytest

from bridge.domain.actions import AddWorkNote, MoveDefect
from bridge.domain.events import DomainEvent, RfcState
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, defect, release, rfc

NOTE = """**DIP Platform 1.0.2.0 – patch for SIT Functional Testing in SIT-A**

Tag: dip-platform/1.0.2.0. RFC: CHG0031245.

**2. Defects Fixed**

- 48211 – duplicate messages on retry (2 - High)

**3. Known Issues / Outstanding Defects**

- 48190 – replay needs a manual trigger (2 - High) – workaround: ops replay on request

**4. Fixes planned for the next release**

- AB#48299 – audit export column order (4 - Low)

## Defect status

- 48305 – health check ignores the disk (3 - Medium)
"""


def _plan(*events: DomainEvent, **context_args: object) -> Plan:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return plan(state, context(**context_args), at(100))


def _events() -> tuple[DomainEvent, ...]:
    # Every defect the note names is Fixed in ADO: only the note's wording can keep one from moving.
    return (
        release("1.0.2.0", text=NOTE),
        defect(48211, "Fixed", rev=4),
        defect(48190, "Fixed", rev=2),
        defect(48299, "Resolved", rev=3),
        defect(48305, "Fixed", rev=5),
    )


@pytest.mark.parametrize(
    ("deploy", "policy"),
    [(True, "deployment"), (False, "release_note")],
)
def test_only_defects_the_note_lists_as_fixed_move(deploy: bool, policy: str) -> None:
    deployed = (rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)),) if deploy else ()
    result = _plan(*_events(), *deployed, retest_on=policy)
    moved = sorted(a.defect_id for a in result.actions if isinstance(a, MoveDefect))
    assert moved == [48211]


def test_an_unclassified_defect_is_a_finding_on_its_line_and_nothing_else_waits() -> None:
    result = _plan(*_events(), rfc("CHG0031245", RfcState.REVIEW, mod=7, updated=at(5)))
    unclassified = [f for f in result.findings if f.code == "note.defect-unclassified"]
    assert [(f.subject, dict(f.evidence)["note line"]) for f in unclassified] == [
        ("release:dip-platform:1.0.2.0", "15"),
        ("release:dip-platform:1.0.2.0", "19"),
    ]
    assert all("48299" in f.message or "48305" in f.message for f in unclassified)
    assert any(isinstance(a, MoveDefect) for a in result.actions)  # the fixed defect still moves


def test_the_rfc_work_note_lists_unclassified_defects_apart_from_fixed_and_outstanding() -> None:
    result = _plan(*_events(), rfc("CHG0031245", RfcState.SCHEDULED, mod=4, updated=at(1)))
    (note,) = [a for a in result.actions if isinstance(a, AddWorkNote)]
    lines = note.text.splitlines()
    assert "Defects fixed: 48211 (2 - High) duplicate messages on retry" in lines
    assert any(line.startswith("Defects outstanding: 48190 (2 - High)") for line in lines)
    assert (
        "Defects unclassified (not moved; the note should be corrected): 48299 (4 - Low) audit export"
        " column order; 48305 (3 - Medium) health check ignores the disk"
    ) in lines
