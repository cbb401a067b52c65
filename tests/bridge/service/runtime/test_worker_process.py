"""`bridge run`'s worker process: it processes what the HTTP process stores, its figures show on the HTTP
process's /metrics (from the run's metrics directory, fresh each run), it drains with it (exit 0), is
never left behind when the HTTP process is killed, and is replaced when it dies; the HTTP process's
plan follows the journal the worker writes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_processor
from bridge.service.web.app import create_app
from bridge.store import Store
from tests.bridge.service.test_e2e_support import alive, children, running, sandbox, wait_for

FIXTURES = Path(__file__).parents[3] / "fixtures" / "gitlab"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    return children(pid, "bridge-worker")


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    # /metrics comes from the pages process, which a request waits for while it starts (up to 15 s).
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _webhook(url: str, box: Sandbox, key: str) -> httpx.Response:
    secret = box.secrets.gitlab_hook_secret
    return httpx.post(
        f"{url}/hooks/gitlab",
        content=(FIXTURES / "release_create.json").read_bytes(),
        headers={"X-Gitlab-Event": "Release Hook", "X-Gitlab-Token": secret, "Idempotency-Key": key},
    )


def test_the_worker_process_processes_reports_its_polls_and_drains_with_the_service(tmp_path: Path) -> None:
    database = tmp_path / "bridge.db"
    with sandbox(tmp_path) as box, running(box, tmp_path, database_url=f"sqlite:///{database}") as bridge:
        assert bridge.process is not None
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the worker process")
        # The first polls ran in the worker; the HTTP process's /metrics shows them.
        samples = _samples(bridge.url)
        for source in ("gitlab", "servicenow", "ado"):
            assert (
                samples[("bridge_poll_duration_seconds_count", (("result", "ok"), ("source", source)))] >= 1
            )
        assert _webhook(bridge.url, box, "worker-1").status_code == 202
        store = Store.from_url(f"sqlite:///{database}")
        try:

            def processed() -> bool:
                with store.transaction(readonly=True) as tx:
                    return tx.inbox.stats().unprocessed == 0

            wait_for(processed, what="the webhook processed")
        finally:
            store.close()
        # The read API's plan is folded from the journal the worker wrote.
        releases = httpx.get(f"{bridge.url}/api/releases", params={"component": "dip-platform"}).json()
        version = releases["items"][0]["version"]
        detail = httpx.get(f"{bridge.url}/api/releases/dip-platform/{version}").json()
        assert detail["control_points"], detail
        bridge.process.send_signal(signal.SIGTERM)
        assert bridge.process.wait(30) == 0, bridge.log.read_text()
        assert not alive(worker)
    log = bridge.log.read_text()
    assert "worker process stopped (drained=True)" in log  # the sandbox's configuration logs text


def test_the_worker_process_ends_when_the_http_process_is_killed(tmp_path: Path) -> None:
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}") as bridge,
    ):
        assert bridge.process is not None
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the worker process")
        bridge.kill()
        wait_for(lambda: not alive(worker), timeout_s=15, what="the worker to end")


def test_a_worker_process_that_dies_is_replaced_and_work_goes_on(tmp_path: Path) -> None:
    database = tmp_path / "bridge.db"
    with sandbox(tmp_path) as box, running(box, tmp_path, database_url=f"sqlite:///{database}") as bridge:
        assert bridge.process is not None
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the worker process")
        os.kill(worker, signal.SIGKILL)
        (replacement,) = wait_for(
            lambda: [pid for pid in _children(bridge.process.pid) if pid != worker and alive(pid)],
            what="a new worker process",
        )
        assert replacement != worker
        assert _webhook(bridge.url, box, "after-restart").status_code == 202
        store = Store.from_url(f"sqlite:///{database}")
        try:

            def processed() -> bool:
                with store.transaction(readonly=True) as tx:
                    stats = tx.inbox.stats()
                return stats.unprocessed == 0 and stats.processed > 0

            wait_for(processed, what="the webhook processed by the new worker")
        finally:
            store.close()


def test_the_http_process_reads_what_the_worker_stored_and_plans_nothing(
    tmp_path: Path, store: Store
) -> None:
    with sandbox(tmp_path) as box:
        settings = load_settings(box.config_path)
        worker = build_processor(settings, store=store)
        reader = build_processor(settings, store=store)  # as in the HTTP process: it never processes
        with TestClient(create_app(reader)) as client:
            before = client.get("/api/releases").json()
            assert before["items"] == []
            for source in worker.connectors:
                worker.poll(source)
            worker.process_inbox()
            with store.transaction(readonly=True) as tx:
                assert tx.planned.furthest() == tx.journal.span()[1] > 0
            after = client.get("/api/releases").json()["items"]
        assert after, "the releases the worker stored are shown"
        assert all(item["control_points"] is not None for item in after), "judged by the worker"
        assert any(item["rfcs"] for item in after)
        # The reader folded and planned nothing: its engine state is as empty as when it was made.
        assert not reader.state.releases and not reader.state.rfcs and reader.last_plan is None


def _run_dirs(box: Sandbox) -> list[Path]:
    """The runs' metrics directories under the sandbox configuration's service.metrics_dir."""
    return sorted((box.store_path.parent / "metrics").glob("run-*"))


def test_figures_counted_in_the_worker_process_show_on_the_http_processs_metrics(tmp_path: Path) -> None:
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}") as bridge,
    ):
        assert bridge.process is not None
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the worker process")
        assert _webhook(bridge.url, box, "figures-1").status_code == 202
        # Only the worker dispatches: its work notes on the linked RFCs are counted there.
        notes = (
            "bridge_actions_total",
            (("kind", "add_work_note"), ("outcome", "done"), ("target", "servicenow")),
        )
        wait_for(lambda: _samples(bridge.url).get(notes, 0) >= 1, what="the worker's actions on /metrics")
        samples = _samples(bridge.url)
        # One family, counted in both processes: the webhook in the HTTP process, the polls in the worker.
        webhook = ("channel", "webhook"), ("outcome", "accepted"), ("source", "gitlab"), ("status", "202")
        polled = ("channel", "poll"), ("outcome", "accepted"), ("source", "ado"), ("status", "")
        assert samples[("bridge_events_received_total", webhook)] == 1
        assert samples[("bridge_events_received_total", polled)] == len(box.seeded.defects)
        # Each process keeps its figures in a file of its own, in this run's directory.
        (run_dir,) = _run_dirs(box)
        assert {f"counter_{bridge.process.pid}.db", f"counter_{worker}.db"} <= {
            f.name for f in run_dir.iterdir()
        }

        # A replaced worker's figures stay in the run's totals, and its successor's add to them.
        os.kill(worker, signal.SIGKILL)
        ok = ("bridge_poll_duration_seconds_count", (("result", "ok"), ("source", "gitlab")))
        wait_for(lambda: _samples(bridge.url).get(ok, 0) == 2, what="the new worker's first poll counted")
        assert _samples(bridge.url)[notes] >= samples[notes]
    assert _run_dirs(box) == [], "a run removes its directory when it stops"


def test_a_restart_counts_afresh_though_a_killed_run_left_its_directory(tmp_path: Path) -> None:
    polls = ("bridge_poll_duration_seconds_count", (("result", "ok"), ("source", "gitlab")))
    webhooks = ("bridge_webhook_latency_seconds_count", (("source", "gitlab"),))
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}") as bridge,
    ):
        assert bridge.process is not None
        assert _webhook(bridge.url, box, "before-kill").status_code == 202
        # Two polls in this run (a replaced worker polls again), where the next run makes one.
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the worker process")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: _samples(bridge.url).get(polls) == 2, what="the second worker's poll counted")
        (worker,) = wait_for(lambda: _children(bridge.process.pid), what="the second worker process")
        assert _samples(bridge.url)[webhooks] == 1
        # Killed: nothing of the run removes its directory.
        bridge.kill()
        wait_for(lambda: not alive(worker), timeout_s=15, what="the worker to end")
        (stale,) = _run_dirs(box)
        assert any(stale.glob("*.db"))

        bridge.start().ready()
        after = wait_for(lambda: (samples := _samples(bridge.url)).get(polls) and samples, what="a poll")
        # Only the new run's figures: its one poll, and no webhook yet.
        assert after[polls] == 1
        assert webhooks not in after
        (current,) = _run_dirs(box)
        assert current != stale and not stale.exists()
    assert _run_dirs(box) == []
