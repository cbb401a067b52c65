"""Each action names its effect with its key, as the outbox holds it, and says what it did for the audit."""

from __future__ import annotations

from typing import get_args

import pytest

from bridge.domain.actions import (
    Action,
    AddWorkNote,
    CheckAncestry,
    CreateRfcDraft,
    MoveDefect,
    SetCorrelation,
)
from bridge.domain.events import text_digest
from bridge.domain.keys import (
    AddWorkNoteKey,
    CheckAncestryKey,
    CreateRfcDraftKey,
    MoveDefectKey,
    SetCorrelationKey,
)
from bridge.store.outbox import ACTION_TYPES

MOVE = MoveDefect(
    48211, 7, "Fixed", "Ready for Retest", "Release bridge: fixed in …", "SIT-A:dip:1.0.2.0:CHG1"
)
NOTE = AddWorkNote("a1b2", "CHG0031245", "[Release bridge] …")
CORRELATION = SetCorrelation("a1b2", "release-bridge:dip-platform:1.0.2.0", "dip-platform 1.0.2.0")
DRAFT = CreateRfcDraft("release-bridge:helix:1.1.0.0", "Deploy helix 1.1.0.0", "…", None)
ANCESTRY = CheckAncestry("mhhs/helix", "helix/1.0.1.1", "helix/1.0.2.0")


@pytest.mark.parametrize(
    ("action", "key", "typed"),
    [
        (MOVE, "move_defect:48211:7:Ready for Retest", MoveDefectKey(48211, 7, "Ready for Retest")),
        (
            NOTE,
            f"add_work_note:a1b2:{text_digest(NOTE.text)}",
            AddWorkNoteKey("a1b2", text_digest(NOTE.text)),
        ),
        (
            CORRELATION,
            "set_correlation:a1b2:release-bridge:dip-platform:1.0.2.0",
            SetCorrelationKey("a1b2", "release-bridge:dip-platform:1.0.2.0"),
        ),
        (
            DRAFT,
            "create_rfc_draft:release-bridge:helix:1.1.0.0",
            CreateRfcDraftKey("release-bridge:helix:1.1.0.0"),
        ),
        (
            ANCESTRY,
            "check_ancestry:mhhs/helix:helix/1.0.1.1:helix/1.0.2.0",
            CheckAncestryKey("mhhs/helix", "helix/1.0.1.1", "helix/1.0.2.0"),
        ),
    ],
)
def test_an_actions_key_is_the_text_the_outbox_holds(action: Action, key: str, typed: object) -> None:
    assert action.key == key
    assert type(typed).parse(key) == typed  # type: ignore[attr-defined]
    assert key.startswith(f"{action.kind}:")


def test_each_kind_names_its_class_as_the_outbox_stores_it() -> None:
    assert {cls.kind: cls for cls in get_args(Action)} == ACTION_TYPES
    assert [cls.kind for cls in get_args(Action)] == [
        "move_defect",
        "add_work_note",
        "set_correlation",
        "create_rfc_draft",
        "check_ancestry",
    ]


@pytest.mark.parametrize(
    ("action", "change", "record", "reason"),
    [
        (MOVE, "state Fixed → Ready for Retest, comment added", "defect:48211", MOVE.comment),
        (NOTE, "work note added", "rfc:CHG0031245", "the linked releases, their defects and checks changed"),
        (
            CORRELATION,
            "correlation_id set to release-bridge:dip-platform:1.0.2.0",
            "rfc-sys-id:a1b2",
            "the RFC deploys dip-platform 1.0.2.0",
        ),
        (
            DRAFT,
            "draft RFC created for release-bridge:helix:1.1.0.0",
            "release:release-bridge:helix:1.1.0.0",
            "no RFC linked to the release within the configured time",
        ),
    ],
)
def test_a_done_action_says_what_it_changed_in_which_record(
    action: Action, change: str, record: str, reason: str
) -> None:
    effect = action.describe()
    assert effect is not None
    assert (effect.change, str(effect.record), effect.reason) == (change, record, reason)


def test_a_question_changes_nothing_to_audit() -> None:
    assert ANCESTRY.describe() is None


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (MOVE, "defect 48211: Fixed → Ready for Retest"),
        (NOTE, "work note on CHG0031245"),
        (CORRELATION, "correlation_id release-bridge:dip-platform:1.0.2.0"),
        (DRAFT, "create_rfc_draft:release-bridge:helix:1.1.0.0"),
        (ANCESTRY, "check_ancestry:mhhs/helix:helix/1.0.1.1:helix/1.0.2.0"),
    ],
)
def test_an_action_says_in_a_line_what_it_does(action: Action, summary: str) -> None:
    assert action.summary() == summary
