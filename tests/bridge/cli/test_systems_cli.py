"""`bridge run`, `reconcile` and `backfill` refuse a store filled from other systems (exit 2, naming
both); `bridge db repoint` shows what it would mean and changes the record only with --yes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_settings
from bridge.service.runtime.systems import check_systems
from bridge.store import Store

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("BRIDGE_") and not key.startswith("BRIDGE_REQUIRE"):
            monkeypatch.delenv(key)


def _config(folder: Path, database_url: str, servicenow: str) -> Path:
    # Loopback ports nothing listens on: a command that went past the check would fail to connect.
    path = folder / f"bridge-{len(list(folder.glob('*.toml')))}.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        '[gitlab]\nurl = "http://127.0.0.1:9"\ntoken = "t"\n'
        '[[gitlab.projects]]\npath = "mhhs/dip-platform"\ncomponent = "dip-platform"\n'
        f'[servicenow]\nurl = "{servicenow}"\nuser = "bridge"\npassword = "p"\n'
        '[ado]\norganization_url = "http://127.0.0.1:9/mhhs"\nproject = "Programme"\npat = "p"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def filled(tmp_path: Path, database_url: str) -> tuple[Path, Path]:
    """A store filled from one ServiceNow instance, and a configuration naming another."""
    first = _config(tmp_path, database_url, "http://127.0.0.1:9/acme")
    store = Store.from_url(database_url)
    try:
        check_systems(store, load_settings(first))
    finally:
        store.close()
    return first, _config(tmp_path, database_url, "http://127.0.0.1:9/acme-test")


@pytest.mark.parametrize(
    "command",
    [["reconcile", "--once"], ["run", "--port", "1"], ["backfill", "--since", "2026-01-01"]],
    ids=["reconcile", "run", "backfill"],
)
def test_a_command_against_other_systems_exits_2_naming_both(
    filled: tuple[Path, Path], command: list[str]
) -> None:
    _, other = filled
    result = runner.invoke(app, [*command, "--config", str(other)])
    assert result.exit_code == 2, result.output
    assert "this store was filled from other systems" in result.output
    assert "instance http://127.0.0.1:9/acme;" in result.output
    assert "instance http://127.0.0.1:9/acme-test" in result.output
    assert "bridge db repoint" in result.output


def test_repoint_shows_what_it_means_and_changes_only_with_yes(filled: tuple[Path, Path]) -> None:
    first, other = filled
    shown = runner.invoke(app, ["db", "repoint", "--config", str(other)])
    assert shown.exit_code == 1, shown.output
    assert "ServiceNow: the 0 RFCs read from instance http://127.0.0.1:9/acme are taken" in shown.output
    assert "Nothing changed; run again with --yes" in shown.output
    refused = runner.invoke(app, ["reconcile", "--once", "--config", str(other)])
    assert refused.exit_code == 2

    done = runner.invoke(app, ["db", "repoint", "--yes", "--config", str(other)])
    assert done.exit_code == 0, done.output
    assert "The store now follows the configured systems." in done.output
    again = runner.invoke(app, ["db", "repoint", "--config", str(other)])
    assert again.exit_code == 0
    assert "nothing to change" in again.output
    # The first instance is now the other one.
    back = runner.invoke(app, ["reconcile", "--once", "--config", str(first)])
    assert back.exit_code == 2
    assert "the configuration's is instance http://127.0.0.1:9/acme\n" in back.output
