"""`bridge run`'s pages process: the HTTP process passes it every request but the webhooks and the probes,
over a Unix socket; what a person sees is the same as from one process (pages, the read API, the docs,
the run's metrics, the security headers, who asked and how), and a pages process that dies is replaced
while requests wait for it."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.bridge.service.runtime.test_worker_process import _webhook
from tests.bridge.service.test_e2e_support import alive, children, running, sandbox, wait_for

# Starts the sandbox and a bridge: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def test_everything_a_person_reads_comes_through_the_pages_process(tmp_path: Path) -> None:
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}") as bridge,
    ):
        assert bridge.process is not None
        (pages,) = wait_for(lambda: children(bridge.process.pid, "bridge-pages"), what="the pages process")
        (worker,) = children(bridge.process.pid, "bridge-worker")
        assert _webhook(bridge.url, box, "pages-1").status_code == 202
        wait_for(lambda: httpx.get(f"{bridge.url}/readyz").json().get("pages") == "up", what="pages up")

        home = httpx.get(f"{bridge.url}/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        assert "dip-platform" in home.text
        assert home.headers["x-content-type-options"] == "nosniff"
        releases = httpx.get(f"{bridge.url}/api/releases", params={"component": "dip-platform"}).json()
        assert releases["items"], releases
        assert httpx.get(f"{bridge.url}/api/releases/dip-platform/9.9.9.9").status_code == 404
        # The docs describe the whole service, the webhooks the HTTP process takes itself included.
        paths = httpx.get(f"{bridge.url}/openapi.json").json()["paths"]
        assert {"/hooks/{system}", "/api/releases", "/metrics", "/readyz"} <= set(paths)
        docs = httpx.get(f"{bridge.url}/docs")
        assert docs.status_code == 200 and "sha256-" in docs.headers["content-security-policy"]
        # /metrics, drawn in the pages process, adds up the run's figures from all three processes.
        metrics = httpx.get(f"{bridge.url}/metrics").text
        accepted = 'channel="webhook",outcome="accepted",source="gitlab",status="202"'
        assert f"bridge_events_received_total{{{accepted}}} 1.0" in metrics
        assert "bridge_poll_duration_seconds_count" in metrics

        # Who asked and how reach the pages as the HTTP process believed them: here from a trusted proxy
        # (127.0.0.1) that says the request came over HTTPS, so the answer carries HSTS.
        secure = httpx.get(f"{bridge.url}/", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" in secure.headers
        assert "strict-transport-security" not in home.headers

        # Killed, it is replaced; a request made meanwhile waits for the new one instead of failing.
        os.kill(pages, signal.SIGKILL)
        answer = httpx.get(f"{bridge.url}/api/releases", timeout=30)
        assert answer.status_code == 200 and answer.json()["items"]
        (replacement,) = wait_for(
            lambda: [p for p in children(bridge.process.pid, "bridge-pages") if p != pages and alive(p)],
            what="a new pages process",
        )
        assert children(bridge.process.pid, "bridge-worker") == [worker], "the worker went on untouched"
        # Webhooks were answered throughout, whatever the pages process was doing.
        assert _webhook(bridge.url, box, "pages-2").status_code == 202
        bridge.process.send_signal(signal.SIGTERM)
        assert bridge.process.wait(30) == 0, bridge.log.read_text()
        assert not alive(replacement) and not alive(worker)
    log = bridge.log.read_text()
    assert "pages process ended on its own; starting another" in log
    assert "pages process stopped" in log


def test_a_page_being_drawn_when_the_service_is_stopped_is_finished(tmp_path: Path) -> None:
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}") as bridge,
    ):
        assert bridge.process is not None
        wait_for(lambda: httpx.get(f"{bridge.url}/readyz").status_code == 200, what="ready")
        answers: list[int] = []

        def read() -> None:
            for _ in range(20):
                try:
                    answers.append(httpx.get(f"{bridge.url}/report", timeout=30).status_code)
                except httpx.HTTPError:
                    return  # the HTTP process no longer takes connections

        reader = threading.Thread(target=read)
        reader.start()
        wait_for(lambda: answers, what="a first page")
        bridge.process.send_signal(signal.SIGTERM)
        reader.join(60)
        assert bridge.process.wait(30) == 0, bridge.log.read_text()
    # Every page begun was answered whole: none cut off with a 5xx while the service stopped.
    assert answers and set(answers) == {200}, answers
