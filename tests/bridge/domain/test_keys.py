"""Identities read back as they were written, in exactly today's formats, and bad text is refused clearly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.keys import (
    ActionKey,
    AddWorkNoteKey,
    CheckAncestryKey,
    CorrelationId,
    CreateRfcDraftKey,
    DeploymentKey,
    MoveDefectKey,
    NoteTarget,
    ReleaseKey,
    SetCorrelationKey,
    Subject,
    SubjectKind,
    TagKey,
    parse_target,
)

# A name: any printable text without the separator (components, environments, sys_ids, projects, tags).
names = st.text(
    st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters=":") | st.just(" "), min_size=1
).filter(str.isprintable)
versions = st.tuples(*[st.integers(0, 999_999_999)] * 4).map(lambda parts: ".".join(map(str, parts)))
# Free text: the last part of a key, which takes the rest of the text, separators included.
free = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]))
filled = free.filter(bool)
release_keys = st.builds(ReleaseKey, names, versions)
deployment_keys = st.builds(DeploymentKey, names, names, versions, free)
subjects = st.builds(Subject, st.sampled_from(SubjectKind), free)
action_keys = st.one_of(
    st.builds(MoveDefectKey, st.integers(), st.integers(), filled),
    st.builds(AddWorkNoteKey, names, filled),
    st.builds(SetCorrelationKey, names, filled),
    st.builds(CreateRfcDraftKey, filled),
    st.builds(CheckAncestryKey, names, names, filled),
)

RELEASE = ReleaseKey("dip-platform", "1.0.2.0")


# --- round trips ----------------------------------------------------------------------------------


@given(st.builds(TagKey, names, names))
def test_a_tag_key_reads_back_as_it_was_written(key: TagKey) -> None:
    assert TagKey.parse(str(key)) == key


@pytest.mark.parametrize("text", ["mhhs/dip-platform", ":v1.0.2.0", "mhhs/dip-platform:", "a:b:c"])
def test_a_tag_key_without_its_two_parts_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="tag key"):
        TagKey.parse(text)


@given(release_keys)
def test_a_release_key_reads_back_as_it_was_written(key: ReleaseKey) -> None:
    assert ReleaseKey.parse(str(key)) == key


@given(deployment_keys)
def test_a_deployment_key_reads_back_as_it_was_written(key: DeploymentKey) -> None:
    assert DeploymentKey.parse(str(key)) == key
    assert parse_target(str(key)) == key


@given(release_keys)
def test_a_note_target_reads_back_as_it_was_written(release: ReleaseKey) -> None:
    target = NoteTarget(release)
    assert NoteTarget.parse(str(target)) == target
    assert parse_target(str(target)) == target


@given(release_keys)
def test_a_correlation_id_reads_back_as_it_was_written(release: ReleaseKey) -> None:
    named = CorrelationId(release)
    assert CorrelationId.parse(str(named)) == named
    assert CorrelationId.owns(str(named))


@given(subjects)
def test_a_subject_reads_back_as_it_was_written(subject: Subject) -> None:
    assert Subject.parse(str(subject)) == subject


@given(action_keys)
def test_an_action_key_reads_back_as_it_was_written(key: ActionKey) -> None:
    assert type(key).parse(str(key)) == key
    assert str(key).startswith(f"{key.kind}:")


# --- today's formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (RELEASE, "dip-platform:1.0.2.0"),
        (TagKey("mhhs/dip-platform", "dip-platform/1.0.2.0"), "mhhs/dip-platform:dip-platform/1.0.2.0"),
        (TagKey("mhhs/helix", "helix@1.1.0.0"), "mhhs/helix:helix@1.1.0.0"),
        (
            DeploymentKey("SIT-A", "dip-platform", "1.0.2.0", "CHG0031245"),
            "SIT-A:dip-platform:1.0.2.0:CHG0031245",
        ),
        (DeploymentKey("SIT Staging", "helix", "2.0.0.0", ""), "SIT Staging:helix:2.0.0.0:"),
        (NoteTarget(RELEASE), "note:dip-platform:1.0.2.0"),
        (CorrelationId(RELEASE), "release-bridge:dip-platform:1.0.2.0"),
        (Subject.release(RELEASE), "release:dip-platform:1.0.2.0"),
        (Subject.rfc("CHG0031245"), "rfc:CHG0031245"),
        (Subject.rfc(""), "rfc:"),
        (Subject.rfc_revision("a1b2", 7), "rfc:a1b2@7"),
        (Subject.rfc_sys_id("a1b2"), "rfc-sys-id:a1b2"),
        (Subject.defect(48211), "defect:48211"),
        (Subject.tag("mhhs/dip-platform", "nightly"), "tag:mhhs/dip-platform:nightly"),
        (Subject.note("dip-platform/1.0.2.0"), "note:dip-platform/1.0.2.0"),
        (
            Subject(SubjectKind.RELEASE, str(CorrelationId(RELEASE))),
            "release:release-bridge:dip-platform:1.0.2.0",
        ),
        (MoveDefectKey(48211, 7, "Ready for Retest"), "move_defect:48211:7:Ready for Retest"),
        (AddWorkNoteKey("a1b2", "0123456789abcdef"), "add_work_note:a1b2:0123456789abcdef"),
        (
            SetCorrelationKey("a1b2", "release-bridge:dip-platform:1.0.2.0"),
            "set_correlation:a1b2:release-bridge:dip-platform:1.0.2.0",
        ),
        (CreateRfcDraftKey("release-bridge:helix:1.1.0.0"), "create_rfc_draft:release-bridge:helix:1.1.0.0"),
        (
            CheckAncestryKey("mhhs/helix", "helix/1.0.1.1", "helix/1.0.2.0"),
            "check_ancestry:mhhs/helix:helix/1.0.1.1:helix/1.0.2.0",
        ),
    ],
)
def test_keys_are_written_as_the_store_holds_them(key: object, text: str) -> None:
    assert str(key) == text
    assert type(key).parse(text) == key  # type: ignore[attr-defined]


def test_a_deployment_and_a_note_name_their_release() -> None:
    assert parse_target("SIT-A:dip-platform:1.0.2.0:CHG0031245").release == RELEASE
    assert parse_target("note:dip-platform:1.0.2.0").release == RELEASE
    assert DeploymentKey.parse("SIT-A:dip-platform:1.0.2.0:CHG:1").rfc_number == "CHG:1"


def test_a_release_key_has_words_for_pages() -> None:
    assert RELEASE.label == "dip-platform 1.0.2.0"


def test_a_defect_subject_gives_its_id() -> None:
    assert Subject.parse("defect:48211").defect_id == 48211
    with pytest.raises(ValueError, match="names no defect"):
        _ = Subject.parse("rfc:CHG0031245").defect_id
    with pytest.raises(ValueError, match="not a whole number"):
        _ = Subject.parse("defect:48a").defect_id
    with pytest.raises(ValueError, match="not a whole number"):
        _ = Subject.parse("defect:").defect_id


def test_a_correlation_id_is_the_bridges_only_with_its_prefix() -> None:
    assert CorrelationId.owns("release-bridge:dip-platform:1.0.2.0")
    assert not CorrelationId.owns("PRJ-42")
    assert not CorrelationId.owns("")


def test_the_move_keys_of_one_defect_share_their_start() -> None:
    assert str(MoveDefectKey(48211, 7, "Fixed")).startswith(MoveDefectKey.of_defect(48211))
    assert not str(MoveDefectKey(482110, 7, "Fixed")).startswith(MoveDefectKey.of_defect(48211))


# --- bad text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "text", "why"),
    [
        (ReleaseKey.parse, "1.0.2.0:dip-platform", "not a 4-part version"),  # other order
        (ReleaseKey.parse, "dip-platform", "1 part, not 2"),
        (ReleaseKey.parse, "dip-platform:1.0.2.0:CHG1", "3 parts, not 2"),
        (ReleaseKey.parse, ":1.0.2.0", "component is empty"),
        (ReleaseKey.parse, "dip-platform:", "version '' is not"),
        (ReleaseKey.parse, "dip-platform:v1.0.2.0", "not a 4-part version"),
        (ReleaseKey.parse, "dip-platform:1.0.2", "not a 4-part version"),
        (ReleaseKey.parse, "dip\tplatform:1.0.2.0", "does not print"),
        (ReleaseKey.parse, "", "1 part, not 2"),
        (DeploymentKey.parse, "dip-platform:1.0.2.0:SIT-A:CHG1", "not a 4-part version"),  # other order
        (DeploymentKey.parse, "SIT-A:1.0.2.0:dip-platform:CHG1", "not a 4-part version"),  # other order
        (DeploymentKey.parse, "SIT-A:dip-platform:1.0.2.0", "3 parts, not 4"),
        (DeploymentKey.parse, ":dip-platform:1.0.2.0:CHG1", "environment is empty"),
        (DeploymentKey.parse, "SIT-A::1.0.2.0:CHG1", "component is empty"),
        (DeploymentKey.parse, "SIT\nA:dip-platform:1.0.2.0:CHG1", "does not print"),
        (NoteTarget.parse, "dip-platform:1.0.2.0", "does not start with 'note:'"),
        (NoteTarget.parse, "note:dip-platform/1.0.2.0", "1 part, not 2"),
        (NoteTarget.parse, "note:1.0.2.0:dip-platform", "not a 4-part version"),
        (parse_target, "note:dip-platform", "1 part, not 2"),
        (parse_target, "dip-platform:1.0.2.0", "2 parts, not 4"),
        (CorrelationId.parse, "PRJ-42", "does not start with 'release-bridge:'"),
        (CorrelationId.parse, "release-bridge:dip-platform", "1 part, not 2"),
        (Subject.parse, "48211", "1 part, not 2"),
        (
            Subject.parse,
            "finding:48211",
            "kind 'finding' is none of release, rfc, rfc-sys-id, defect, tag, note",
        ),
        (Subject.parse, "Defect:48211", "kind 'Defect' is none of"),
        (Subject.parse, "defect", "1 part, not 2"),
        (Subject.parse, ":48211", "kind '' is none of"),
        (MoveDefectKey.parse, "move_defect:48211:Ready for Retest:7", "revision 'Ready for Retest'"),  # order
        (MoveDefectKey.parse, "move_defect:48211:7", "2 parts, not 3"),
        (MoveDefectKey.parse, "move_defect:48211:7:", "state is empty"),
        (MoveDefectKey.parse, "add_work_note:a1b2:0123", "does not start with 'move_defect:'"),
        (AddWorkNoteKey.parse, "add_work_note:a1b2", "1 part, not 2"),
        (SetCorrelationKey.parse, "set_correlation::release-bridge:x:1.0.0.0", "sys_id is empty"),
        (CreateRfcDraftKey.parse, "create_rfc_draft:", "correlation id is empty"),
        (CheckAncestryKey.parse, "check_ancestry:mhhs/helix:helix/1.0.1.1", "2 parts, not 3"),
    ],
)
def test_bad_text_is_refused_saying_what_it_should_be(parse: object, text: str, why: str) -> None:
    with pytest.raises(ValueError, match="is not") as raised:
        parse(text)  # type: ignore[operator]
    assert repr(text) in str(raised.value)
    assert why in str(raised.value)


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda: ReleaseKey("dip:platform", "1.0.2.0"), "holds ':'"),
        (lambda: ReleaseKey("dip-platform\n", "1.0.2.0"), "does not print"),
        (lambda: ReleaseKey("dip-platform", "1.0.2.0 "), "not a 4-part version"),
        (lambda: DeploymentKey("SIT:A", "dip-platform", "1.0.2.0", "CHG1"), "holds ':'"),
        (lambda: DeploymentKey("SIT\x00A", "dip-platform", "1.0.2.0", "CHG1"), "does not print"),
        (lambda: DeploymentKey("SIT\xa0A", "dip-platform", "1.0.2.0", "CHG1"), "does not print"),
        (lambda: DeploymentKey("", "dip-platform", "1.0.2.0", "CHG1"), "environment is empty"),
        (lambda: AddWorkNoteKey("a:b", "0123"), "holds ':'"),
        (lambda: CheckAncestryKey("mhhs/helix", "", "helix/1.0.2.0"), "ancestor tag is empty"),
    ],
)
def test_a_key_that_could_not_be_read_back_is_never_made(build: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        build()  # type: ignore[operator]
