"""The running service: the app on uvicorn, and a worker (pollers on APScheduler, one loop that
processes the inbox and dispatches the outbox), by default in a process of its own beside the HTTP
process. SIGTERM drains both (no new webhooks, claimed work finished, a running poll stopped after its
page), then the service exits 0."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from bridge.config import Settings, secret_values
from bridge.service.runtime.logs import LoggingObserver, configure_logging
from bridge.service.runtime.metrics import ServiceMetrics, process_ended
from bridge.service.runtime.multiprocess import active_directory
from bridge.service.runtime.stopping import STOP_SIGNALS
from bridge.service.runtime.wiring import build_processor
from bridge.service.web.app import Observers, create_app
from bridge.service.web.pages import PageOptions
from bridge.service.worker.processor import Processor
from bridge.service.worker.scheduler import DRAIN_S, Worker
from bridge.store import Store

log = logging.getLogger(__name__)

# A worker process that dies on its own is started again after this pause.
RESTART_S = 1.0
# How a worker that was told to stop by a signal ends: drained (0), or by SIGTERM itself while its
# interpreter was starting, before it could install its handler (and so before it did anything).
STOPPED_BY_SIGNAL = frozenset({0, -signal.SIGTERM})
# How long a worker stopped by a signal waits for the HTTP process to stop too before it is replaced.
STOP_GRACE_S = 5.0
# What a worker process sends once it runs.
STARTED = "started"


def _worker_main(settings: Settings, dry_run: bool, wake: Connection, reports: Connection) -> None:
    """The worker process: runs until the HTTP process closes its end of `wake` (or dies), then drains.
    Its figures go to the run's metrics directory (PROMETHEUS_MULTIPROC_DIR, inherited), which the HTTP
    process's /metrics collects."""
    # Ctrl-C reaches the whole process group; the HTTP process decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: stopping.set())
    configure_logging(settings.log_format, secrets=secret_values(settings), log_file=settings.log_file)
    # The HTTP process has migrated the store already.
    processor = build_processor(settings, dry_run=dry_run, store=Store.from_settings(settings.database))
    processor.observer = Observers(LoggingObserver(), ServiceMetrics())
    worker = Worker(settings, processor)
    worker.start()
    log.info("worker process started", extra={"pid": os.getpid()})
    with contextlib.suppress(OSError):  # the HTTP process is gone; the worker drains below
        reports.send(STARTED)  # the HTTP process's /readyz waits for this
    fd = wake.fileno()
    while not stopping.is_set():
        readable, _, _ = select.select([fd], [], [], 0.5)
        if not readable:
            continue
        if not os.read(fd, 4096):  # end of file: the HTTP process asks the worker to stop, or died
            break
        worker.webhook_stored()
    drained = worker.stop()
    processor.store.close()
    log.info("worker process stopped", extra={"drained": drained})
    # A worker that could not finish its claimed work says so with its exit code. (SystemExit, not
    # os._exit: the process ends only once a running poll has stored its page.)
    raise SystemExit(0 if drained else 1)


class _Background(Protocol):
    def start(self) -> None: ...
    def stop(self) -> bool: ...
    def webhook_stored(self) -> None: ...
    def ready(self) -> bool: ...


