"""Changelog-style notes (GitLab's changelog, conventional commits, Keep a Changelog), defect references
in their usual forms, numbers that are never defects, and severities as providers write them."""

from __future__ import annotations

import pytest

from bridge.release_notes import ReleaseNote, default_vocabulary, parse_release_note


def _note(*lines: str) -> ReleaseNote:
    return parse_release_note("\n".join(lines))


def test_a_gitlab_generated_changelog_gives_its_fixed_defects() -> None:
    note = _note(
        "## 2.3.1.0 (2024-06-11)",
        "",
        "### Fixed (3 changes)",
        "",
        "- [Stop double counting of estimates](mhhs/helix@5b1f0c2e9a3d) by @jdoe"
        " ([merge request](mhhs/helix!871)) AB#51007",
        "- [Reject an empty MPAN list](mhhs/helix@9e8d7c6b5a4f) ([merge request](mhhs/helix!874))",
        "- [Keep the retry window](mhhs/helix@0a1b2c3d4e5f)\n  Fixes AB#51012",
        "",
        "### Added (1 change)",
        "",
        "- [Export the audit trail as CSV](mhhs/helix@77aa88bb99cc) AB#51020",
        "",
        "### Security (1 change)",
        "",
        "- [Upgrade the TLS library](mhhs/helix@1122334455ff)",
    )
    assert str(note.version) == "2.3.1.0"
    assert [(d.id, d.summary) for d in note.defects_fixed] == [
        (51007, "Stop double counting of estimates"),
        (51012, "Keep the retry window"),
    ]
    assert note.defects_outstanding == () and note.defects_unclassified == ()
    assert note.defects_mentioned == (51020,)  # a feature's work item is no fixed defect


def test_conventional_commit_groups_and_closes_trailers() -> None:
    note = _note(
        "# [3.0.1.0](https://gitlab.example.com/mhhs/dip/-/compare/v3.0.0.0...v3.0.1.0) (2024-07-02)",
        "",
        "### Bug Fixes",
        "",
        "* **router:** retry only on 503 ([4821093](https://gitlab.example.com/mhhs/dip/-/commit/4821093)),"
        " closes [AB#52001](https://dev.azure.com/mhhs/Programme/_workitems/edit/52001)",
        "* **schemas:** accept the new settlement code ([a1b2c3d](https://gitlab.example.com/c/a1b2c3d))"
        " ([Bug 52002](https://dev.azure.com/mhhs/Programme/_workitems/edit/52002))",
        "* **audit:** [column order](https://dev.azure.com/mhhs/Programme/_workitems/edit/52003) as agreed",
        "",
        "### Features",
        "",
        "* **router:** configurable back-off ([77e6f5d](https://gitlab.example.com/c/77e6f5d))",
    )
    assert [d.id for d in note.defects_fixed] == [52001, 52002, 52003]
    assert note.defects_fixed[0].summary == "router: retry only on 503"


@pytest.mark.parametrize(
    "line",
    [
        "- Retry storm fixed (see !412 and 3f2a9c1)",
        "- INC0012345: outage on SIT-A during the last deployment",
        "- Incident #4711 resolved by the router change",
        "- MR #88 merged the router change",
        "- 1520 tests passed, 0 failed",
        "- 312/312 regression tests passed",
        "- Story #9001 delivered",
    ],
)
def test_numbers_that_are_never_defects(line: str) -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Defects fixed", "- AB#48211 router timeout", line)
    assert [d.id for d in note.defects_fixed] == [48211]
    assert note.defects_unclassified == ()


def test_an_incident_number_in_a_defect_table_is_no_defect() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "| Reference | Summary |",
        "|---|---|",
        "| INC0012345 | Outage during deployment |",
        "| 48211 | Router timeout |",
    )
    assert [d.id for d in note.defects_fixed] == [48211]


