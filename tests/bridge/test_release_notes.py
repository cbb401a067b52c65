"""Release-note parser: the shared samples, our own fixture notes, and the model's JSON shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.mappings import MappingError
from bridge.release_notes import (
    FindingCode,
    ItemNeed,
    ItemSource,
    NoteFindingSeverity,
    ReleaseNote,
    default_vocabulary,
    load_vocabulary,
    parse_release_note,
)
from bridge.release_notes.blocks import TextLine, read_blocks
from bridge.versions import ReleaseType, Version

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "release-notes"
FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.md"))


def _fixture(name: str) -> tuple[str, dict[str, Any]]:
    text = (FIXTURES / f"{name}.md").read_bytes().decode("utf-8")
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    return text, expected


# --- the shared samples ---------------------------------------------------------------------------------


def _samples(shared_dir: Path) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads(
        (shared_dir / "samples" / "release-notes" / "expected.json").read_text(encoding="utf-8")
    )
    return {name: facts for name, facts in expected.items() if not name.startswith("_")}


SAMPLE_NAMES = ("dip-1.0.2.0-patch.md", "dip-1.0.1.3-emergency.md", "helix-2.0.0.0-major.md")


def test_every_shared_sample_is_checked(shared_dir: Path) -> None:
    assert set(_samples(shared_dir)) == set(SAMPLE_NAMES)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_shared_sample_gives_the_expected_facts(shared_dir: Path, name: str) -> None:
    facts = _samples(shared_dir)[name]
    note = parse_release_note((shared_dir / "samples" / "release-notes" / name).read_text(encoding="utf-8"))

    assert str(note.version) == facts["version"]
    assert note.release_type == ReleaseType(facts["release_type"])
    assert note.tag == facts["tag"]
    assert list(note.rfcs) == facts["rfcs"]
    assert {str(d.id): d.severity for d in note.defects_fixed} == facts["defects_fixed"]
    assert [d.id for d in note.defects_outstanding] == facts["defects_outstanding"]
    assert [c.id for c in note.change_requests] == facts["change_requests"]
    assert set(facts["missing_includes"]) <= set(note.missing)
    assert not set(facts["missing_excludes"]) & set(note.missing)
    assert not note.errors


def test_the_emergency_sample_reads_summaries_and_workarounds(shared_dir: Path) -> None:
    text = (shared_dir / "samples" / "release-notes" / "dip-1.0.1.3-emergency.md").read_text(encoding="utf-8")
    note = parse_release_note(text)
    assert [d.summary for d in note.defects_fixed] == [
        "Router drops messages larger than 1 MB",
        "connection pool exhausted after a subscriber timeout",
    ]
    (known,) = note.defects_outstanding
    assert known.summary == "replay of dead-lettered messages needs a manual trigger"
    assert known.workaround == "operations replay on request"
    assert note.item("release_number") is not None
    assert note.item("release_number").source is ItemSource.TITLE  # type: ignore[union-attr]


def test_the_patch_sample_reads_cr_titles_and_line_numbers(shared_dir: Path) -> None:
    text = (shared_dir / "samples" / "release-notes" / "dip-1.0.2.0-patch.md").read_text(encoding="utf-8")
    note = parse_release_note(text, component="dip-platform")
    (change,) = note.change_requests
    assert (change.title, change.summary) == (
        "Extend retry window",
        "Retry window raised from 30 to 60 minutes",
    )
    assert [d.line for d in note.defects_fixed] == [21, 22, 23]
    assert note.item("backout_plan").line == 71  # type: ignore[union-attr]
    assert note.findings == ()


# --- our own notes, one per thing they show ---------------------------------------------------------------


def test_the_corpus_holds_at_least_25_notes_each_with_its_defects_and_items() -> None:
    assert len(FIXTURE_NAMES) >= 25
    for name in FIXTURE_NAMES:
        _, expected = _fixture(name)
        assert "defects_fixed" in expected, name
        assert "missing" in expected or "missing_includes" in expected, name


def test_the_corpus_has_the_styles_providers_write() -> None:
    styles = {_fixture(name)[1].get("style") for name in FIXTURE_NAMES} - {None}
    assert {
        "Word export",
        "Confluence export",
        "GitLab changelog",
        "conventional commits",
        "sparse tag message",
        "plain text e-mail",
        "non-ASCII",
        "very long",
        "table-only",
    } <= styles


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_note_gives_its_expected_facts(name: str) -> None:
    text, expected = _fixture(name)
    note = parse_release_note(text, component=expected.get("component"))
    data = note.to_json()

    for key in ("version", "release_type", "declared_release_type", "tag", "rfcs", "defects_mentioned"):
        if key in expected:
            assert data[key] == expected[key], key
    if "defects_fixed" in expected:
        assert {str(d.id): d.severity for d in note.defects_fixed} == expected["defects_fixed"]
    if "defects_outstanding" in expected:
        outstanding = {str(d.id): d for d in note.defects_outstanding}
        assert set(outstanding) == set(expected["defects_outstanding"])
        for number, fields in expected["defects_outstanding"].items():
            for field, value in fields.items():
                assert getattr(outstanding[number], field) == value, (number, field)
    if "change_requests" in expected:
        changes = {c.id: c for c in note.change_requests}
        assert set(changes) == set(expected["change_requests"])
        if isinstance(expected["change_requests"], dict):
            for number, fields in expected["change_requests"].items():
                for field, value in fields.items():
                    assert getattr(changes[number], field) == value, (number, field)
    if "defects_unclassified" in expected:
        assert [d.id for d in note.defects_unclassified] == expected["defects_unclassified"]
    summaries = {str(d.id): d.summary for d in note.defects_fixed}
    summaries.update({str(d.id): d.summary for d in note.defects_outstanding})
    for number, summary in expected.get("summaries", {}).items():
        assert summaries[number] == summary, number
    if "missing" in expected:
        assert list(note.missing) == expected["missing"]
    assert set(expected.get("missing_includes", [])) <= set(note.missing)
    assert not set(expected.get("missing_excludes", [])) & set(note.missing)
    for key, line in expected.get("present_lines", {}).items():
        assert note.item(key) is not None, key
        assert note.item(key).line == line, key  # type: ignore[union-attr]
    for wanted in expected.get("findings", []):
        assert any(all(f.to_json()[k] == v for k, v in wanted.items()) for f in note.findings), (
            wanted,
            [f.to_json() for f in note.findings],
        )
    codes = {f.code for f in note.findings}
    for code in expected.get("no_findings", []):
        assert FindingCode(code) not in codes, code


def test_the_crlf_fixture_really_has_crlf_line_ends() -> None:
    raw = (FIXTURES / "crlf-line-ends.md").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 20


def test_old_mac_line_ends_read_like_any_other() -> None:
    text, _ = _fixture("crlf-line-ends")
    as_cr = parse_release_note(text.replace("\r\n", "\r"))
    as_lf = parse_release_note(text.replace("\r\n", "\n"))
    assert as_cr == as_lf


def test_the_fast_list_and_table_rules_read_like_markdown_it_s_own() -> None:
    for path in FIXTURES.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert read_blocks(text) == read_blocks(text, fast_lists=False), path.name


# --- smaller cases -----------------------------------------------------------------------------------------


def _note(*lines: str, component: str | None = None) -> ReleaseNote:
    return parse_release_note("\n".join(lines), component=component)


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("1 - Critical", "1 - Critical"),
        ("2 - High", "2 - High"),
        ("(2 - High)", "2 - High"),
        ("Sev 2", "2 - High"),
        ("Severity 3", "3 - Medium"),
        ("severity: 4", "4 - Low"),
        ("High", "2 - High"),
        ("MEDIUM", "3 - Medium"),
        ("Blocker", "1 - Critical"),
        ("3-Medium", "3 - Medium"),
        ("S1", "1 - Critical"),
        ("4", "4 - Low"),
        ("P2", None),
        ("Priority 1", None),
        ("1 - High", None),
        ("5", None),
        ("", None),
    ],
)
def test_severity_words_and_numbers_map_to_ado_values(text: str, severity: str | None) -> None:
    assert default_vocabulary().severity(text) == severity


def test_a_tag_for_another_component_is_not_a_release_when_the_component_is_known() -> None:
    note = _note("# DIP 1.0.2.0", "Tag: helix-settlement/1.0.2.0", component="dip-platform")
    assert note.tag == "helix-settlement/1.0.2.0"
    assert str(note.version) == "1.0.2.0"
    assert [f.code for f in note.findings if f.code is FindingCode.TAG_NOT_A_RELEASE]


@pytest.mark.parametrize("tag", ["dip-platform/1.0.2.0", "helix-settlement@1.0.2.0", "v1.0.2.0", "1.0.2.0"])
def test_any_tag_shape_is_accepted_without_a_component(tag: str) -> None:
    note = _note("# Release notes", f"Tag: `{tag}`")
    assert note.tag == tag
    assert note.version == Version.parse("1.0.2.0")
    assert not [f for f in note.findings if f.code is FindingCode.TAG_NOT_A_RELEASE]


def test_the_version_comes_from_the_tag_when_nothing_else_names_it() -> None:
    note = _note(
        "# Weekly patch notes", "Tag: dip-platform/1.0.3.0", "## Bill of materials", "- router 9.9.9.9"
    )
    assert str(note.version) == "1.0.3.0"
    assert note.release_type is ReleaseType.PATCH


def test_release_number_and_title_that_disagree_are_a_conflict() -> None:
    note = _note("# DIP 1.0.2.0", "", "Release number: 1.0.3.0")
    assert str(note.version) == "1.0.3.0"
    (conflict,) = [f for f in note.findings if f.code is FindingCode.VERSION_CONFLICT]
    assert conflict.severity is NoteFindingSeverity.ERROR
    assert conflict.line == 1


def test_a_version_in_the_backout_plan_or_bom_is_never_the_release_s() -> None:
    note = _note(
        "# Weekly patch",
        "## Bill of materials",
        "| Item | Version |",
        "|---|---|",
        "| dip-router.jar | 1.0.2.0 |",
        "## Backout plan",
        "Redeploy 1.0.1.3.",
    )
    assert note.version is None
    assert FindingCode.VERSION_NOT_FOUND in {f.code for f in note.findings}


def test_missing_items_are_one_warning_each_with_no_line() -> None:
    note = _note("# DIP 1.0.2.0")
    missing = [f for f in note.findings if f.code is FindingCode.MISSING_ITEM]
    assert len(missing) == len(note.missing) == 15  # all but the title and the release number it holds
    assert {f.severity for f in missing} == {NoteFindingSeverity.WARNING}
    assert {f.line for f in missing} == {None}


def test_a_defect_list_item_without_an_id_is_a_finding() -> None:
    note = _note("# DIP 1.0.2.0", "## Defects fixed", "- Router drops large messages")
    assert note.defects_fixed == ()
    (finding,) = [f for f in note.findings if f.code is FindingCode.DEFECT_WITHOUT_ID]
    assert finding.line == 3


def test_counts_and_quantities_in_a_defect_section_are_not_defects() -> None:
    note = _note(
        "# DIP 1.0.2.0",
        "## Defects fixed",
        "3 defects are fixed in this release.",
        "- 48211 Router drops large messages",
        "- 2 - High: see the table in ADO",
        "- 20 minutes of downtime was needed for the test",
    )
    assert [d.id for d in note.defects_fixed] == [48211]


def test_work_item_links_and_several_ids_on_one_line() -> None:
    note = _note(
        "# DIP 1.0.2.0",
        "## Fixes",
        "- [48211](https://dev.azure.com/org/MHHS/_workitems/edit/48211): duplicate messages",
        "- https://dev.azure.com/org/MHHS/_workitems/edit/48212 – lost acknowledgement",
        "- 48213, 48214: two typos in the audit export (Low)",
    )
    assert [(d.id, d.severity) for d in note.defects_fixed] == [
        (48211, None),
        (48212, None),
        (48213, "4 - Low"),
        (48214, "4 - Low"),
    ]
    assert note.defects_fixed[0].summary == "duplicate messages"


def test_references_outside_defect_sections_are_only_mentions() -> None:
    note = _note("# DIP 1.0.2.0", "## Release content", "Follows up AB#48100 and Bug 48101.")
    assert note.defects_fixed == () and note.defects_outstanding == ()
    assert note.defects_mentioned == (48100, 48101)


def test_to_json_has_exactly_the_documented_shape() -> None:
    text, _ = _fixture("severity-words")
    data = json.loads(json.dumps(parse_release_note(text).to_json()))
    assert {
        "version",
        "release_type",
        "tag",
        "rfcs",
        "defects_fixed",
        "defects_outstanding",
        "change_requests",
        "missing",
        "findings",
    } <= set(data)
    assert isinstance(data["version"], str) and data["release_type"] in (
        "major",
        "minor",
        "patch",
        "emergency",
    )
    assert all(isinstance(r, str) for r in data["rfcs"])
    assert all(set(d) == {"id", "severity", "summary"} for d in data["defects_fixed"])
    assert all(isinstance(d["id"], int) for d in data["defects_fixed"] + data["defects_outstanding"])
    assert all(set(d) == {"id", "severity", "summary", "workaround"} for d in data["defects_outstanding"])
    assert all(set(c) == {"id", "title", "summary"} for c in data["change_requests"])
    assert all(set(f) == {"code", "severity", "message", "line"} for f in data["findings"])
    assert {f["severity"] for f in data["findings"]} <= {"error", "warning", "info"}


def test_present_items_are_only_required_and_optional_ones() -> None:
    text, _ = _fixture("release-type-disagrees-with-version")
    note = parse_release_note(text)
    keys = {item.key for item in note.present}
    assert "release_type" not in keys and "rfc" not in keys
    assert {"programme", "title", "defects_fixed"} <= keys


def test_lines_are_lines_of_the_note() -> None:
    blocks = read_blocks("# T\r\n\r\n- a\r\n- b\r\n\r\nText\r\n")
    assert [(b.line, b.text) for b in blocks if isinstance(b, TextLine)] == [(3, "a"), (4, "b"), (6, "Text")]


# --- the mapping ---------------------------------------------------------------------------------------

MAPPING = Path(__file__).resolve().parent.parent.parent / "bridge" / "mappings" / "release_notes.yaml"
REQUIRED_ITEMS = (
    "programme",
    "title",
    "release_date",
    "release_number",
    "released_to",
    "issued_by",
    "source_tag",
    "bill_of_materials",
    "release_content",
    "defects_fixed",
    "defects_outstanding",
    "change_requests",
    "prerequisites",
    "release_instructions",
    "post_release_checks",
    "backout_plan",
    "service_impact",
)


def test_the_mapping_holds_the_approach_s_items_in_its_order() -> None:
    vocabulary = default_vocabulary()
    assert vocabulary.keys_with_need(ItemNeed.REQUIRED) == REQUIRED_ITEMS
    assert set(vocabulary.keys_with_need(ItemNeed.OPTIONAL)) == {
        "documentation",
        "database_schema",
        "target_hardware",
        "target_os",
    }


def _broken_mapping(tmp_path: Path, old: str, new: str) -> Path:
    text = MAPPING.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "release_notes.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def test_a_mapping_of_another_version_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = _broken_mapping(tmp_path, "version: 1", "version: 2")
    with pytest.raises(MappingError, match=r"release_notes\.yaml:\d+: version"):
        load_vocabulary(folder)


def test_a_mapping_without_an_item_the_parser_reads_is_refused(tmp_path: Path) -> None:
    folder = _broken_mapping(tmp_path, "  defects_fixed:\n", "  defects_repaired:\n")
    with pytest.raises(MappingError, match="defects_fixed"):
        load_vocabulary(folder)


def test_a_mapping_with_an_unknown_column_role_is_refused(tmp_path: Path) -> None:
    folder = _broken_mapping(tmp_path, "  severity: [severity,", "  sevrity: [severity,")
    with pytest.raises(MappingError, match="sevrity"):
        load_vocabulary(folder)


def test_a_changed_mapping_changes_what_is_read(tmp_path: Path) -> None:
    folder = _broken_mapping(tmp_path, "headings: [defects fixed,", "headings: [corrections, defects fixed,")
    note = parse_release_note(
        "# DIP 1.0.2.0\n## Corrections\n- 48211: typo", vocabulary=load_vocabulary(folder)
    )
    assert [d.id for d in note.defects_fixed] == [48211]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_a_parsed_note_reads_back_from_its_json(name: str) -> None:
    text, expected = _fixture(name)
    data = json.loads(json.dumps(parse_release_note(text, component=expected.get("component")).to_json()))
    assert ReleaseNote.from_json(data).to_json() == data
