"""The approach's asks of a note's content, as findings with their lines: defects with severity and
summary, workarounds, bill-of-materials versions and dates, steps with who and how long, a total time,
and a title that says why."""

from __future__ import annotations

from pathlib import Path

from bridge.release_notes import FindingCode, ReleaseNote, parse_release_note


def _note(*lines: str) -> ReleaseNote:
    return parse_release_note("\n".join(lines))


def _lines(note: ReleaseNote, code: FindingCode) -> list[int | None]:
    return [f.line for f in note.findings if f.code is code]


def test_the_programme_s_patch_sample_meets_every_ask(shared_dir: Path) -> None:
    text = (shared_dir / "samples" / "release-notes" / "dip-1.0.2.0-patch.md").read_text(encoding="utf-8")
    assert parse_release_note(text).findings == ()


def test_bare_fixed_defect_ids_lack_severity_and_summary() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Defects fixed",
        "- 48211",
        "- 48212 – router timeout",
        "- 48213 (High)",
        "- 48214 – slow export (Sev 3)",
    )
    findings = [(f.line, f.message) for f in note.findings if f.code is FindingCode.DEFECT_INCOMPLETE]
    assert findings == [
        (3, "fixed defect 48211 has no severity and no summary"),
        (4, "fixed defect 48212 has no severity"),
        (5, "fixed defect 48213 has no summary"),
    ]


def test_an_outstanding_defect_needs_a_workaround_or_to_say_there_is_none() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Known issues",
        "- 48301 – slow export (Low) – workaround: run it overnight",
        "- 48302 – column order (Low) – no workaround",
        "- 48303 – typo (Low) (Workaround: none)",
        "- 48304 – dashboard colours (Low)",
        "",
        "| ID | Severity | Summary | Workaround |",
        "|---|---|---|---|",
        "| 48305 | 4 - Low | Typo | n/a |",
        "| 48306 | 4 - Low | Typo | |",
    )
    assert _lines(note, FindingCode.WORKAROUND_MISSING) == [6, 11]
    assert {d.id: d.workaround for d in note.defects_outstanding}[48303] is None


def test_bill_of_materials_items_need_a_version_and_a_date() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Bill of materials",
        "| Component | Version | Date |",
        "|---|---|---|",
        "| dip-router.jar | 1.0.3.0 | 12-Jun-2024 |",
        "| router.yaml | r58 | |",
        "| dip-schemas.zip | | 12-Jun-2024 |",
        "",
        "## BOM (other components)",
        "- helix-lss 2.2.2.0 (2024-06-10)",
        "- dip-ui 3.1.0",
        "- the monitoring dashboards",
    )
    findings = [(f.line, f.message) for f in note.findings if f.code is FindingCode.BOM_ITEM_INCOMPLETE]
    assert findings == [
        (6, "bill of materials item 'router.yaml | r58' has no date"),
        (7, "bill of materials item 'dip-schemas.zip | 12-Jun-2024' has no version"),
        (11, "bill of materials item 'dip-ui 3.1.0' has no date"),
        (12, "bill of materials item 'the monitoring dashboards' has no version and no date"),
    ]


def test_installation_and_backout_steps_say_who_and_how_long_and_the_total_is_stated() -> None:
    note = _note(
        "# DIP 1.0.3.0 for SIT-A testing",
        "## Release instructions",
        "1. Stop the router (Deployment Team, 5 min)",
        "2. Deploy dip-router.jar",
        "3. Start the router – performed by Ops – 2 minutes",
        "4. Check the health endpoint – 00:05",
        "## Backout plan",
        "| Step | Description | Owner | Duration |",
        "|---|---|---|---|",
        "| 1 | Redeploy 1.0.2.0 | Deployment Team | 15 min |",
        "| 2 | Restore router.yaml | | 5 min |",
        "| 3 | Restart the router | DBA | - |",
    )
    steps = [
        (f.line, f.message.split(" does not say ")[1])
        for f in note.findings
        if f.code is FindingCode.STEP_INCOMPLETE
    ]
    assert steps == [
        (4, "who performs it or how long it takes"),
        (6, "who performs it"),
        (11, "who performs it"),
        (12, "how long it takes"),
    ]
    assert _lines(note, FindingCode.TOTAL_TIME_MISSING) == [2]


def test_a_stated_total_time_satisfies_the_total() -> None:
    for total in ("Total: 20 min.", "Overall duration 1 hour", "| | **Total** | | 45 minutes |"):
        note = _note(
            "# DIP 1.0.3.0 for SIT-A testing",
            "## Installation instructions",
            "| Step | Description | Who | Estimate |",
            "|---|---|---|---|",
            "| 1 | Deploy | Deployment Team | 20 min |",
            *(["", total] if not total.startswith("|") else [total]),
        )
        assert _lines(note, FindingCode.TOTAL_TIME_MISSING) == [], total
        assert _lines(note, FindingCode.STEP_INCOMPLETE) == [], total


def test_the_title_says_why_the_release_is_made() -> None:
    for title, why in (
        ("# DIP Platform 1.0.3.0", False),
        ("# Release 1.0.3.0 – SIT-A", False),
        ("# DIP 1.0.3.0 – release for CIT testing in SIT", True),
        ("# DIP 1.0.3.0 hotfix: router timeout", True),
        ("# Helix 2.0.0.0 to enable migration testing", True),
    ):
        note = _note(title)
        assert (_lines(note, FindingCode.TITLE_WITHOUT_REASON) == []) is why, title


def test_a_long_note_s_findings_of_one_check_are_bounded_and_the_rest_summed_up() -> None:
    steps = [f"{n}. Deploy module {n}" for n in range(1, 31)]
    note = _note("# DIP 1.0.3.0 for SIT-A testing", "## Release instructions", *steps, "", "Total: 1 hour")
    incomplete = [f for f in note.findings if f.code is FindingCode.STEP_INCOMPLETE]
    assert len(incomplete) == 21
    assert [f.line for f in incomplete[:20]] == list(range(3, 23))
    last = incomplete[20]
    assert last.line == 23
    assert last.message.startswith("and 10 more like the 20 above (lines 23 to 32): ")
