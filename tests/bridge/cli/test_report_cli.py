"""`bridge report`: the readiness report from the configured store, as Markdown or one HTML file."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_processor
from bridge.store import Store

# The azure-devops SDK reads its location cache directory when it is imported (api-contracts.md 2.2).
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

runner = CliRunner()


@pytest.fixture(scope="module")
def sandbox_after_a_deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's configuration, its store holding helix-settlement 1.1.0.0 deployed to SIT-B."""
    with Sandbox(
        ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path_factory.mktemp("report") / "sandbox"
    ) as box:
        settings = load_settings(box.config_path)
        store = Store.from_settings(settings.database)
        store.upgrade()
        processor = build_processor(settings, store=store)
        try:
            processor.run_once()
            sys_id = box.seeded.rfc_sys_ids["helix-1100"]
            box.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
            box.servicenow.update("change_request", sys_id, {"state": "0"})
            processor.run_once()
        finally:
            store.close()
        return box.config_path


def _empty_store(folder: Path) -> str:
    url = f"sqlite:///{folder / 'bridge.db'}"
    store = Store.from_url(url)
    store.upgrade()
    store.close()
    return url


@pytest.mark.slow
def test_markdown_on_standard_output_lists_the_moved_defect(sandbox_after_a_deployment: Path) -> None:
    result = runner.invoke(
        app, ["report", "--since", "2024-01-01", "--config", str(sandbox_after_a_deployment)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Readiness report 2024-01-01 to ")
    moved = next(line for line in result.output.splitlines() if "Migration report shows a negative" in line)
    assert "| helix-settlement 1.1.0.0 | SIT-B |" in moved and "| Ready for Retest |" in moved
    assert "| dip-platform 1.0.1.1 | 4, 5 | none yet | no regular release since |" in result.output


@pytest.mark.slow
def test_html_to_a_file_is_self_contained(sandbox_after_a_deployment: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "report",
            "--since",
            "2024-01-01",
            "--format",
            "html",
            "--output",
            str(target),
            "--config",
            str(sandbox_after_a_deployment),
        ],
    )
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert "Migration report shows a negative elapsed time" in html


def test_an_empty_store_reports_nothing_in_the_last_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_DATABASE__URL", _empty_store(tmp_path))
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert result.output.startswith(f"# Readiness report {week_ago:%Y-%m-%d} to ")
    assert result.output.count("None in the period.") == 3
    assert "- **0** dead actions" in result.output


def test_a_period_starting_after_today_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_DATABASE__URL", _empty_store(tmp_path))
    result = runner.invoke(app, ["report", "--since", "2999-01-01"])
    assert result.exit_code == 2
    assert "--since is after today" in result.output
