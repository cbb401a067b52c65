"""The pages and their JSON twins on a large programme: 200 releases, 200 RFCs, 5,000 fixed defects."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from benchmarks.programme import programme, put_in_inbox
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store

COMPONENTS = 10
RELEASES_PER_COMPONENT = 20
FIXED_PER_RELEASE = 25
ROUNDS = 15


def timed_page(client: TestClient, path: str, rounds: int = ROUNDS) -> tuple[float, float, int]:
    """A page's median and slowest answer in ms over `rounds` requests, and its size in bytes."""
    times = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:200]}")
        size = len(answer.content)
    times.sort()
    return statistics.median(times), times[-1], size


def run() -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    built = programme(COMPONENTS, RELEASES_PER_COMPONENT, FIXED_PER_RELEASE)
    context, events = built.context, built.events
    store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
    store.upgrade()
    processor = Processor(store, {}, context)
    started = time.perf_counter()
    put_in_inbox(store, events)
    while processor.process_inbox(limit=5000):
        pass
    seeded_s = time.perf_counter() - started

    figures: dict[str, object] = {"pages_seed_s": round(seeded_s, 1)}
    with store.transaction(readonly=True) as tx:
        counts = tx.outbox.counts()
    figures["pages_actions_waiting"] = sum(counts.values())
    pages = {
        "releases": "/",
        "releases_filtered": "/?component=component-03&findings=",
        "release": "/releases/component-03/1.10.0.0",
        "environments": "/environments",
        "history": "/environments/SIT-A/component-03",
        "findings": "/findings",
        "outbox": "/outbox",
        "api_releases": "/api/releases",
        "api_release": "/api/releases/component-03/1.10.0.0",
        "report": "/report?since=2024-01-01",
    }
    with TestClient(create_app(processor)) as client:
        for name, path in pages.items():
            p50, worst, size = timed_page(client, path)
            print(
                f"   {path:42} p50 {p50:7.1f} ms   max {worst:7.1f} ms   {size / 1024:7.1f} KiB", flush=True
            )
            figures[f"page_{name}_p50_ms"] = round(p50, 1)
    store.close()
    return figures
