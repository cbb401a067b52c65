"""A `bridge run` killed with SIGKILL during a burst of 2,000 webhooks, then started again: every
accepted webhook is processed, and none twice."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from bridge.store.schema import inbox, journal
from connectors.simulation import free_port
from tests.bridge.service.test_e2e_support import (
    BridgeProcess,
    Delivery,
    post_all,
    sandbox,
    taken_ado_hooks,
    wait_for,
    write_config,
)

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

BURST = 2000
KILL_AFTER = 700  # accepted deliveries before the kill


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _burst_hooks(box: Sandbox) -> tuple[list[Delivery], list[int]]:
    """A `workitem.created` delivery for each of BURST new defects; their ids."""
    # Dated a day back, before the bridge's poll cursor and its look-back: only webhooks bring them.
    clock = box.ado.model.clock
    box.ado.model.clock = lambda: datetime.now(UTC) - timedelta(days=1)
    try:
        with taken_ado_hooks(box) as deliveries:
            ids = [
                int(
                    str(box.ado.create_work_item({"System.Title": f"Burst {n}", "System.State": "New"})["id"])
                )
                for n in range(BURST)
            ]
    finally:
        box.ado.model.clock = clock
    assert len(deliveries) == BURST
    return deliveries, ids


def _inbox(store: Store) -> tuple[int, int]:
    """(webhook rows from ADO, of which processed)."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(func.count(), func.count(inbox.c.processed_at)).where(
                inbox.c.source == "ado", inbox.c.kind == "webhook"
            )
        ).one()
    return int(rows[0]), int(rows[1])


def _journal(store: Store, ids: list[int]) -> Counter[str]:
    wanted = {str(i) for i in ids}
    with store.engine.connect() as connection:
        keys = connection.execute(select(journal.c.record_key).where(journal.c.source == "ado")).scalars()
        return Counter(key for key in keys if key in wanted)


def test_a_bridge_killed_mid_burst_processes_every_accepted_webhook_once(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    with sandbox(tmp_path) as box:
        port = free_port()
        config = write_config(box, tmp_path, port, database_url=database_url)
        bridge = BridgeProcess(config, port, tmp_path).start()
        bridge.ready()
        deliveries, ids = _burst_hooks(box)
        url = f"{bridge.url}/hooks/ado"
        killed = threading.Event()

        def kill_midway(accepted: int) -> None:
            if accepted >= KILL_AFTER and not killed.is_set():
                killed.set()
                bridge.kill()

        began = time.monotonic()
        first = post_all([url], deliveries, on_accepted=kill_midway)
        assert bridge.process is not None and bridge.process.returncode == -9
        assert KILL_AFTER <= len(first) < BURST, len(first)

        store = Store.from_url(database_url)
        try:
            # Every accepted delivery was stored before its answer (a few more may have been stored
            # whose answers the kill cut off: sent again, they are duplicates).
            assert _inbox(store)[0] >= len(first)
            bridge.start()
            bridge.ready()
            rest = [i for i in range(BURST) if i not in first]
            second = post_all([url], [deliveries[i] for i in rest])
            assert len(second) == len(rest)
            wait_for(lambda: _inbox(store) == (BURST, BURST), timeout_s=60, what="every webhook processed")
            took = time.monotonic() - began
            recorded = _journal(store, ids)
            assert set(recorded) == {str(i) for i in ids}
            assert set(recorded.values()) == {1}, [k for k, n in recorded.items() if n > 1][:5]
        finally:
            store.close()
            bridge.stop()
        print(f"burst of {BURST}: {len(first)} accepted before the kill, all processed in {took:.1f} s")
