"""`bridge backfill`: history since a date read through the inbox with progress, processed, written back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bridge.cli import app
from bridge.cli.backfill import parse_since
from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from bridge.store.outbox import ActionStatus
from bridge.store.schema import inbox

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        yield box


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    store.upgrade()
    yield store
    store.close()


def _backfill(box: Sandbox, store: Store, *args: str) -> tuple[int, str]:
    env = {"BRIDGE_DATABASE__URL": str(store.engine.url)}
    result = CliRunner().invoke(app, ["backfill", "--config", str(box.config_path), *args], env=env)
    return result.exit_code, result.output


def _bridge_notes(box: Sandbox, key: str) -> list[str]:
    return [
        entry["value"]
        for entry in box.servicenow.journal(box.seeded.rfc_sys_ids[key])
        if entry["value"].startswith("[Release bridge]")
    ]


def _inbox_by_source(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(inbox.c.source, func.count()).group_by(inbox.c.source))
        return {str(source): int(count) for source, count in rows}


@pytest.mark.slow
def test_backfill_reads_every_system_through_the_inbox_and_writes_back(
    sandbox: Sandbox, database: Store
) -> None:
    code, output = _backfill(sandbox, database, "--since", "2020-01-01")
    assert code == 0, output
    assert "read 41 records since 2020-01-01T00:00:00+00:00 from gitlab, servicenow, ado" in output
    assert "processed 41 inbox rows" in output
    assert _inbox_by_source(database) == {"gitlab": 5, "servicenow": 6, "ado": 30}
    assert len(_bridge_notes(sandbox, "helix-1100")) == 1
    # Again: the RFCs the bridge wrote to have new revisions; everything else is rows already held.
    code, output = _backfill(sandbox, database, "--since", "2020-01-01")
    assert code == 0, output
    second = _inbox_by_source(database)
    assert second["gitlab"] == 5 and second["ado"] == 30 and second["servicenow"] <= 12
    # A third time nothing is new, and nothing has been written twice.
    code, output = _backfill(sandbox, database, "--since", "2020-01-01")
    assert code == 0, output
    assert _inbox_by_source(database) == second
    assert "dispatched 0 actions" in output
    assert len(_bridge_notes(sandbox, "helix-1100")) == 1


@pytest.mark.slow
def test_a_dry_run_backfill_computes_everything_and_writes_nothing(sandbox: Sandbox, database: Store) -> None:
    stats = sandbox.servicenow.stats.snapshot()["requests"]
    writes_before = sum(n for route, n in stats.items() if not route.startswith("GET"))
    code, output = _backfill(sandbox, database, "--since", "2020-01-01", "--dry-run")
    assert code == 0, output
    assert "dry run: nothing was written" in output
    assert _bridge_notes(sandbox, "helix-1100") == []
    stats = sandbox.servicenow.stats.snapshot()["requests"]
    assert sum(n for route, n in stats.items() if not route.startswith("GET")) == writes_before
    with database.transaction(readonly=True) as tx:
        counts = tx.outbox.counts()
    assert counts[ActionStatus.SKIPPED] > 0 and counts[ActionStatus.DONE] == 0


@pytest.mark.slow
def test_one_source_and_a_recent_date(sandbox: Sandbox, database: Store) -> None:
    code, output = _backfill(sandbox, database, "--since", "2020-01-01", "--source", "ado")
    assert code == 0, output
    assert _inbox_by_source(database) == {"ado": 30}
    code, output = _backfill(sandbox, database, "--since", "2999-01-01T00:00:00", "--source", "servicenow")
    assert code == 0, output
    assert "read 0 records" in output


@pytest.mark.slow
def test_a_bad_date_or_an_unconfigured_source_is_refused(sandbox: Sandbox, database: Store) -> None:
    code, output = _backfill(sandbox, database, "--since", "last tuesday")
    assert code == 2, output
    code, output = _backfill(sandbox, database, "--since", "2020-01-01", "--source", "jira")
    assert code == 2, output


def test_since_takes_a_date_or_a_moment() -> None:
    assert parse_since("2026-03-02").isoformat() == "2026-03-02T00:00:00+00:00"
    assert parse_since("2026-03-02T10:30:00+01:00").isoformat() == "2026-03-02T10:30:00+01:00"
    assert parse_since("2026-03-02T10:30").isoformat() == "2026-03-02T10:30:00+00:00"