class _InProcess:
    """The worker on threads of the HTTP process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> bool:
        return self.worker.stop()

    def webhook_stored(self) -> None:
        self.worker.webhook_stored()

    def ready(self) -> bool:
        return self.worker.thread.is_alive() and not self.worker.stopped.is_set()


class WorkerProcess:
    """The worker in a process of its own, so that processing never holds up the HTTP process's
    interpreter. The HTTP process wakes it with a byte down a pipe per webhook stored and stops it by
    closing the pipe (which its death does too); the worker sends back down another that it has started,
    for /readyz. Both keep their figures in the run's metrics directory, which /metrics collects. A
    worker that dies on its own is started again. One thread, the supervisor, waits on the worker
    process: two waiting on one process race to reap it, and the loser takes it for alive."""

    def __init__(self, settings: Settings, *, dry_run: bool, metrics_dir: Path) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.metrics_dir = metrics_dir
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads forked
        self.stopping = threading.Event()
        self.started = threading.Event()  # the current worker has reported that it runs
        self._lock = threading.Lock()  # no worker is started once stopping has begun
        self.process: multiprocessing.process.BaseProcess | None = None
        self._wake_fd: int | None = None
        self._wake: Connection | None = None
        self._supervisor: threading.Thread | None = None
        # Whether the last worker ended cleanly: drained after the stop, or (having died on its own
        # before it) with nothing left of it to drain.
        self._clean = True

    def start(self) -> None:
        reports = self._spawn()
        if reports is None:
            return  # stopping began before the first worker: there is nothing to run
        self._supervisor = threading.Thread(
            target=self._supervise, args=(reports,), name="bridge-worker-supervisor", daemon=True
        )
        self._supervisor.start()

    def ready(self) -> bool:
        return self.started.is_set() and not self.stopping.is_set()

    def _spawn(self) -> Connection | None:
        with self._lock:
            if self.stopping.is_set():
                return None
            return self._spawn_locked()

    def _spawn_locked(self) -> Connection:
        wake_read, wake_write = self.context.Pipe(duplex=False)
        reports_read, reports_write = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_worker_main,
            args=(self.settings, self.dry_run, wake_read, reports_write),
            name="bridge-worker",
            daemon=True,  # ended with the HTTP process should it exit without stopping it
        )
        process.start()
        # Only the worker holds these ends now, so its death is an end of file here, and ours there.
        wake_read.close()
        reports_write.close()
        self._wake_fd = wake_write.fileno()
        os.set_blocking(self._wake_fd, False)  # a full pipe already holds a wake: never wait
        self._wake = wake_write
        self.process = process
        return reports_read

    def webhook_stored(self) -> None:
        # Under the lock: the pipe is never written after it is closed (its number may be reused).
        with self._lock, contextlib.suppress(BlockingIOError, BrokenPipeError):  # woken already
            if self._wake_fd is not None:
                os.write(self._wake_fd, b"w")

    def _supervise(self, reports: Connection | None) -> None:
        while reports is not None:
            self._watch(reports)
            self.started.clear()
            process = self.process
            assert process is not None
            # Its end of the pipe closed: the worker is ending. Should it hang there, stop() kills it.
            process.join()
            if process.pid is not None:
                process_ended(process.pid, self.metrics_dir)
            if self.stopping.is_set():
                self._clean = process.exitcode == 0
                return
            with self._lock:
                self._close_wake()
            if process.exitcode in STOPPED_BY_SIGNAL:
                # Stopped by a signal of its own, most often a SIGTERM to the whole process group: it
                # drained (0), or it was still starting and had done nothing (-15). The HTTP process is
                # then stopping too; only should it not, the worker is started again.
                if self.stopping.wait(STOP_GRACE_S):
                    return
                log.info(
                    "worker process stopped alone; starting another", extra={"exitcode": process.exitcode}
                )
            else:
                log.error(
                    "worker process ended on its own; starting another", extra={"exitcode": process.exitcode}
                )
                if self.stopping.wait(RESTART_S):
                    return  # stopped meanwhile: nothing runs, nothing to drain
            reports = self._spawn()

    def _watch(self, reports: Connection) -> None:
        """Until the worker ends: whether it has started, for /readyz."""
        with reports:
            while True:
                try:
                    message = reports.recv()
                except (EOFError, OSError):
                    return
                if message == STARTED:
                    self.started.set()

    def _close_wake(self) -> None:
        wake, self._wake, self._wake_fd = self._wake, None, None
        if wake is not None:
            wake.close()

    def stop(self) -> bool:
        with self._lock:
            self.stopping.set()
            self._close_wake()
        supervisor = self._supervisor
        if supervisor is None:
            return True
        supervisor.join(timeout=DRAIN_S)
        if supervisor.is_alive():
            log.error("worker process did not drain in %.0f s; stopping it", DRAIN_S)
            process = self.process
            if process is not None:
                process.kill()
            supervisor.join(timeout=5)
            return False
        return self._clean


class Service:
    """One replica of the bridge: any number may share a PostgreSQL store."""

    def __init__(
        self,
        settings: Settings,
        *,
        dry_run: bool = False,
        processor: Processor | None = None,
        worker_process: bool | None = None,
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        # Set by SIGTERM or SIGINT before uvicorn takes the signals over
        # (see bridge.service.runtime.stopping).
        self.stop_requested = stop_requested or threading.Event()
        self._server: uvicorn.Server | None = None
        processor = processor or build_processor(settings, dry_run=dry_run)
        self.worker_process = settings.service.worker_process if worker_process is None else worker_process
        self.draining = threading.Event()
        self.drained = False
        metrics_dir = active_directory()
        if self.worker_process and metrics_dir is None:
            # prometheus_client was loaded in this process before a run's metrics directory was set
            # up (a test, another program embedding the service): a worker process's figures could
            # not reach /metrics, so the worker runs here.
            log.info("no metrics directory for this run: the worker runs on threads of this process")
            self.worker_process = False
        metrics = ServiceMetrics(processor.store, directory=metrics_dir)
        # Beside a worker process this one only stores webhooks and serves what the worker stored.
        self.processor = processor
        self.background: _Background = (
            WorkerProcess(settings, dry_run=processor.dry_run, metrics_dir=metrics_dir)
            if self.worker_process and metrics_dir is not None
            else _InProcess(Worker(settings, processor))
        )
        self.app = create_app(
            self.processor,
            max_webhook_bytes=settings.service.max_webhook_bytes,
            on_accepted=lambda _source: self.background.webhook_stored(),
            accepting=lambda: not self.draining.is_set(),
            metrics=metrics,
            pages=PageOptions.from_settings(settings),
            worker_ready=self.background.ready,
        )
        self.app.router.lifespan_context = self._lifespan

    def start_background(self) -> None:
        """Pollers on their intervals (each starts at once), and the processing loop."""
        self.background.start()

    def stop_background(self) -> None:
        """Drain: refuse new webhooks, let the worker's claimed work finish, stop a running poll."""
        self.draining.set()
        self.drained = self.background.stop()

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self.start_background()
        if self.stop_requested.is_set() and self._server is not None:
            # Asked to stop just before uvicorn took the signals over: it would never hear of it.
            self._server.should_exit = True
        try:
            yield
        finally:
            self.stop_background()
            self.processor.store.close()

    def serve(self, host: str | None = None, port: int | None = None) -> int:
        """Serve until SIGTERM or Ctrl-C; uvicorn stops taking connections, then the lifespan drains.
        The exit status: 0 after a clean drain."""
        configure_logging(
            self.settings.log_format, secrets=secret_values(self.settings), log_file=self.settings.log_file
        )
        config = uvicorn_config(self.app, self.settings, host, port)
        with _signals_handled(self.stop_requested):
            if self.stop_requested.is_set():
                log.info("stopped before serving: nothing had started")
                return 0
            self._server = uvicorn.Server(config)
            self._server.run()
        return 0 if self.drained else 1


def uvicorn_config(app: FastAPI, settings: Settings, host: str | None, port: int | None) -> uvicorn.Config:
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


@contextmanager
def _signals_handled(requested: threading.Event) -> Iterator[None]:
    # Uvicorn raises the signal that stopped it again once it has shut down, which would end the
    # process by that signal (-15) after a clean drain; with a handler of ours in place instead of
    # the default, that signal is spent here and the service exits with its own status.
    previous = {sig: signal.signal(sig, lambda _signal, _frame: requested.set()) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