def test_versions_in_the_bill_of_materials_and_backout_plan_are_never_defects() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Bill of materials",
        "- dip-router.jar 1.0.3.0 (12-Jun-2024)",
        "- 20240612 build of router.yaml",
        "## Backout plan",
        "1. Redeploy 1.0.2.0 and router.yaml r57 (Deployment Team, 15 min)",
        "## Defects fixed",
        "- AB#48211 router timeout",
    )
    assert [d.id for d in note.defects_fixed] == [48211]
    assert note.defects_unclassified == () and note.defects_mentioned == ()


@pytest.mark.parametrize(
    ("written", "severity"),
    [
        ("(1 - Critical)", "1 - Critical"),
        ("– Critical –", "1 - Critical"),
        ("[Sev 1]", "1 - Critical"),
        ("(S1)", "1 - Critical"),
        ("Severity: 2", "2 - High"),
        ("– sev2 –", "2 - High"),
        ("(Severity 3 - Medium)", "3 - Medium"),
        ("(Low)", "4 - Low"),
    ],
)
def test_severity_in_its_usual_forms_on_a_defect_line(written: str, severity: str) -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Defects fixed", f"- 48211 {written} router timeout")
    assert [(d.id, d.severity) for d in note.defects_fixed] == [(48211, severity)]


def test_a_priority_column_is_never_read_as_severity() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "| ID | Priority | Summary |",
        "|---|---|---|",
        "| 48211 | 1 - Critical | Router timeout |",
        "| 48212 | High | Slow export |",
        "",
        "| ID | Priority | Severity | Summary |",
        "|---|---|---|---|",
        "| 48213 | 1 | 3 - Medium | Column order |",
    )
    assert [(d.id, d.severity) for d in note.defects_fixed] == [
        (48211, None),
        (48212, None),
        (48213, "3 - Medium"),
    ]


@pytest.mark.parametrize(
    "line", ["- 48211 – Priority – High – router timeout", "- 48211 – Priority: High – router timeout"]
)
def test_a_priority_on_a_defect_line_is_never_read_as_severity(line: str) -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Defects fixed", line)
    assert [(d.id, d.severity) for d in note.defects_fixed] == [(48211, None)]


def test_a_priority_word_alone_is_not_a_severity() -> None:
    vocabulary = default_vocabulary()
    assert vocabulary.severity("P1") is None
    assert vocabulary.severity("Priority 1") is None
    assert vocabulary.severity("Sev 1") == "1 - Critical"


def test_fix_trailers_outside_the_defect_lists_say_fixed_unless_they_hedge() -> None:
    note = _note(
        "DIP 1.0.2.1 emergency fix for SIT-A",
        "",
        "Fixes AB#48290 – router drops large messages (Sev 1)",
        "Resolves Bug 48291: pool exhausted after a timeout (2 - High)",
        "Closes AB#48292 partially; the rest comes in the next release",
        "Follows up AB#48100.",
        "The fix for AB#48101 is not in this release.",
    )
    assert [(d.id, d.severity) for d in note.defects_fixed] == [(48290, "1 - Critical"), (48291, "2 - High")]
    assert [d.id for d in note.defects_unclassified] == [48292]
    assert note.defects_mentioned == (48100, 48101)


def test_a_heading_about_earlier_releases_fixes_does_not_say_fixed() -> None:
    note = _note(
        "# Helix 2.3.0.0 for migration testing",
        "## Defects fixed",
        "- AB#60001 loader timeout (High)",
        "## Fixed in previous releases",
        "- AB#50001 report totals (Low)",
    )
    assert [d.id for d in note.defects_fixed] == [60001]
    assert [d.id for d in note.defects_unclassified] == [50001]


def test_a_pull_request_after_an_author_is_never_a_defect() -> None:
    note = _note(
        "# dip-adapter 2.5.0.0 for SIT operational testing",
        "### 🐛 Bug Fixes",
        "- Tidy log wording @mchen (#232)",
        "- Retry counter reset by @jdoe in #230",
        "- Router timeout (#48211)",
    )
    assert [d.id for d in note.defects_fixed] == [48211]
