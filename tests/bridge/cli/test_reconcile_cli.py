"""`bridge reconcile --once`: one cycle; a bad mapping or configuration stops it with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.mappings import MAPPINGS_DIR

runner = CliRunner()


def test_a_bad_mapping_exits_2_naming_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (mappings / "servicenow.yaml").read_text(encoding="utf-8")
    (mappings / "servicenow.yaml").write_text(
        text.replace('"-1": implement', '"-1": implementing'), encoding="utf-8"
    )
    monkeypatch.setenv("BRIDGE_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("BRIDGE_DATABASE__URL", f"sqlite:///{tmp_path / 'bridge.db'}")
    result = runner.invoke(app, ["reconcile", "--once"])
    assert result.exit_code == 2
    assert "servicenow.yaml:" in result.output and "states.-1" in result.output


def test_with_nothing_configured_a_cycle_does_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_DATABASE__URL", f"sqlite:///{tmp_path / 'bridge.db'}")
    result = runner.invoke(app, ["reconcile", "--once", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"polled": {}, "processed": 0, "dispatched": 0}


def test_without_once_it_points_at_bridge_run() -> None:
    result = runner.invoke(app, ["reconcile"])
    assert result.exit_code == 2
    assert "bridge run" in result.output
