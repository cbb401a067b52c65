"""The running service: the app on uvicorn, a worker (pollers on APScheduler, one loop that processes
the inbox and dispatches the outbox) and the pages, by default the worker and the pages each in a
process of its own beside the HTTP process (see processes.py). SIGTERM drains them all (no new
webhooks, claimed work finished, a running poll stopped after its page), then the service exits 0."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from bridge.config import Settings, secret_values
from bridge.service.runtime.logs import configure_logging
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.runtime.multiprocess import active_directory
from bridge.service.runtime.processes import ChildProcess, pages_main, worker_main
from bridge.service.runtime.stopping import signals_handled
from bridge.service.runtime.wiring import build_processor
from bridge.service.web.app import create_app, create_front
from bridge.service.web.forward import PagesForwarder
from bridge.service.web.pages import PageOptions
from bridge.service.worker.processor import Processor
from bridge.service.worker.scheduler import Worker

log = logging.getLogger(__name__)


class _Background(Protocol):
    def start(self) -> None: ...
    def stop(self) -> bool: ...
    def poke(self) -> None: ...
    def ready(self) -> bool: ...


class _InProcess:
    """The worker on threads of the HTTP process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> bool:
        return self.worker.stop()

    def poke(self) -> None:
        self.worker.webhook_stored()

    def ready(self) -> bool:
        return self.worker.thread.is_alive() and not self.worker.stopped.is_set()


class Service:
    """One replica of the bridge: any number may share a PostgreSQL store."""

    def __init__(
        self,
        settings: Settings,
        *,
        dry_run: bool = False,
        processor: Processor | None = None,
        worker_process: bool | None = None,
        pages_process: bool | None = None,
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        # Set by SIGTERM or SIGINT before uvicorn takes the signals over
        # (see bridge.service.runtime.stopping).
        self.stop_requested = stop_requested or threading.Event()
        self._server: uvicorn.Server | None = None
        processor = processor or build_processor(settings, dry_run=dry_run)
        self.processor = processor
        self.draining = threading.Event()
        self.drained = False
        metrics_dir = active_directory()
        self.worker_process = settings.service.worker_process if worker_process is None else worker_process
        self.pages_process = settings.service.pages_process if pages_process is None else pages_process
        if (self.worker_process or self.pages_process) and metrics_dir is None:
            # prometheus_client was loaded in this process before a run's metrics directory was set
            # up (a test, another program embedding the service): another process's figures could
            # not reach /metrics, so everything runs here.
            log.info("no metrics directory for this run: the worker and the pages run in this process")
            self.worker_process = self.pages_process = False
        metrics = ServiceMetrics(processor.store, directory=metrics_dir)
        self.background: _Background = (
            ChildProcess("worker", worker_main, (settings, processor.dry_run), metrics_dir=metrics_dir)
            if self.worker_process and metrics_dir is not None
            else _InProcess(Worker(settings, processor))
        )
        self.pages: ChildProcess | None = None
        self._forwarder: PagesForwarder | None = None
        self._socket_dir: Path | None = None
        accepting = lambda: not self.draining.is_set()  # noqa: E731
        on_accepted = lambda _source: self.background.poke()  # noqa: E731
        if self.pages_process and metrics_dir is not None:
            # The socket only this process and the pages process reach, in a directory only this user reads.
            self._socket_dir = Path(tempfile.mkdtemp(prefix="bridge-pages-"))
            socket = self._socket_dir / "pages.sock"
            pages = ChildProcess(
                "pages", pages_main, (settings, processor.dry_run, socket), metrics_dir=metrics_dir
            )
            self.pages = pages
            self._forwarder = PagesForwarder(socket, starting=lambda: not pages.stopping.is_set())
            self.app = create_front(
                processor,
                self._forwarder,
                max_webhook_bytes=settings.service.max_webhook_bytes,
                on_accepted=on_accepted,
                accepting=accepting,
                metrics=metrics,
                parts={"worker": self.background.ready, "pages": pages.ready},
            )
        else:
            self.app = create_app(
                processor,
                max_webhook_bytes=settings.service.max_webhook_bytes,
                on_accepted=on_accepted,
                accepting=accepting,
                metrics=metrics,
                pages=PageOptions.from_settings(settings),
                parts={"worker": self.background.ready},
            )
        self.app.rest.router.lifespan_context = self._lifespan

    def start_background(self) -> None:
        """Pollers on their intervals (each starts at once), the processing loop, and the pages."""
        self.background.start()
        if self.pages is not None:
            self.pages.start()

    def stop_background(self) -> None:
        """Drain: refuse new webhooks, let the worker's claimed work finish, stop a running poll; the
        pages process finishes the requests it holds."""
        self.draining.set()
        pages_stopped = self.pages.stop() if self.pages is not None else True
        self.drained = self.background.stop() and pages_stopped
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self.start_background()
        if self.stop_requested.is_set() and self._server is not None:
            # Asked to stop just before uvicorn took the signals over: it would never hear of it.
            self._server.should_exit = True
        try:
            yield
        finally:
            if self._forwarder is not None:
                await self._forwarder.aclose()
            self.stop_background()
            self.processor.store.close()

    def serve(self, host: str | None = None, port: int | None = None) -> int:
        """Serve until SIGTERM or Ctrl-C; uvicorn stops taking connections, then the lifespan drains.
        The exit status: 0 after a clean drain."""
        configure_logging(
            self.settings.log_format, secrets=secret_values(self.settings), log_file=self.settings.log_file
        )
        config = uvicorn_config(self.app, self.settings, host, port)
        with signals_handled(self.stop_requested):
            if self.stop_requested.is_set():
                log.info("stopped before serving: nothing had started")
                return 0
            self._server = uvicorn.Server(config)
            self._server.run()
        return 0 if self.drained else 1


def uvicorn_config(app: ASGIApp, settings: Settings, host: str | None, port: int | None) -> uvicorn.Config:
    """How uvicorn serves the app: the address, the bridge's logging, and whose X-Forwarded-* it believes
    (service.trusted_proxies: the client address and the scheme, hence Secure cookies and HSTS)."""
    return uvicorn.Config(
        app,
        host=host or settings.service.host,
        port=port or settings.service.port,
        log_level="info",
        access_log=False,
        log_config=None,  # uvicorn's records go through the bridge's handler (JSON or text)
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=list(settings.service.trusted_proxies),
    )
