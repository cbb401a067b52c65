"""`bridge demo` (the README's first command): it reads the sandbox through the connectors, dry run."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bridge.cli import app


def test_the_demo_reads_the_sandbox_links_releases_and_shows_the_moves_it_would_make(
    tmp_path: Path, shared_dir: Path
) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--work-dir", str(tmp_path), "--samples", str(shared_dir / "samples" / "release-notes")]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert "dip-1.0.2.0-patch.md: 1.0.2.0 (patch), 3 fixed, 2 outstanding, RFCs CHG0031245" in output
    assert "read  30 records from ado by polling" in output
    assert "helix-settlement 1.1.0.0" in output
    assert "read   1 changed records from servicenow" in output
    assert "Defects the bridge would move to Ready for Retest (1):" in output
    assert "Fixed → Ready for Retest" in output
    assert "Dry run: nothing was written" in output
