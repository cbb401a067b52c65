"""2,000 GitLab Release Hooks from 16 senders into `bridge run` on SQLite: acks/s, p50/p99, processing."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
DELIVERIES = 2000
SENDERS = 16
TARGET_ACKS_PER_S = 500
TARGET_P99_MS = 50
# What the reader of the second round fetches, over and over: the releases list and a release.
READER_PAGES = ("/", "/releases/dip-platform/1.0.0.0")


def _note(version: str) -> str:
    return (
        f"# DIP Platform — Release {version}\n\n| Item | Detail |\n|---|---|\n"
        f"| Release number | {version} |\n| Source control tag | dip-platform/{version} |\n\n"
        "## Defects fixed\n| ID | Severity | Summary |\n|---|---|---|\n| 4 | 3 - Medium | A fix |\n"
    )


def _config(config: dict[str, Any], work: Path, port: int) -> Path:
    """GitLab only (the other systems would add their own polls), on SQLite, polled once at start."""
    from bridge.config import to_toml

    config["service"]["port"] = port
    config["service"]["public_url"] = f"http://127.0.0.1:{port}"
    config["database"]["url"] = f"sqlite:///{(work / 'bridge.db').as_posix()}"
    config["gitlab"]["poll_interval_s"] = 3600
    del config["servicenow"], config["ado"]
    path = work / "bridge.toml"
    path.write_text(to_toml(config), encoding="utf-8")
    return path


def _start_bridge(config: Path, port: int, work: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AZURE_DEVOPS_CACHE_DIR": str(work / "ado-cache")}
    bridge = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "bridge.log").open("wb"),  # the child holds it open
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).json()
            if ready.get("sources", {}).get("gitlab", {}).get("last_success_at"):
                return bridge
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    bridge.kill()
    raise RuntimeError(f"the bridge did not become ready; see {work / 'bridge.log'}")


class _Capture(BaseHTTPRequestHandler):
    """Takes the simulator's webhook deliveries as GitLab sends them, to replay them at speed later."""

    captured: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.captured.append((dict(self.headers.items()), body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the benchmark prints its own figures."""


def _deliveries(box: Any, secret: str) -> list[tuple[dict[str, str], bytes]]:
    """Real Release Hook deliveries (the simulator's payloads and headers), one per new release."""
    project = box.seeded.projects["mhhs/dip-platform"]
    capture = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=capture.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{capture.server_address[1]}/hooks/gitlab"
    box.gitlab.add_hook(project, url, token=secret, tag_push_events=False)
    sha = box.gitlab.add_commit(project, "Emergency fixes")
    for n in range(DELIVERIES):
        version = f"1.0.1.{n + 2}"
        box.gitlab.create_release(project, f"dip-platform/{version}", _note(version), ref=sha)
    deadline = time.monotonic() + 120
    while len(_Capture.captured) < DELIVERIES and time.monotonic() < deadline:
        time.sleep(0.05)
    capture.shutdown()
    deliveries = [
        ({k: v for k, v in headers.items() if k.lower() not in {"host", "content-length"}}, body)
        for headers, body in _Capture.captured
    ]
    assert len({h["Idempotency-Key"] for h, _ in deliveries}) == DELIVERIES, len(deliveries)
    return deliveries


def _send(port: int, deliveries: list[tuple[dict[str, str], bytes]]) -> tuple[list[float], float]:
    """Every delivery from SENDERS threads, each on its own keep-alive connection; latencies in s.

    http.client, not a richer client: the senders share this machine's two cores with the bridge,
    so each should cost as little as GitLab's own senders on their own machines would.
    """
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(reversed(deliveries))
    go = threading.Barrier(SENDERS + 1)

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        go.wait()
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    headers, body = queue.pop()
                began = time.perf_counter()
                connection.request("POST", "/hooks/gitlab", body=body, headers=headers)
                answer = connection.getresponse()
                text = answer.read()
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    if answer.status != HTTPStatus.ACCEPTED:
                        failures.append(f"{answer.status} {text[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    go.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} deliveries not accepted, e.g. {failures[0]}")
    return latencies, wall


def _processed_after(store: Any, began: float, timeout_s: float = 300) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with store.transaction(readonly=True) as tx:
            stats = tx.inbox.stats()
        if stats.unprocessed == 0 and stats.processed >= DELIVERIES:
            return time.perf_counter() - began
        time.sleep(0.1)
    raise RuntimeError(f"the inbox still held {stats.unprocessed} rows after {timeout_s:.0f} s")


def _sandbox(channel: Connection, work: Path) -> None:
    """The sandbox in its own process, so its GitLab answers the bridge's re-reads beside the senders."""
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", str(work / "ado-cache"))
    from bridge.sandbox.runner import Sandbox

    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work / "sandbox") as box:
        channel.send(box.bridge_config())
        channel.recv()  # the bridge has read the seeded programme
        channel.send(_deliveries(box, box.secrets.gitlab_hook_secret))
        channel.recv()  # the bridge has processed them all


def run() -> dict[str, object]:
    figures = _measure(reading=False)
    # Again, with a person reading the pages throughout: the pages process draws them from what the
    # worker stored, and the HTTP process only passes the requests on, so the webhooks' answers keep
    # their pace.
    with_reader = _measure(reading=True)
    figures |= {
        f"ingest_with_reader_{name.removeprefix('ingest_')}": value for name, value in with_reader.items()
    }
    return figures


def _read_pages(port: int, stop: threading.Event, latencies: list[float]) -> None:
    """A reader fetching the releases list and a release's page, one after the other, until `stop`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while not stop.is_set():
            for path in READER_PAGES:
                began = time.perf_counter()
                connection.request("GET", path)
                answer = connection.getresponse()
                answer.read()
                if answer.status != HTTPStatus.OK:
                    raise RuntimeError(f"{path} answered {answer.status}")
                latencies.append(time.perf_counter() - began)
    finally:
        connection.close()


def _measure(*, reading: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    from bridge.store import Store
    from connectors.simulation import free_port

    channel, far_end = multiprocessing.get_context("spawn").Pipe()
    sandbox = multiprocessing.get_context("spawn").Process(target=_sandbox, args=(far_end, work), daemon=True)
    sandbox.start()
    port = free_port()
    try:
        config = channel.recv()
        bridge = _start_bridge(_config(config, work, port), port, work)
        try:
            channel.send("ready")
            deliveries = channel.recv()
            store = Store.from_url(f"sqlite:///{(work / 'bridge.db').as_posix()}")
            stop_reading = threading.Event()
            read: list[float] = []
            reader = threading.Thread(target=_read_pages, args=(port, stop_reading, read), daemon=True)
            if reading:
                reader.start()
            began = time.perf_counter()
            latencies, wall = _send(port, deliveries)
            stop_reading.set()
            if reading:
                reader.join(30)
            processed_s = _processed_after(store, began)
            with store.transaction(readonly=True) as tx:
                stored = tx.inbox.stats().processed
            store.close()
        finally:
            bridge.send_signal(signal.SIGTERM)
            try:
                bridge.wait(30)
            except subprocess.TimeoutExpired:
                bridge.kill()
        channel.send("done")
    finally:
        sandbox.join(30)
        if sandbox.is_alive():
            sandbox.kill()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    acks = len(latencies) / wall
    p99 = cuts[98] * 1000
    figures: dict[str, object] = {
        "ingest_deliveries": len(latencies),
        "ingest_senders": SENDERS,
        "ingest_acks_per_s": round(acks, 1),
        "ingest_p50_ms": round(cuts[49] * 1000, 2),
        "ingest_p99_ms": round(p99, 2),
        "ingest_processed_s": round(processed_s, 2),
        "ingest_inbox_processed": stored,
        "ingest_targets_met": acks >= TARGET_ACKS_PER_S and p99 <= TARGET_P99_MS,
    }
    if reading and len(read) >= 2:
        page_cuts = statistics.quantiles(read, n=100, method="inclusive")
        figures |= {
            "ingest_pages_read": len(read),
            "ingest_page_p50_ms": round(page_cuts[49] * 1000, 1),
            "ingest_page_p99_ms": round(page_cuts[98] * 1000, 1),
        }
    return figures


if __name__ == "__main__":
    print(json.dumps(run()))
