"""`bridge version check`: verdicts, exit codes and JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bridge.cli import app

runner = CliRunner()


def test_a_valid_successor_exits_0_with_its_type() -> None:
    result = runner.invoke(app, ["version", "check", "1.0.2.0", "--after", "1.0.1.7", "--after", "1.0.1.6"])
    assert result.exit_code == 0
    assert "1.0.2.0: valid patch release after 1.0.1.7" in result.output


def test_an_invalid_version_exits_1_and_says_why() -> None:
    result = runner.invoke(app, ["version", "check", "1.0.3.0", "--after", "1.0.1.0"])
    assert result.exit_code == 1
    assert "1.0.3.0 skips 1.0.2.0" in result.output


def test_json_output() -> None:
    result = runner.invoke(app, ["version", "check", "1.1.0.2", "--after", "1.0.5.0", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "version": "1.1.0.2",
        "release_type": "minor",
        "previous": "1.0.5.0",
        "valid": False,
        "problems": ["1.1.0.2 does not reset the emergency part"],
    }


def test_a_first_release_needs_no_predecessor() -> None:
    result = runner.invoke(app, ["version", "check", "1.0.0.0", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["release_type"] == "major"


def test_an_unreadable_version_exits_2() -> None:
    result = runner.invoke(app, ["version", "check", "1.0.2"])
    assert result.exit_code == 2
    assert "not a 4-part version" in result.output
    result = runner.invoke(app, ["version", "check", "1.0.2.0", "--after", "one"])
    assert result.exit_code == 2
