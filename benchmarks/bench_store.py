"""Inbox puts on SQLite (file, WAL, synchronous=NORMAL): 2,000 distinct deliveries, one transaction each."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bridge.domain.events import Source
from bridge.store import InboxKind, Store

PUTS = 2000


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'var' / 'bridge.db'}")
        try:
            store.upgrade()
            latencies: list[float] = []
            started = time.perf_counter()
            for n in range(PUTS):
                payload = {
                    "object_kind": "tag_push",
                    "ref": f"refs/tags/v1.0.{n}.0",
                    "checkout_sha": f"{n:040x}",
                }
                before = time.perf_counter()
                with store.transaction() as tx:
                    tx.inbox.put(Source.GITLAB, f"delivery-{n}", InboxKind.WEBHOOK, payload)
                latencies.append(time.perf_counter() - before)
            elapsed = time.perf_counter() - started
        finally:
            store.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "store_inbox_puts_per_s": round(PUTS / elapsed),
        "store_inbox_put_p50_ms": round(cuts[49] * 1000, 3),
        "store_inbox_put_p99_ms": round(cuts[98] * 1000, 3),
    }
