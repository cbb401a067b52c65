"""Pages timed as the service serves them: from a fresh interpreter that holds no engine state, its
start-up heap settled as the pages process settles it (`python -m benchmarks.reader`, run by
`time_pages`). A worker's process holds the whole programme in memory, and a page timed there would
pay for collecting garbage among objects no reader has."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARK = "page-figures: "


def time_pages(
    store_url: str, components: int, paths: dict[str, str], rounds: int
) -> dict[str, tuple[float, float, int]]:
    """Each page's median and slowest answer in ms over `rounds` requests, and its size in bytes, by
    name, for a programme of `components` components."""
    request = {"store_url": store_url, "components": components, "paths": paths, "rounds": rounds}
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.reader"],
        cwd=ROOT,
        input=json.dumps(request),
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        raise RuntimeError("the reader printed no figures")
    measured: dict[str, list[Any]] = json.loads(lines[-1][len(MARK) :])
    return {name: (float(p50), float(worst), int(size)) for name, (p50, worst, size) in measured.items()}


def _serve(request: dict[str, Any]) -> dict[str, tuple[float, float, int]]:
    from fastapi.testclient import TestClient

    from benchmarks.programme import programme_context
    from bridge.service.runtime.processes import settle_heap
    from bridge.service.web.app import create_app
    from bridge.service.worker.processor import Processor
    from bridge.store import Store

    context = programme_context(int(request["components"]))
    store = Store.from_url(request["store_url"])
    app = create_app(Processor(store, {}, context))
    settle_heap()
    figures: dict[str, tuple[float, float, int]] = {}
    with TestClient(app) as client:
        for name, path in request["paths"].items():
            figures[name] = _timed(client, path, int(request["rounds"]))
    store.close()
    return figures


def _timed(client: Any, path: str, rounds: int) -> tuple[float, float, int]:
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


if __name__ == "__main__":
    print(MARK + json.dumps(_serve(json.loads(sys.stdin.read()))), flush=True)
