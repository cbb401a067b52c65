"""The running service: the app on uvicorn, pollers on APScheduler, and one worker that processes the
inbox and dispatches the outbox; SIGTERM drains it (no new webhooks, claimed work finished, exit)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI

from bridge.config import Settings
from bridge.domain.events import Source
from bridge.errors import BridgeError
from bridge.service.app import create_app
from bridge.service.logs import configure_logging, secret_values
from bridge.service.pages import PageOptions
from bridge.service.processor import Processor
from bridge.service.wiring import build_processor

log = logging.getLogger(__name__)

# A burst of webhooks is let pass before processing: a lull of QUIET_S, or BURST_WAIT_S at the most.
QUIET_S = 0.2
BURST_WAIT_S = 2.0


class Service:
    """One replica of the bridge: any number may share a PostgreSQL store."""

    def __init__(
        self, settings: Settings, *, dry_run: bool = False, processor: Processor | None = None
    ) -> None:
        self.settings = settings
        self.processor = processor or build_processor(settings, dry_run=dry_run)
        self.wake = threading.Event()
        self.last_webhook = 0.0  # monotonic time of the last webhook stored
        self.draining = threading.Event()
        self.stopped = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        self.worker = threading.Thread(target=self._work, name="bridge-worker", daemon=True)
        self.app = create_app(
            self.processor,
            max_webhook_bytes=settings.service.max_webhook_bytes,
            on_accepted=self._webhook_stored,
            accepting=lambda: not self.draining.is_set(),
            pages=PageOptions.from_settings(settings),
        )
        self.app.router.lifespan_context = self._lifespan
        self.processor.stopping = self.draining.is_set

    def poll_interval_s(self, source: Source) -> float:
        section = {
            Source.GITLAB: self.settings.gitlab.poll_interval_s,
            Source.SERVICENOW: self.settings.servicenow.poll_interval_s,
            Source.ADO: self.settings.ado.poll_interval_s,
        }
        return section[source]

    def start_background(self) -> None:
        """Pollers on their intervals (each starts at once), and the worker."""
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
        self.worker.start()

    def stop_background(self) -> None:
        """Drain: refuse new webhooks, let the worker's claimed work finish, abandon a running poll."""
        self.draining.set()
        # A poll stores each page with its cursor in one transaction, so one cut short loses nothing:
        # the next start reads on from the last stored page. Waiting for it could outlast the grace
        # period the platform gives before it kills the process.
        self.scheduler.shutdown(wait=False)
        self.stopped.set()
        self.wake.set()
        self.worker.join(timeout=60)

    def _poll(self, source: Source) -> None:
        try:
            outcome = self.processor.poll(source)
            if outcome.new:
                self.wake.set()
        except BridgeError as exc:
            log.warning("poll of %s failed: %s", source.value, exc)

    def _webhook_stored(self, _source: Source) -> None:
        self.last_webhook = time.monotonic()
        self.wake.set()

    def _let_burst_pass(self) -> None:
        # Answering webhooks comes first: while they keep arriving, processing (which shares this
        # process's interpreter with the answers) waits for a lull, never longer than BURST_WAIT_S.
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
        for source in self.processor.connectors:
            while (count := self.processor.dispatch(source)) > 0:
                done += count
                if self.stopped.is_set():
                    return done
        return done

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self.start_background()
        try:
            yield
        finally:
            self.stop_background()
            self.processor.store.close()

    def serve(self, host: str | None = None, port: int | None = None) -> None:
        """Serve until SIGTERM or Ctrl-C; uvicorn stops taking connections, then the lifespan drains."""
        configure_logging(self.settings.log_format, secrets=secret_values(self.settings))
        config = uvicorn.Config(
            self.app,
            host=host or self.settings.service.host,
            port=port or self.settings.service.port,
            log_level="info",
            access_log=False,
            log_config=None,  # uvicorn's records go through the bridge's handler (JSON or text)
            lifespan="on",
        )
        uvicorn.Server(config).run()
