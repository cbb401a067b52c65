"""The worker's schedule: pollers on their intervals (APScheduler) and one loop that processes the inbox
and dispatches the outbox, woken by webhooks and polls; stopping drains it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bridge.config import Settings
from bridge.domain.events import Source
from bridge.errors import BridgeError
from bridge.service.worker.processor import Processor

log = logging.getLogger(__name__)

# A burst of webhooks is let pass before processing: a lull of QUIET_S, or BURST_WAIT_S at the most.
QUIET_S = 0.2
BURST_WAIT_S = 2.0
# How long a drain may take before the worker is stopped without finishing its claimed work.
DRAIN_S = 60.0


class Worker:
    """Pollers on their intervals and one loop that processes the inbox and dispatches the outbox."""

    def __init__(self, settings: Settings, processor: Processor) -> None:
        self.settings = settings
        self.processor = processor
        self.wake = threading.Event()
        self.last_webhook = 0.0  # monotonic time of the last webhook stored
        self.stopped = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        self.thread = threading.Thread(target=self._work, name="bridge-worker", daemon=True)
        self.processor.stopping = self.stopped.is_set

    def poll_interval_s(self, source: Source) -> float:
        section = {
            Source.GITLAB: self.settings.gitlab.poll_interval_s,
            Source.SERVICENOW: self.settings.servicenow.poll_interval_s,
            Source.ADO: self.settings.ado.poll_interval_s,
        }
        return section[source]

    def start(self) -> None:
        """Pollers on their intervals (each starts at once), and the processing loop."""
        for source in self.processor.connectors:
            self.scheduler.add_job(
                self._poll,
                "interval",
                seconds=self.poll_interval_s(source),
                args=[source],
                id=f"poll-{source.value}",
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()
        self.thread.start()

    def stop(self, timeout_s: float = DRAIN_S) -> bool:
        """Drain: the claimed work finishes, a running poll stops after its page; whether it ended."""
        self.stopped.set()
        # A poll stores each page with its cursor in one transaction, so one cut short loses nothing:
        # the next start reads on from the last stored page. Waiting for it could outlast the grace
        # period the platform gives before it kills the process.
        self.scheduler.shutdown(wait=False)
        self.wake.set()
        self.thread.join(timeout=timeout_s)
        return not self.thread.is_alive()

    def webhook_stored(self) -> None:
        self.last_webhook = time.monotonic()
        self.wake.set()

    def _poll(self, source: Source) -> None:
        try:
            outcome = self.processor.poll(source)
            if outcome.new:
                self.wake.set()
        except BridgeError as exc:
            log.warning("poll of %s failed: %s", source.value, exc)

    def _let_burst_pass(self) -> None:
        # Answering webhooks comes first: while they keep arriving, processing (which competes with
        # the answers for the interpreter or the cores, and for SQLite's one writer) waits for a
        # lull, never longer than BURST_WAIT_S.
        started = time.monotonic()
        while (
            not self.stopped.is_set()
            and time.monotonic() - self.last_webhook < QUIET_S
            and time.monotonic() - started < BURST_WAIT_S
        ):
            time.sleep(QUIET_S / 4)

    def _work(self) -> None:
        # One loop: process the inbox, replan, dispatch; sleep until woken by a webhook or a poll, or
        # a second has passed (due retries and other replicas' journal rows).
        while not self.stopped.is_set():
            self.wake.clear()
            self._let_burst_pass()
            try:
                self.cycle()
            except Exception:  # the worker must outlive any one failure; the error is in the log
                log.exception("processing cycle failed")
            self.wake.wait(timeout=1.0)

    def cycle(self) -> int:
        """Process everything due, then dispatch everything due; returns how much was done."""
        done = 0
        while (count := self.processor.process_inbox()) > 0:
            done += count
            self._let_burst_pass()
        self.processor.refresh()
        return done + self.processor.dispatch_all(drain=True)
