"""Prometheus metrics of one service: events received, inbox lag, actions, retries, poll and webhook times."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from bridge.connector import OutcomeStatus
from bridge.domain.events import Source
from bridge.service.worker.processor import PollOutcome, ProcessorObserver
from bridge.store import Store

# Webhooks are answered in milliseconds; GitLab gives a hook 10 s.
WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# How often, and how far apart, a scrape reads the run's files again when one is being made.
SETTLE_TRIES = 5
SETTLE_WAIT_S = 0.02
POLL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class StoreCollector(Collector):
    """Inbox size and lag, and outbox actions by status, read from the store at each scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bridge_store_up", "Whether the store answered this scrape.")
        try:
            with self.store.transaction(readonly=True) as tx:
                stats = tx.inbox.stats()
                counts = tx.outbox.counts()
        except Exception:  # a scrape reports the store down rather than failing
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        size = GaugeMetricFamily("bridge_inbox_size", "Inbox rows by state.", labels=["state"])
        size.add_metric(["unprocessed"], stats.unprocessed)
        size.add_metric(["failing"], stats.failing)
        size.add_metric(["processed"], stats.processed)
        yield size
        yield GaugeMetricFamily(
            "bridge_inbox_lag_seconds",
            "Age of the oldest unprocessed inbox row (0 when none).",
            value=stats.lag.total_seconds(),
        )
        actions = GaugeMetricFamily("bridge_outbox_actions", "Outbox actions by status.", labels=["status"])
        for status, count in sorted(counts.items()):
            actions.add_metric([status.value], count)
        yield actions


class SettledCollector(MultiProcessCollector):
    """The run's figures from every process's files, read again when a file reads as half made: a
    process creating its file at that instant (a worker just started) leaves it empty for a moment."""

    def collect(self) -> Iterator[Metric]:
        for _ in range(SETTLE_TRIES - 1):
            try:
                return iter(list(super().collect()))  # type: ignore[no-untyped-call]
            except (struct.error, RuntimeError):
                time.sleep(SETTLE_WAIT_S)
        return iter(list(super().collect()))  # type: ignore[no-untyped-call]


class ServiceMetrics(ProcessorObserver):
    """The service's metrics in a registry of its own (never the process-wide one). `exposed` is what
    /metrics shows: that registry, or with `directory` (the run's multiprocess directory, where this
    process's figures are kept) what every process of the run keeps there; with `store`, the store's
    figures too, read at each scrape."""

    def __init__(
        self,
        store: Store | None = None,
        registry: CollectorRegistry | None = None,
        *,
        directory: Path | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.exposed = self.registry
        if directory is not None:
            # Not `registry`: its metrics are this process's share of the directory, shown twice beside it.
            self.exposed = CollectorRegistry()
            SettledCollector(self.exposed, path=str(directory))  # type: ignore[no-untyped-call]
        self.events = Counter(
            "bridge_events_received",
            "Events received, by source, channel (webhook or poll), outcome and HTTP status.",
            ["source", "channel", "outcome", "status"],
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "bridge_webhook_latency_seconds",
            "Time to answer a webhook, by source.",
            ["source"],
            buckets=WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        self.poll_duration = Histogram(
            "bridge_poll_duration_seconds",
            "Duration of a poll, by source and result (ok, error, or skipped when another replica polls).",
            ["source", "result"],
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self.actions = Counter(
            "bridge_actions",
            "Actions carried out, by target system, kind and outcome.",
            ["target", "kind", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            "bridge_action_retries",
            "Attempts at an action after its first, by target system and kind.",
            ["target", "kind"],
            registry=self.registry,
        )
        if store is not None:
            self.exposed.register(StoreCollector(store))

    def webhook(self, source: str, status: int, seconds: float) -> None:
        """Count a webhook's answer and its latency."""
        outcome = {202: "accepted", 200: "duplicate"}.get(status, "rejected")
        self.events.labels(source, "webhook", outcome, str(status)).inc()
        self.webhook_latency.labels(source).observe(seconds)

    def polled(self, source: Source, seconds: float, outcome: PollOutcome | None) -> None:
        if outcome is None:
            self.poll_duration.labels(source.value, "error").observe(seconds)
            return
        self.poll_duration.labels(source.value, "ok" if outcome.ran else "skipped").observe(seconds)
        if outcome.new:
            self.events.labels(source.value, "poll", "accepted", "").inc(outcome.new)
        if outcome.events > outcome.new:
            self.events.labels(source.value, "poll", "duplicate", "").inc(outcome.events - outcome.new)

    def dispatched(self, target: Source, key: str, kind: str, status: OutcomeStatus, attempts: int) -> None:
        self.actions.labels(target.value, kind, status.value).inc()
        if attempts > 1:
            self.retries.labels(target.value, kind).inc()


def process_ended(pid: int, directory: Path) -> None:
    """What prometheus_client asks once a process of the run has ended: its live gauges are dropped
    (the bridge keeps none there today; its counts stay, the run's totals)."""
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
