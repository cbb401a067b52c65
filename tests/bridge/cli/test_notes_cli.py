"""`bridge notes parse`, `check` and `explain`: JSON shape, readable output, CI reports, stdin, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from typer.testing import CliRunner

from bridge.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "release-notes"
JSON_KEYS = {
    "version",
    "release_type",
    "tag",
    "rfcs",
    "defects_fixed",
    "defects_outstanding",
    "change_requests",
    "missing",
    "findings",
}


def _samples(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "release-notes"


def test_parse_json_prints_the_documented_shape(shared_dir: Path) -> None:
    result = runner.invoke(
        app, ["notes", "parse", str(_samples(shared_dir) / "dip-1.0.2.0-patch.md"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= JSON_KEYS
    assert data["version"] == "1.0.2.0"
    assert data["release_type"] == "patch"
    assert data["tag"] == "dip-platform/1.0.2.0"
    assert data["rfcs"] == ["CHG0031245"]
    assert data["defects_fixed"][0] == {
        "id": 48211,
        "severity": "2 - High",
        "summary": "Duplicate MDS messages published when the DIP retries a delivery",
    }
    assert data["defects_outstanding"][1] == {
        "id": 48302,
        "severity": "4 - Low",
        "summary": "Audit export column order differs from the interface spec",
        "workaround": "Re-order columns after export",
    }
    assert data["change_requests"] == [
        {
            "id": "CR-031",
            "title": "Extend retry window",
            "summary": "Retry window raised from 30 to 60 minutes",
        }
    ]
    assert data["missing"] == []
    assert data["findings"] == []


def test_parse_exits_0_when_items_are_missing_and_reports_them(shared_dir: Path) -> None:
    note = _samples(shared_dir) / "dip-1.0.1.3-emergency.md"
    result = runner.invoke(app, ["notes", "parse", str(note), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["tag"] is None
    assert "backout_plan" in data["missing"]
    finding = next(f for f in data["findings"] if f["code"] == "missing-item")
    assert set(finding) == {"code", "severity", "message", "line"}
    assert finding["severity"] == "warning" and finding["line"] is None


def test_parse_reads_stdin_for_a_dash(shared_dir: Path) -> None:
    text = (_samples(shared_dir) / "helix-2.0.0.0-major.md").read_text(encoding="utf-8")
    result = runner.invoke(app, ["notes", "parse", "-", "--json"], input=text)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["version"], data["release_type"], data["tag"]) == (
        "2.0.0.0",
        "major",
        "helix-settlement@2.0.0.0",
    )


def test_parse_exits_2_with_a_message_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-note.md"
    result = runner.invoke(app, ["notes", "parse", str(missing), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "cannot read" in result.stderr and "no-such-note.md" in result.stderr


def test_parse_exits_2_for_a_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["notes", "parse", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_parse_does_not_fail_on_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    note = tmp_path / "latin1.md"
    note.write_bytes("# DIP 1.0.2.0 - Release\n\nProgramme: MHHS £\n".encode("cp1252"))
    result = runner.invoke(app, ["notes", "parse", str(note), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["version"] == "1.0.2.0"


def test_parse_without_json_shows_the_release_readably(shared_dir: Path) -> None:
    result = runner.invoke(app, ["notes", "parse", str(_samples(shared_dir) / "dip-1.0.1.3-emergency.md")])
    assert result.exit_code == 0
    out = result.stdout
    for expected in (
        "1.0.1.3",
        "emergency",
        "CHG0031190",
        "48255",
        "1 - Critical",
        "48190",
        "Missing",
        "backout_plan",
    ):
        assert expected in out, expected


def test_parse_shows_findings_with_their_lines() -> None:
    result = runner.invoke(app, ["notes", "parse", str(FIXTURES / "version-disagrees-with-tag.md")])
    assert result.exit_code == 0
    assert "version-tag-mismatch" in result.stdout
    assert " 11 " in result.stdout


def test_check_prints_one_verdict_line_per_note_and_exits_1_when_a_note_has_findings(
    shared_dir: Path,
) -> None:
    result = runner.invoke(app, ["notes", "check", str(_samples(shared_dir))])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    patch = next(line for line in lines if line.startswith("dip-1.0.2.0-patch.md"))
    assert (
        "ok" in patch and "1.0.2.0 patch" in patch and "3 defects fixed" in patch and "missing: none" in patch
    )
    emergency = next(line for line in lines if line.startswith("dip-1.0.1.3-emergency.md"))
    assert "incomplete" in emergency and "1.0.1.3 emergency" in emergency and "backout_plan" in emergency


def test_check_exits_0_for_a_clean_note(shared_dir: Path) -> None:
    result = runner.invoke(app, ["notes", "check", str(_samples(shared_dir) / "dip-1.0.2.0-patch.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dip-1.0.2.0-patch.md: ok")


def test_check_exits_2_when_a_note_cannot_be_read_but_reports_the_others(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["notes", "check", str(FIXTURES / "bold-keys.md"), str(tmp_path / "missing.md")]
    )
    assert result.exit_code == 2
    assert result.stdout.startswith("bold-keys.md: ")
    assert "missing.md" in result.stderr


# --- reports for CI ----------------------------------------------------------------------------------------

# GitLab's Code Quality report format: an array of issues with exactly these fields and severities
# (docs.gitlab.com/ci/testing/code_quality/, "Code Quality report format").
CODE_QUALITY_FIELDS = {"description", "check_name", "fingerprint", "severity", "location"}
CODE_QUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _valid_code_quality(report: object) -> list[dict[str, object]]:
    assert isinstance(report, list)
    fingerprints = set()
    for issue in report:
        assert isinstance(issue, dict) and set(issue) == CODE_QUALITY_FIELDS, issue
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in CODE_QUALITY_SEVERITIES
        location = issue["location"]
        assert isinstance(location, dict) and set(location) == {"path", "lines"}
        assert isinstance(location["path"], str)
        assert set(location["lines"]) == {"begin"} and isinstance(location["lines"]["begin"], int)
        assert location["lines"]["begin"] >= 1
        fingerprints.add(issue["fingerprint"])
    assert len(fingerprints) == len(report), "fingerprints must be unique"
    return report  # type: ignore[return-value]


def test_check_writes_gitlab_code_quality_with_each_finding_and_its_line(tmp_path: Path) -> None:
    note = FIXTURES / "ambiguous-and-unknown-headings.md"
    report = tmp_path / "gl-code-quality-report.json"
    result = runner.invoke(
        app, ["notes", "check", str(note), "--format", "codequality", "--output", str(report)]
    )
    assert result.exit_code == 1, result.output
    issues = _valid_code_quality(json.loads(report.read_text(encoding="utf-8")))
    unclassified = [i for i in issues if i["check_name"] == "release-note/defect-unclassified"]
    assert [i["location"]["lines"]["begin"] for i in unclassified] == [23, 26, 29]  # type: ignore[index]
    assert {i["severity"] for i in unclassified} == {"major"}
    assert {i["location"]["path"] for i in issues} == {note.as_posix()}  # type: ignore[index]


def test_code_quality_reports_missing_items_on_line_1_and_nothing_for_a_clean_note(
    shared_dir: Path, tmp_path: Path
) -> None:
    sparse = tmp_path / "RELEASE_NOTE.md"
    sparse.write_text("# DIP 1.0.3.0\n\nFixes: AB#48211\n", encoding="utf-8")
    result = runner.invoke(app, ["notes", "check", str(sparse), "--format", "codequality"])
    assert result.exit_code == 1
    issues = _valid_code_quality(json.loads(result.stdout))
    missing = [i for i in issues if i["check_name"] == "release-note/missing-item"]
    assert len(missing) == 14 and {i["location"]["lines"]["begin"] for i in missing} == {1}  # type: ignore[index]

    clean = runner.invoke(
        app, ["notes", "check", str(_samples(shared_dir) / "dip-1.0.2.0-patch.md"), "--format", "codequality"]
    )
    assert clean.exit_code == 0
    assert json.loads(clean.stdout) == []


def test_check_writes_junit_with_a_failure_per_missing_item_and_finding(tmp_path: Path) -> None:
    sparse = tmp_path / "note.md"
    sparse.write_text("# DIP 1.0.3.0 for SIT\n\n## Defects fixed\n- 48211\n", encoding="utf-8")
    result = runner.invoke(app, ["notes", "check", str(sparse), "--format", "junit"])
    assert result.exit_code == 1
    root = ElementTree.fromstring(result.stdout)
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    failed = [case for case in cases if case.find("failure") is not None]
    assert int(suite.get("tests", "0")) == len(cases) and int(suite.get("failures", "0")) == len(failed)
    names = {case.get("name") for case in failed}
    assert "item: programme" in names and "item: defects_fixed" not in names
    assert "defect-incomplete at line 4" in names


def test_explain_shows_each_line_with_how_it_was_read() -> None:
    result = runner.invoke(app, ["notes", "explain", str(FIXTURES / "word-export-numbered-bold-sections.md")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "41 | **5. Known Issues / Outstanding Defects**" in out
    assert "bold line as a heading: Outstanding defects; defects here are outstanding" in out
    assert "defect 49702: outstanding, 3 - Medium" in out
    assert "defect 49833: fixed, 1 - Critical" in out
    assert "Summary: " in out


def test_explain_shows_why_a_defect_is_unclassified() -> None:
    result = runner.invoke(app, ["notes", "explain", str(FIXTURES / "ambiguous-and-unknown-headings.md")])
    assert result.exit_code == 0
    assert (
        "defect 51215: unclassified (never moved), under Fixes planned for the next release" in result.stdout
    )
    assert "finding [warning] defect 51215 is listed under" in result.stdout


def test_explain_exits_2_when_the_note_cannot_be_read(tmp_path: Path) -> None:
    result = runner.invoke(app, ["notes", "explain", str(tmp_path / "absent.md")])
    assert result.exit_code == 2
