"""A `bridge run` killed with SIGKILL during a burst of 2,000 webhooks, then started again: every
accepted webhook is processed, and none twice."""

from __future__ import annotations

import base64
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from bridge.store.schema import inbox, journal
from connectors.simulation import Delivery as SimulatedDelivery
from connectors.simulation import free_port
from tests.bridge.service.test_e2e_support import BridgeProcess, sandbox, wait_for, write_config

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

BURST = 2000
SENDERS = 16
KILL_AFTER = 700  # accepted deliveries before the kill
Delivery = tuple[dict[str, str], bytes]


def _deliveries(box: Sandbox) -> tuple[list[Delivery], list[int]]:
    """Real `workitem.created` deliveries (the simulator's payloads, headers and basic auth), one per
    new defect, taken from its sender rather than posted, to be replayed at speed."""
    taken: list[SimulatedDelivery] = []
    secrets = box.secrets
    box.ado.add_subscription(
        "workitem.created",
        "http://127.0.0.1:9/hooks/ado",  # never posted to: the deliveries are taken before sending
        basic_auth=(secrets.ado_hook_user, secrets.ado_hook_password),
    )
    box.ado.webhooks.send = taken.append  # type: ignore[method-assign]
    # Dated a day back, before the bridge's poll cursor and its look-back: only webhooks bring them.
    clock = box.ado.store.clock
    box.ado.store.clock = lambda: datetime.now(UTC) - timedelta(days=1)
    try:
        ids = [
            int(str(box.ado.create_work_item({"System.Title": f"Burst {n}", "System.State": "New"})["id"]))
            for n in range(BURST)
        ]
    finally:
        del box.ado.webhooks.send
        box.ado.store.clock = clock
    assert len(taken) == BURST
    deliveries = []
    for delivery in taken:
        assert delivery.auth is not None
        credentials = base64.b64encode(":".join(delivery.auth).encode()).decode()
        deliveries.append(({**delivery.headers, "Authorization": f"Basic {credentials}"}, delivery.body))
    return deliveries, ids


def _burst(url: str, deliveries: list[Delivery], bridge: BridgeProcess | None) -> set[int]:
    """Every delivery from SENDERS threads; the bridge is killed once KILL_AFTER are accepted.

    Returns the indexes of the deliveries answered 202 or 200 (accepted: stored before the answer).
    """
    accepted: set[int] = set()
    lock = threading.Lock()
    pending = list(range(len(deliveries)))
    killed = threading.Event()

    def sender() -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    index = pending.pop()
                headers, body = deliveries[index]
                try:
                    answer = client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    continue  # the bridge is down: not accepted, sent again later
                if answer.status_code in (200, 202):
                    with lock:
                        accepted.add(index)
                        if bridge is not None and len(accepted) >= KILL_AFTER and not killed.is_set():
                            killed.set()
                            bridge.kill()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


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
        deliveries, ids = _deliveries(box)
        url = f"{bridge.url}/hooks/ado"

        began = time.monotonic()
        first = _burst(url, deliveries, bridge)
        assert bridge.process is not None and bridge.process.returncode == -9
        assert KILL_AFTER <= len(first) < BURST, len(first)

        store = Store.from_url(database_url)
        try:
            stored, _ = _inbox(store)
            # Every accepted delivery was stored before its answer (a few more may have been stored
            # whose answers the kill cut off).
            assert stored >= len(first)

            bridge.start()
            bridge.ready()
            rest = [i for i in range(BURST) if i not in first]
            second = _burst(url, [deliveries[i] for i in rest], None)
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
