"""The pages and their JSON twins on a large programme: 200 releases, 200 RFCs, 5,000 fixed defects
(served from a fresh process, as the pages process serves them)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.programme import programme, put_in_inbox
from benchmarks.reader import time_pages
from bridge.service.worker.processor import Processor
from bridge.store import Store

COMPONENTS = 10
RELEASES_PER_COMPONENT = 20
FIXED_PER_RELEASE = 25
ROUNDS = 15


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
    store.close()
    timed = time_pages(f"sqlite:///{work / 'bridge.db'}", COMPONENTS, pages, ROUNDS)
    for name, path in pages.items():
        p50, worst, size = timed[name]
        print(f"   {path:42} p50 {p50:7.1f} ms   max {worst:7.1f} ms   {size / 1024:7.1f} KiB", flush=True)
        figures[f"page_{name}_p50_ms"] = round(p50, 1)
    return figures
