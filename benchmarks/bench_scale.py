"""Cost per event as the programme grows: backfill, one event in the worker, its memory, four pages
(served from a fresh process, as the pages process serves them)."""

# Each size runs in a fresh process (`python -m benchmarks.bench_scale SIZE`), so its peak RSS is its own.
# Sizes are releases, 25 fixed defects each (BRIDGE_BENCH_SCALE_SIZES, default 200,800,2000; try 50,100
# while the worker still replans the whole programme per event, which is slow at 2,000).

from __future__ import annotations

import dataclasses
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.programme import Programme, programme, put_in_inbox, version_of
from benchmarks.reader import time_pages
from bridge.domain.events import ChangeUpdated, DefectUpdated, DomainEvent

if TYPE_CHECKING:
    from bridge.store import Store

DEFAULT_SIZES = (200, 800, 2000)
DEFAULT_EVENTS = 40  # half defect events, half RFC events
# Events processed before the timed ones, one of each kind: the first after a backfill pays once for
# what the backfill's batches never needed (its one-row statements compiled, the backfill's plan let go).
WARM_UP = 2
FIXED_PER_RELEASE = 25
PAGE_ROUNDS = 11
PAGES = ("releases", "release", "environments", "api_releases")
ROOT = Path(__file__).resolve().parents[1]
MARK = "scale-figures: "


def sizes() -> list[int]:
    text = os.environ.get("BRIDGE_BENCH_SCALE_SIZES", "")
    if not text.strip():
        return list(DEFAULT_SIZES)
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"BRIDGE_BENCH_SCALE_SIZES must be release counts, e.g. 200,800: {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise SystemExit(f"BRIDGE_BENCH_SCALE_SIZES must be positive release counts: {text!r}")
    return values


def events_per_size() -> int:
    return max(2, int(os.environ.get("BRIDGE_BENCH_SCALE_EVENTS", DEFAULT_EVENTS)))


