"""`bridge notes parse` and `bridge notes check`: JSON shape, readable output, stdin, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_check_prints_one_verdict_line_per_note(shared_dir: Path) -> None:
    result = runner.invoke(app, ["notes", "check", str(_samples(shared_dir))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    patch = next(line for line in lines if line.startswith("dip-1.0.2.0-patch.md"))
    assert (
        "ok" in patch and "1.0.2.0 patch" in patch and "3 defects fixed" in patch and "missing: none" in patch
    )
    emergency = next(line for line in lines if line.startswith("dip-1.0.1.3-emergency.md"))
    assert "incomplete" in emergency and "1.0.1.3 emergency" in emergency and "backout_plan" in emergency


def test_check_takes_files_and_exits_1_on_errors_only_when_strict() -> None:
    note = str(FIXTURES / "version-disagrees-with-tag.md")
    relaxed = runner.invoke(app, ["notes", "check", note])
    strict = runner.invoke(app, ["notes", "check", "--strict", note])
    assert relaxed.exit_code == 0
    assert strict.exit_code == 1
    assert "errors" in strict.stdout and "1 errors" in strict.stdout


def test_check_exits_2_when_a_note_cannot_be_read_but_reports_the_others(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["notes", "check", str(FIXTURES / "bold-keys.md"), str(tmp_path / "missing.md")]
    )
    assert result.exit_code == 2
    assert result.stdout.startswith("bold-keys.md: ok")
    assert "missing.md" in result.stderr
