"""Release-note sections in every form providers write them, and the safety rule: a defect is fixed only
where the note says so; anywhere else it is unclassified, reported and never moved."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.release_notes import DefectUnclassified, FindingCode, ReleaseNote, parse_release_note


def _note(*lines: str) -> ReleaseNote:
    return parse_release_note("\n".join(lines))


def _ids(defects: tuple[object, ...]) -> list[int]:
    return [d.id for d in defects]  # type: ignore[attr-defined]


def _unclassified_findings(note: ReleaseNote) -> list[int | None]:
    return [f.line for f in note.findings if f.code is FindingCode.DEFECT_UNCLASSIFIED]


# --- heading forms --------------------------------------------------------------------------------------

FIXED_THEN_KNOWN = [
    # (fixed heading, outstanding heading), each pair a form providers use
    ("## Defects fixed", "## Known issues"),
    ("Defects fixed\n-------------", "Known issues\n------------"),
    ("**Fixes in this release**", "**Known Issues / Outstanding Defects**"),
    ("**1. Resolved defects**", "**2. Open defects not fixed in this release**"),
    ("__Bugs fixed__", "__Outstanding issues__"),
    ("Defects resolved:", "Known limitations:"),
    ("The following defects are fixed in this release:", "These known issues remain:"),
    ("<h3>Issues resolved</h3>", "<h3>Known defects</h3>"),
    ("1. **Defects fixed**", "2. **Known issues**"),
]


@pytest.mark.parametrize(("fixed_heading", "known_heading"), FIXED_THEN_KNOWN)
def test_every_heading_form_opens_its_section(fixed_heading: str, known_heading: str) -> None:
    note = _note(
        "# Helix 2.1.0.0 for SIT migration testing",
        "",
        fixed_heading,
        "",
        "- 50101 – settlement run fails on the clock-change day (2 - High)",
        "- AB#50102 – report totals rounded twice (Sev 3)",
        "",
        known_heading,
        "",
        "- 50220 – audit export slow (Medium) – workaround: run it overnight",
    )
    assert _ids(note.defects_fixed) == [50101, 50102]
    assert _ids(note.defects_outstanding) == [50220]
    assert note.defects_outstanding[0].workaround == "run it overnight"
    assert note.defects_unclassified == ()


def test_a_bold_numbered_heading_naming_known_issues_is_not_read_as_fixed() -> None:
    note = _note(
        "**DIP Platform 1.0.3.0 – patch for SIT functional testing**",
        "",
        "**2. Defects Fixed**",
        "",
        "- 48601 – Router timeout (2 - High)",
        "",
        "**3. Known Issues / Outstanding Defects**",
        "",
        "- 48602 – Replay needs a manual trigger (High) – workaround: ops replay on request",
    )
    assert note.title == "DIP Platform 1.0.3.0 – patch for SIT functional testing"
    assert _ids(note.defects_fixed) == [48601]
    assert _ids(note.defects_outstanding) == [48602]


@pytest.mark.parametrize(
    "heading",
    [
        "## Fixed and known issues",
        "## Bug fixes / known issues",
        "**Resolved and outstanding defects**",
        "Defects fixed and still open:",
    ],
)
def test_a_heading_naming_both_lists_reads_a_defect_without_status_as_outstanding(heading: str) -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        heading,
        "- 48701 – duplicate messages (2 - High)",
        "- 48702 – lost acknowledgement (Fixed)",
        "- 48703 – audit export column order (Open)",
    )
    assert _ids(note.defects_fixed) == [48702]
    assert _ids(note.defects_outstanding) == [48701, 48703]
    assert note.defects_unclassified == ()


@pytest.mark.parametrize(
    "heading",
    [
        "## Fixes deferred to 1.0.4.0",
        "## Defects not yet fixed",
        "**Fixes planned for the next release**",
        "## Issues",
        "## Parked items",
        "**Partially fixed**",
        "Fixes pending deployment:",
    ],
)
def test_a_defect_in_an_ambiguous_or_unknown_place_is_unclassified_with_a_finding(heading: str) -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Release content",
        "Weekly patch.",
        heading,
        "- AB#48801 – retry storm on 503 (2 - High)",
    )
    assert note.defects_fixed == ()
    if note.defects_outstanding:
        # "not yet fixed" names outstanding defects: the safer list, which is allowed.
        assert _ids(note.defects_outstanding) == [48801]
        return
    (unclassified,) = note.defects_unclassified
    assert (unclassified.id, unclassified.line, unclassified.severity) == (48801, 5, "2 - High")
    assert _unclassified_findings(note) == [5]


def test_subheadings_under_a_fixed_section_keep_it_only_when_they_say_nothing_against_it() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "### Router",
        "- 49001 – timeout (High)",
        "### Critical",
        "- 49002 – crash on start",
        "### Still open",
        "- 49003 – slow export",
        "### Deferred to 1.0.4.0",
        "- 49004 – column order",
        "### Fix planned for the next release",
        "- 49005 – typo",
        "**4. Parked**",
        "- 49006 – wording",
        "**Not fixed after all**",
        "- 49007 – typo",
    )
    assert [(d.id, d.severity) for d in note.defects_fixed] == [(49001, "2 - High"), (49002, "1 - Critical")]
    assert _ids(note.defects_outstanding) == [49003, 49004, 49007]
    assert _ids(note.defects_unclassified) == [49005, 49006]


def test_an_unknown_bold_line_ends_the_section_a_bold_line_opened() -> None:
    note = _note(
        "**DIP 1.0.3.0 for SIT-A testing**",
        "**Defects fixed**",
        "- 49101 – timeout (High)",
        "**Carried over**",
        "- AB#49102 – slow export",
        "- 49103 – typo",
    )
    assert _ids(note.defects_fixed) == [49101]
    assert _ids(note.defects_unclassified) == [49102]  # a plain number under an unknown heading is no id


def test_a_list_of_defects_with_no_heading_at_all_is_unclassified() -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "- AB#49201 router timeout", "- Bug 49202 typo")
    assert _ids(note.defects_unclassified) == [49201, 49202]
    assert _unclassified_findings(note) == [2, 3]


def test_prose_outside_defect_sections_only_mentions() -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Release content", "Builds on AB#49300.")
    assert note.defects_mentioned == (49300,)
    assert note.defects_unclassified == ()


def test_a_status_column_decides_in_a_table_only_note_and_an_unknown_status_is_unclassified() -> None:
    note = _note(
        "| Item | Detail |",
        "|---|---|",
        "| Programme | MHHS |",
        "| Release number | 1.0.3.0 |",
        "",
        "| Defect ID | Severity | Summary | Status |",
        "|---|---|---|---|",
        "| 49401 | 2 - High | Router timeout | Resolved |",
        "| 49402 | 3 - Medium | Slow export | Open |",
        "| 49403 | 4 - Low | Typo | Awaiting deployment |",
        "| 49404 | 4 - Low | Column order | |",
    )
    assert _ids(note.defects_fixed) == [49401]
    assert _ids(note.defects_outstanding) == [49402]
    assert _ids(note.defects_unclassified) == [49403, 49404]
    assert _unclassified_findings(note) == [10, 11]


def test_an_unknown_status_under_a_fixed_heading_is_not_fixed() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "| ID | Summary | Status |",
        "|---|---|---|",
        "| 49501 | Router timeout | Fixed |",
        "| 49502 | Slow export | Under review |",
    )
    assert _ids(note.defects_fixed) == [49501]
    assert _ids(note.defects_unclassified) == [49502]


def test_a_defect_fixed_elsewhere_stays_fixed_and_is_also_reported_where_unclear() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "- 49601 – timeout (High)",
        "## Misc",
        "- AB#49601 also touched the router",
    )
    assert _ids(note.defects_fixed) == [49601]
    assert _ids(note.defects_unclassified) == [49601]


def test_unclassified_defects_are_in_the_json_and_read_back() -> None:
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Issues", "- AB#49701 – router timeout (Sev 2)")
    data = json.loads(json.dumps(note.to_json()))
    assert data["defects_unclassified"] == [
        {"id": 49701, "severity": "2 - High", "summary": "router timeout", "line": 3, "place": "Issues"}
    ]
    again = ReleaseNote.from_json(data)
    assert again.defects_unclassified == (
        DefectUnclassified(49701, "2 - High", "router timeout", 3, "Issues"),
    )
    assert again.to_json() == data


# --- Key: value pairs -------------------------------------------------------------------------------------


def test_key_value_pairs_written_as_sentences_in_one_paragraph() -> None:
    note = _note(
        "# Helix Settlement 2.2.3.0 for migration testing",
        "",
        "Project: MHHS Helix. Delivered to: SIT-B environment team. Git tag: helix-settlement@2.2.3.0. "
        "Date of release: 4-Sep-2024; Authorised by: Helix Delivery Lead.",
    )
    assert note.item("programme").value == "MHHS Helix"  # type: ignore[union-attr]
    assert note.item("released_to").value == "SIT-B environment team"  # type: ignore[union-attr]
    assert note.item("release_date").value == "4-Sep-2024"  # type: ignore[union-attr]
    assert note.item("issued_by").value == "Helix Delivery Lead"  # type: ignore[union-attr]
    assert note.tag == "helix-settlement@2.2.3.0"
    assert {"programme", "released_to", "release_date", "issued_by", "source_tag"}.isdisjoint(note.missing)


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Tag in source control", "source_tag"),
        ("Tag used in Source Control System", "source_tag"),
        ("Party the release is issued to", "released_to"),
        ("Service impact during the release", "service_impact"),
        ("Release pre-requisites", "prerequisites"),
        ("Title of the release", "title"),
    ],
)
def test_an_item_written_under_its_own_name_is_found(label: str, key: str) -> None:
    note = _note("# Notes", "", f"{label}: dip-platform/1.0.3.0 for SIT")
    assert note.item(key) is not None
    assert key not in note.missing


def test_a_bold_line_with_its_value_is_a_label_not_a_heading() -> None:
    note = _note("# DIP 1.0.3.0 for SIT", "**Released to: SIT-A**", "**Tag:** dip-platform/1.0.3.0")
    assert note.item("released_to").value == "SIT-A"  # type: ignore[union-attr]
    assert note.tag == "dip-platform/1.0.3.0"


# --- the safety rule as a property ------------------------------------------------------------------------

FIXED_HEADINGS = [
    "Defects fixed",
    "Fixes",
    "Bug fixes",
    "Resolved defects",
    "Issues resolved in this release",
]
OTHER_HEADINGS = [
    "Known issues",
    "Outstanding defects",
    "Known Issues / Outstanding Defects",
    "Fixed and known issues",
    "Fixes deferred to 1.0.4.0",
    "Fixes planned for the next release",
    "Defects not yet fixed",
    "Parked",
    "Notes from testing",
    "Issues",
    "Release content",
    "Backout plan",
]
HEADING_FORMS = [
    lambda number, text: f"## {text}",
    lambda number, text: f"{text}\n{'-' * len(text)}",
    lambda number, text: f"<h3>{text}</h3>",
    lambda number, text: f"**{text}**",
    lambda number, text: f"**{number}. {text}**",
    lambda number, text: f"{text}:",
]
DEFECT_FORMS = [
    lambda n: f"- {n} – router timeout (2 - High)",
    lambda n: f"- AB#{n} router timeout",
    lambda n: f"- Bug {n}: router timeout (Sev 3)",
    lambda n: f"1. {n} – router timeout",
]


@settings(max_examples=200, deadline=None)
@given(
    form=st.integers(0, len(HEADING_FORMS) - 1),
    sections=st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from(FIXED_HEADINGS).map(lambda h: (h, True)),
                st.sampled_from(OTHER_HEADINGS).map(lambda h: (h, False)),
            ),
            st.lists(st.integers(0, len(DEFECT_FORMS) - 1), min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_a_defect_is_fixed_only_under_a_heading_that_says_fixed(
    form: int, sections: list[tuple[tuple[str, bool], list[int]]]
) -> None:
    lines = ["# DIP 1.0.3.0 for SIT-A testing", ""]
    under_fixed: set[int] = set()
    number = 48000
    for index, ((heading, fixed), defects) in enumerate(sections, start=1):
        lines += [HEADING_FORMS[form](index, heading), ""]
        for defect_form in defects:
            number += 1
            lines.append(DEFECT_FORMS[defect_form](number))
            if fixed:
                under_fixed.add(number)
        lines.append("")
    note = parse_release_note("\n".join(lines))
    read_fixed = {d.id for d in note.defects_fixed}
    assert read_fixed <= under_fixed  # never a defect read as fixed that is not
    assert read_fixed == under_fixed  # and every one that is


# --- more forms seen in pasted notes ----------------------------------------------------------------------


def test_labels_after_a_pasted_bullet_or_emoji_are_labels() -> None:
    note = _note(
        "# DIP 1.0.4.0 for SIT-A testing",
        "• Programme: MHHS",
        "· Released to: SIT-A",
        "🏷️ Tag: dip-platform/1.0.4.0",
        "📅 Release date: 2024-12-02",
    )
    assert note.tag == "dip-platform/1.0.4.0"
    assert {"programme", "released_to", "source_tag", "release_date"}.isdisjoint(note.missing)


def test_a_table_whose_first_row_is_its_title_is_read_under_that_title() -> None:
    note = _note(
        "# DIP 1.0.4.0 for SIT-A testing",
        "",
        "| Defects fixed in this release | | |",
        "|---|---|---|",
        "| 48530 | 2 - High | Router acknowledgement lost |",
        "",
        "| Known issues | | | |",
        "|---|---|---|---|",
        "| ID | Severity | Summary | Workaround |",
        "| 48540 | 3 - Medium | Slow export | Run it overnight |",
    )
    assert [(d.id, d.severity, d.summary) for d in note.defects_fixed] == [
        (48530, "2 - High", "Router acknowledgement lost")
    ]
    assert [(d.id, d.workaround) for d in note.defects_outstanding] == [(48540, "Run it overnight")]


@pytest.mark.parametrize(
    "heading", ["## Fixes & Improvements", "**Bug fixes and new features**", "Fixes and changes:"]
)
def test_fixes_beside_other_work_are_fixed_only_where_the_line_says_so(heading: str) -> None:
    note = _note(
        "# DIP 1.0.4.0 for SIT-A testing",
        heading,
        "- Faster routing (AB#48510)",
        "- Fixes AB#48511 – typo in the logs (Low)",
        "- AB#48512 router timeout (Fixed)",
    )
    assert [d.id for d in note.defects_fixed] == [48511, 48512]
    assert [d.id for d in note.defects_unclassified] == [48510]
    assert "defects_fixed" not in note.missing


def test_a_heading_that_says_none_is_not_an_empty_section() -> None:
    note = _note("# DIP 1.0.4.0 for SIT-A testing", "## Known issues (none)", "## Change requests (n/a)")
    assert FindingCode.EMPTY_SECTION not in {f.code for f in note.findings}
    assert "defects_outstanding" not in note.missing


def test_key_value_sentences_wrapped_over_lines_of_a_paragraph() -> None:
    note = _note(
        "# DIP 1.0.2.1 for SIT-A testing",
        "",
        "Programme: MHHS. Released to: SIT-A",
        "environment team. Tag: dip-platform/1.0.2.1. Issued",
        "by the DIP Release Manager. Release date: 14-Oct-2024.",
    )
    assert note.item("released_to").value == "SIT-A"  # type: ignore[union-attr]
    assert note.tag == "dip-platform/1.0.2.1"
    assert note.item("release_date").value == "14-Oct-2024"  # type: ignore[union-attr]