def shape(releases: int) -> tuple[int, int]:
    """(components, releases per component) for about `releases` releases: 10 components up to 200
    releases, 20 up to 800, 25 beyond (the programme's 20 to 30), each with at least 3 releases."""
    components = 10 if releases <= 200 else 20 if releases <= 800 else 25
    components = max(1, min(components, releases // 3))
    return components, max(1, round(releases / components))


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    p50s: dict[int, float] = {}
    for size in sizes():
        print(f"   -- {size} releases (a fresh process)", flush=True)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_scale", str(size)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        lines = [line for line in child.stdout.splitlines() if line.startswith(MARK)]
        if not lines:
            raise RuntimeError(f"the {size}-release run printed no figures")
        measured: dict[str, Any] = json.loads(lines[-1][len(MARK) :])
        p50s[size] = float(measured["event_ms_p50"])
        figures.update({f"scale_{size}_{name}": value for name, value in measured.items()})
    if len(p50s) >= 2:
        smallest, largest = min(p50s), max(p50s)
        figures["scale_event_growth"] = round(p50s[largest] / max(p50s[smallest], 1e-9), 2)
        print(f"   event p50 at {largest} ÷ event p50 at {smallest} releases: scale_event_growth", flush=True)
    return figures


# --- one size, in its own process -------------------------------------------------------------------


def measure(size: int) -> dict[str, object]:
    from bridge.service.worker.processor import Processor
    from bridge.store import Store

    components, per_component = shape(size)
    built = programme(components, per_component, FIXED_PER_RELEASE)
    work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{size}-"))
    store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
    store.upgrade()
    processor = Processor(store, {}, built.context)

    # The history as a backfill brings it: every event in the inbox, then processed until none is left.
    started = time.perf_counter()
    put_in_inbox(store, built.events)
    while processor.process_inbox(limit=5000):
        pass
    seed_s = time.perf_counter() - started
    say(f"{built.releases} releases, {len(built.events)} events seeded in {seed_s:.1f} s")

    timings: dict[str, list[float]] = {"defect": [], "rfc": []}
    for n, (kind, event) in enumerate(later_events(built, WARM_UP + events_per_size())):
        started = time.perf_counter()
        put_in_inbox(store, [event])
        while processor.process_inbox():
            pass
        if n >= WARM_UP:
            timings[kind].append((time.perf_counter() - started) * 1000)
    # The worker's peak, before the pages (which the service serves from another process).
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    every = sorted(timings["defect"] + timings["rfc"])
    say(
        f"one event in the worker: defect p50 {statistics.median(timings['defect']):.1f} ms, "
        f"RFC p50 {statistics.median(timings['rfc']):.1f} ms, slowest {every[-1]:.1f} ms"
    )

    start_s = time_start(store, built)
    say(f"a worker's start (the newest snapshot, the journal after it, the whole plan): {start_s:.1f} s")

    figures: dict[str, object] = {
        "releases": built.releases,
        "events": len(built.events),
        "seed_events_per_s": round(len(built.events) / seed_s, 1),
        "event_ms_p50": round(statistics.median(every), 1),
        "event_ms_p99": round(percentile(every, 99), 1),
        "rss_mb": round(rss_mb, 1),
        "start_s": round(start_s, 2),
    }
    middle = built.releases_per_component // 2
    paths = {
        "releases": "/",
        "release": f"/releases/{built.components[len(built.components) // 2]}/{version_of(middle)}",
        "environments": "/environments",
        "api_releases": "/api/releases",
    }
    store.close()
    timed = time_pages(f"sqlite:///{work / 'bridge.db'}", len(built.components), paths, PAGE_ROUNDS)
    for name in PAGES:
        p50, worst, size_bytes = timed[name]
        say(f"{paths[name]:36} p50 {p50:8.1f} ms   max {worst:8.1f} ms   {size_bytes / 1024:7.1f} KiB")
        figures[f"page_{name}_p50_ms"] = round(p50, 1)
    return figures


def time_start(store: Store, built: Programme) -> float:
    """Seconds for another worker to start on the store as a restarted service's does: read the newest
    snapshot and the journal after it, plan the whole programme, store what differs (nothing here)."""
    from bridge.service.worker.processor import Processor

    started = time.perf_counter()
    Processor(store, {}, built.context).refresh()
    return time.perf_counter() - started


def later_events(built: Programme, count: int) -> list[tuple[str, DomainEvent]]:
    """Alternately a tester's change to a listed defect (reopened or fixed again) and a change to an RFC
    (a new revision in the same state), each on a record picked at random, each newer than all before."""
    pick = random.Random(len(built.events))
    defects = [e for e in built.events if isinstance(e, DefectUpdated)]
    changes = [e for e in built.events if isinstance(e, ChangeUpdated)]
    latest = max(e.changed_at for e in defects)
    revs: dict[int, int] = {}
    mods: dict[str, int] = {}
    out: list[tuple[str, DomainEvent]] = []
    for n in range(count):
        moment = latest + timedelta(days=30, minutes=n)
        if n % 2 == 0:
            defect = pick.choice(defects)
            rev = revs[defect.id] = revs.get(defect.id, defect.rev) + 1
            state = "Active" if (n // 2) % 2 == 0 else "Fixed"
            out.append(("defect", dataclasses.replace(defect, rev=rev, state=state, changed_at=moment)))
        else:
            change = pick.choice(changes)
            mod = mods[change.sys_id] = mods.get(change.sys_id, change.mod_count) + 1
            text = f"Deployment notes, revision {mod}"
            out.append(
                ("rfc", dataclasses.replace(change, mod_count=mod, updated_at=moment, description=text))
            )
    return out


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of values already sorted."""
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


def say(text: str) -> None:
    print(f"      {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    figures = measure(int(sys.argv[1]))
    print(MARK + json.dumps(figures), flush=True)
