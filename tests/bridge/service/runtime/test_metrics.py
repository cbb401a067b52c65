"""/metrics: webhooks by source and outcome, inbox size and lag, polls, actions and retries, per app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bridge.config import load_settings
from bridge.domain.actions import AddWorkNote
from bridge.domain.events import Source
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.runtime.runner import Service
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store
from bridge.store.outbox import Completion
from tests.bridge.service.test_e2e_support import wait_for

FIXTURES = Path(__file__).parents[3] / "fixtures" / "gitlab"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@dataclass
class Running:
    box: Sandbox
    processor: Processor
    client: TestClient

    @property
    def metrics(self) -> ServiceMetrics:
        metrics: ServiceMetrics = self.client.app.state.metrics  # type: ignore[attr-defined]
        return metrics

    def value(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def scraped(self) -> dict[str, float]:
        """Every sample /metrics shows, by name and labels."""
        answer = self.client.get("/metrics")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        return {
            sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }


@pytest.fixture
def running(tmp_path: Path, store: Store) -> Iterator[Running]:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        settings = load_settings(box.config_path)
        mappings = load_mappings()
        processor = Processor(store, build_connectors(settings, mappings), engine_context(settings, mappings))
        with TestClient(create_app(processor)) as client:
            yield Running(box, processor, client)


def _gitlab_hook(box: Sandbox, key: str, token: str | None = None) -> dict[str, str]:
    return {
        "X-Gitlab-Event": "Release Hook",
        "X-Gitlab-Token": token or box.secrets.gitlab_hook_secret,
        "Idempotency-Key": key,
        "Content-Type": "application/json",
    }


def test_webhooks_are_counted_by_source_and_outcome_with_their_latency(running: Running) -> None:
    box, client = running.box, running.client
    body = (FIXTURES / "release_create.json").read_bytes()
    assert client.post("/hooks/gitlab", content=body, headers=_gitlab_hook(box, "a")).status_code == 202
    assert client.post("/hooks/gitlab", content=body, headers=_gitlab_hook(box, "b")).status_code == 202
    assert client.post("/hooks/gitlab", content=body, headers=_gitlab_hook(box, "a")).status_code == 200
    wrong = _gitlab_hook(box, "c", token="not-the-secret")
    assert client.post("/hooks/gitlab", content=body, headers=wrong).status_code == 401
    assert client.post("/hooks/gitlab", content=b"{", headers=_gitlab_hook(box, "d")).status_code == 400
    too_big = b" " * (1024 * 1024 + 1)
    assert client.post("/hooks/gitlab", content=too_big, headers=_gitlab_hook(box, "e")).status_code == 413
    assert client.post("/hooks/ado", content=b"{}").status_code == 401
    assert client.post("/hooks/jira", content=b"{}").status_code == 404

    def received(source: str, outcome: str, status: str) -> float:
        return running.value(
            "bridge_events_received_total", source=source, channel="webhook", outcome=outcome, status=status
        )

    assert received("gitlab", "accepted", "202") == 2
    assert received("gitlab", "duplicate", "200") == 1
    assert received("gitlab", "rejected", "401") == 1
    assert received("gitlab", "rejected", "400") == 1
    assert received("gitlab", "rejected", "413") == 1
    assert received("ado", "rejected", "401") == 1
    assert received("unknown", "rejected", "404") == 1
    assert running.value("bridge_webhook_latency_seconds_count", source="gitlab") == 6
    assert 0 < running.value("bridge_webhook_latency_seconds_sum", source="gitlab") < 6

    # Two stored, none processed yet: the inbox holds them and is behind by their age.
    scraped = running.scraped()
    assert scraped['bridge_inbox_size{"state": "unprocessed"}'] == 2
    assert scraped["bridge_inbox_lag_seconds{}"] > 0
    assert scraped["bridge_store_up{}"] == 1
    assert scraped['bridge_webhook_latency_seconds_count{"source": "gitlab"}'] == 6

    running.processor.process_inbox()
    scraped = running.scraped()
    assert scraped['bridge_inbox_size{"state": "unprocessed"}'] == 0
    assert scraped['bridge_inbox_size{"state": "processed"}'] == 2
    assert scraped["bridge_inbox_lag_seconds{}"] == 0


def test_polls_actions_and_retries_are_counted(running: Running) -> None:
    running.processor.run_once()
    for source in ("gitlab", "servicenow", "ado"):
        assert running.value("bridge_poll_duration_seconds_count", source=source, result="ok") == 1
    assert running.value(
        "bridge_events_received_total", source="ado", channel="poll", outcome="accepted", status=""
    ) == len(running.box.seeded.defects)
    done_notes = running.value(
        "bridge_actions_total", target="servicenow", kind="add_work_note", outcome="done"
    )
    assert done_notes == len(running.box.seeded.rfcs) - 1  # every RFC linked to a release
    assert running.value("bridge_action_retries_total", target="servicenow", kind="add_work_note") == 0

    # A second poll reads its look-back window again: what it had stored counts as duplicate.
    again = running.processor.poll(Source.ADO)
    assert (
        running.value(
            "bridge_events_received_total", source="ado", channel="poll", outcome="duplicate", status=""
        )
        == again.events - again.new
    )

    # An action whose first attempt failed is counted as a retry when it is attempted again.
    now = datetime.now(UTC)
    sys_id = running.box.seeded.rfc_sys_ids["dip-next"]
    note = AddWorkNote(sys_id, running.box.seeded.rfcs["dip-next"], "[Release bridge] retried note")
    with running.processor.store.transaction() as tx:
        tx.outbox.enqueue([note], cause="test", now=now)
        (row,) = tx.outbox.claim_due(Source.SERVICENOW, 10, "test", now=now, lease=timedelta(minutes=5))
        tx.outbox.complete(
            row.id, Completion.retry(now - timedelta(seconds=1), "503 busy"), worker="test", now=now
        )
    assert running.processor.dispatch(Source.SERVICENOW) == 1
    assert running.value("bridge_action_retries_total", target="servicenow", kind="add_work_note") == 1
    assert (
        running.value("bridge_actions_total", target="servicenow", kind="add_work_note", outcome="done")
        == done_notes + 1
    )
    scraped = running.scraped()
    assert scraped['bridge_outbox_actions{"status": "done"}'] >= done_notes + 1
    assert scraped['bridge_poll_duration_seconds_count{"result": "ok", "source": "ado"}'] == 2


@pytest.mark.parametrize("store_backend", ["sqlite"], indirect=True)
def test_each_app_has_a_registry_of_its_own(running: Running) -> None:
    other = TestClient(create_app(running.processor))
    body = (FIXTURES / "release_create.json").read_bytes()
    assert (
        running.client.post("/hooks/gitlab", content=body, headers=_gitlab_hook(running.box, "x")).status_code
        == 202
    )
    lines = other.get("/metrics").text.splitlines()
    assert not [line for line in lines if line.startswith("bridge_webhook_latency_seconds_count")]
    assert REGISTRY.get_sample_value("bridge_events_received_total", {"source": "gitlab"}) is None
    assert not [family.name for family in REGISTRY.collect() if family.name.startswith("bridge_")]


def test_a_store_that_is_down_answers_503_and_shows_in_metrics(tmp_path: Path) -> None:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        settings = load_settings(box.config_path)
        mappings = load_mappings()
        # Nothing listens on port 9: every connection is refused.
        down = Store.from_url(
            "postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 1}
        )
        processor = Processor(down, build_connectors(settings, mappings), engine_context(settings, mappings))
        client = TestClient(create_app(processor))
        body = (FIXTURES / "release_create.json").read_bytes()
        answer = client.post("/hooks/gitlab", content=body, headers=_gitlab_hook(box, "down"))
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        metrics = client.get("/metrics").text
        assert "bridge_store_up 0.0" in metrics
        assert 'outcome="rejected",source="gitlab",status="503"} 1.0' in metrics
        assert client.get("/readyz").status_code == 503


def test_a_service_in_a_process_that_loaded_prometheus_client_first_shows_its_worker_on_threads(
    tmp_path: Path,
) -> None:
    # This process loaded prometheus_client without a run's metrics directory (as `bridge demo` run by
    # a test does): a worker process's figures could not reach /metrics, so the worker runs here.
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        settings = load_settings(box.config_path)
        assert settings.service.worker_process
        service = Service(settings)
        assert not service.worker_process
        with TestClient(service.app) as client:

            def polled() -> bool:
                text = client.get("/metrics").text
                return all(
                    f'bridge_poll_duration_seconds_count{{result="ok",source="{source}"}} 1.0' in text
                    for source in ("gitlab", "servicenow", "ado")
                )

            wait_for(polled, what="the worker's polls on /metrics")
