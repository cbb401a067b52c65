"""`bridge reconcile --once --dry-run` against the sandbox: everything computed and shown, nothing written
to the three systems (the dry runs of `bridge run` and `bridge backfill` have their own tests)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.store import Store
from bridge.store.outbox import ActionStatus, OutboxRow
from tests.bridge.service.test_e2e_support import bridge_notes, sandbox, state, writes

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def test_a_dry_run_reconcile_computes_the_cycle_and_writes_nothing(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    with sandbox(tmp_path) as box:
        sys_id = box.seeded.rfc_sys_ids["helix-1100"]
        box.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
        box.servicenow.update("change_request", sys_id, {"state": "0"})
        before = writes(box)
        result = CliRunner().invoke(
            app,
            ["reconcile", "--once", "--dry-run", "--config", str(box.config_path)],
            env={"BRIDGE_DATABASE__URL": database_url},
        )
        assert result.exit_code == 0, result.output
        assert "dry run: nothing was written to the three systems" in result.output
        assert writes(box) == before
        assert state(box, "helix-negative") == "Fixed"
        assert bridge_notes(box, "helix-1100") == []
        skipped, counts = _outbox(database_url)
        # The move to Ready for Retest and the work notes were decided, and shown as not written.
        assert any(row.kind == "move_defect" for row in skipped)
        assert any(row.kind == "add_work_note" for row in skipped)
        assert all(row.detail == "dry run: not written" for row in skipped)
        assert counts[ActionStatus.DONE] == 0

        # A real run afterwards, on the same database, carries out what the dry run showed.
        result = CliRunner().invoke(
            app,
            ["reconcile", "--once", "--config", str(box.config_path)],
            env={"BRIDGE_DATABASE__URL": database_url},
        )
        assert result.exit_code == 0, result.output
        assert state(box, "helix-negative") == "Ready for Retest"
        assert len(bridge_notes(box, "helix-1100")) == 1
        assert _outbox(database_url)[1][ActionStatus.SKIPPED] == 0


def _outbox(database_url: str) -> tuple[list[OutboxRow], dict[ActionStatus, int]]:
    store = Store.from_url(database_url)
    try:
        with store.transaction(readonly=True) as tx:
            return tx.outbox.list(ActionStatus.SKIPPED, limit=1000), tx.outbox.counts()
    finally:
        store.close()
