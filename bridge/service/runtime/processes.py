"""The service's processes beside the HTTP one: the worker (pollers, processing, dispatch) and the pages
process (the read API and the pages), each started, watched and started again by the HTTP process.

The HTTP process keeps to what must answer fast (webhooks, health, readiness) so that neither a burst of
processing nor a person reading pages slows the answers GitLab, ServiceNow and ADO wait for: each runs
in an interpreter of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvicorn

from bridge.config import Settings, secret_values
from bridge.service.runtime.logs import LoggingObserver, configure_logging
from bridge.service.runtime.metrics import ServiceMetrics, process_ended
from bridge.service.runtime.multiprocess import active_directory
from bridge.service.runtime.stopping import signals_handled
from bridge.service.runtime.wiring import build_processor
from bridge.service.web.app import Observers, create_app
from bridge.service.web.forward import PAGES_KEEP_ALIVE_S
from bridge.service.web.pages import PageOptions
from bridge.service.worker.scheduler import DRAIN_S, Worker
from bridge.store import Store

log = logging.getLogger(__name__)

# A process that dies on its own is started again after this pause.
RESTART_S = 1.0
# How a process that was told to stop by a signal ends: drained (0), or by SIGTERM itself while its
# interpreter was starting, before it could install its handler (and so before it did anything).
STOPPED_BY_SIGNAL = frozenset({0, -signal.SIGTERM})
# How long a process stopped by a signal waits for the HTTP process to stop too before it is replaced.
STOP_GRACE_S = 5.0
# What a process sends once it runs.
STARTED = "started"
# Allocations (net of frees) between two of the pages process's youngest-generation collections; the
# interpreter's default is 700. Only garbage that refers to itself waits for a collection: the rest goes
# at once.
PAGE_GC_THRESHOLD = 20_000
# prctl(2)'s option that names the calling thread (the process, for its main thread).
PR_SET_NAME = 15


def named(name: str, main: Callable[..., None], *args: Any) -> None:
    """Run `main` in a process that shows as `name` (at most 15 bytes) in ps, top and /proc/<pid>/comm,
    so that an operator tells the service's processes apart."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    main(*args)


def _until_closed(control: Connection, stopping: threading.Event, on_byte: Callable[[], None]) -> None:
    """Until the HTTP process closes its end of `control` (or dies), or `stopping` is set: `on_byte` for
    each wake it sends."""
    fd = control.fileno()
    while not stopping.is_set():
        readable, _, _ = select.select([fd], [], [], 0.5)
        if not readable:
            continue
        if not os.read(fd, 4096):  # end of file: the HTTP process asks us to stop, or died
            return
        on_byte()


def worker_main(settings: Settings, dry_run: bool, wake: Connection, reports: Connection) -> None:
    """The worker process: runs until the HTTP process closes its end of `wake` (or dies), then drains.
    Its figures go to the run's metrics directory (PROMETHEUS_MULTIPROC_DIR, inherited), which /metrics
    collects."""
    # Ctrl-C reaches the whole process group; the HTTP process decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: stopping.set())
    configure_logging(settings.log_format, secrets=secret_values(settings), log_file=settings.log_file)
    # The HTTP process has migrated the store already.
    processor = build_processor(
        settings, dry_run=dry_run, store=Store.from_settings(settings.database), freeze_heap=True
    )
    processor.observer = Observers(LoggingObserver(), ServiceMetrics())
    worker = Worker(settings, processor)
    worker.start()
    log.info("worker process started", extra={"pid": os.getpid()})
    with contextlib.suppress(OSError):  # the HTTP process is gone; the worker drains below
        reports.send(STARTED)  # the HTTP process's /readyz waits for this
    _until_closed(wake, stopping, worker.webhook_stored)
    drained = worker.stop()
    processor.store.close()
    log.info("worker process stopped", extra={"drained": drained})
    # A worker that could not finish its claimed work says so with its exit code. (SystemExit, not
    # os._exit: the process ends only once a running poll has stored its page.)
    raise SystemExit(0 if drained else 1)


def settle_heap() -> None:
    """Take what start-up made (the modules, the app and its routes: most of a reader's heap) out of the
    garbage collector's way, and let it run less often. A page makes tens of thousands of short-lived
    objects, nearly all freed as soon as the page is sent: at the interpreter's defaults, collections
    walking them (and each full one walking every object start-up made, again) cost a list page about a
    fifth of its time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(PAGE_GC_THRESHOLD, *gc.get_threshold()[1:])


def pages_main(
    settings: Settings, dry_run: bool, socket: Path, control: Connection, reports: Connection
) -> None:
    """The pages process: the whole app (read API, pages, docs, metrics) on a Unix socket that only the
    HTTP process reaches, until the HTTP process closes its end of `control` (or dies); then it finishes
    the requests it holds and ends."""
    configure_logging(settings.log_format, secrets=secret_values(settings), log_file=settings.log_file)
    # It never plans: its heap is settled below, once the app is built.
    processor = build_processor(settings, dry_run=dry_run, store=Store.from_settings(settings.database))
    app = create_app(
        processor,
        max_webhook_bytes=settings.service.max_webhook_bytes,
        metrics=ServiceMetrics(processor.store, directory=active_directory()),
        pages=PageOptions.from_settings(settings),
    )
    settle_heap()
    config = uvicorn.Config(
        app,
        uds=str(socket),
        log_level="info",
        access_log=False,
        log_config=None,
        lifespan="off",
        timeout_keep_alive=int(PAGES_KEEP_ALIVE_S),
        # The HTTP process sends who asked and how (X-Forwarded-For and -Proto), having decided whom
        # to believe; nobody else reaches this socket.
        proxy_headers=True,
        forwarded_allow_ips="*",
    )
    server = uvicorn.Server(config)

    def report_then_watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            log.info("pages process started", extra={"pid": os.getpid()})
            with contextlib.suppress(OSError):
                reports.send(STARTED)
        _until_closed(control, threading.Event(), lambda: None)
        server.should_exit = True

    threading.Thread(target=report_then_watch, name="bridge-pages-control", daemon=True).start()
    # A SIGTERM or Ctrl-C to the whole process group stops this one too, once it has finished the
    # requests it holds, with status 0; the HTTP process replaces it only should it not be stopping.
    with signals_handled(threading.Event()):
        server.run()
    processor.store.close()
    log.info("pages process stopped")


class ChildProcess:
    """One of the service's processes beside the HTTP one (see `worker_main` and `pages_main`).

    The HTTP process can wake it with a byte down a pipe (`poke`) and stops it by closing that pipe,
    which its death does too; the process sends back down another that it has started, for /readyz.
    All keep their figures in the run's metrics directory, which /metrics collects. A process that dies
    on its own is started again. One thread, the supervisor, waits on the process: two waiting on one
    process race to reap it, and the loser takes it for alive.
    """

    def __init__(
        self, name: str, main: Callable[..., None], args: tuple[Any, ...], *, metrics_dir: Path
    ) -> None:
        self.name = name
        self.main = main
        self.args = args
        self.metrics_dir = metrics_dir
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads forked
        self.stopping = threading.Event()
        self.started = threading.Event()  # the current process has reported that it runs
        self._lock = threading.Lock()  # no process is started once stopping has begun
        self.process: multiprocessing.process.BaseProcess | None = None
        self._wake_fd: int | None = None
        self._wake: Connection | None = None
        self._supervisor: threading.Thread | None = None
        # Whether the last process ended cleanly: drained after the stop, or (having died on its own
        # before it) with nothing left of it to drain.
        self._clean = True

    def start(self) -> None:
        reports = self._spawn()
        if reports is None:
            return  # stopping began before the first process: there is nothing to run
        self._supervisor = threading.Thread(
            target=self._supervise, args=(reports,), name=f"bridge-{self.name}-supervisor", daemon=True
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
            target=named,
            args=(f"bridge-{self.name}", self.main, *self.args, wake_read, reports_write),
            name=f"bridge-{self.name}",
            daemon=True,  # ended with the HTTP process should it exit without stopping it
        )
        process.start()
        # Only the child holds these ends now, so its death is an end of file here, and ours there.
        wake_read.close()
        reports_write.close()
        self._wake_fd = wake_write.fileno()
        os.set_blocking(self._wake_fd, False)  # a full pipe already holds a wake: never wait
        self._wake = wake_write
        self.process = process
        return reports_read

    def poke(self) -> None:
        # Under the lock: the pipe is never written after it is closed (its number may be reused).
        with self._lock, contextlib.suppress(BlockingIOError, BrokenPipeError):  # woken already
            if self._wake_fd is not None:
                os.write(self._wake_fd, b"w")

    def _supervise(self, reports: Connection | None) -> None:
        while reports is not None:
            self._watch(reports)
            had_started = self.started.is_set()
            self.started.clear()
            process = self.process
            assert process is not None
            # Its end of the pipe closed: the process is ending. Should it hang there, stop() kills it.
            process.join()
            if process.pid is not None:
                process_ended(process.pid, self.metrics_dir)
            if self.stopping.is_set():
                # Clean: drained, or ended by the stop signal before it had started (it had done nothing).
                self._clean = process.exitcode == 0 or (
                    process.exitcode in STOPPED_BY_SIGNAL and not had_started
                )
                return
            with self._lock:
                self._close_wake()
            if process.exitcode in STOPPED_BY_SIGNAL:
                # Stopped by a signal of its own, most often a SIGTERM to the whole process group: it
                # drained (0), or it was still starting and had done nothing (-15). The HTTP process is
                # then stopping too; only should it not, the process is started again.
                if self.stopping.wait(STOP_GRACE_S):
                    return
                log.info(
                    "%s process stopped alone; starting another",
                    self.name,
                    extra={"exitcode": process.exitcode},
                )
            else:
                log.error(
                    "%s process ended on its own; starting another",
                    self.name,
                    extra={"exitcode": process.exitcode},
                )
                if self.stopping.wait(RESTART_S):
                    return  # stopped meanwhile: nothing runs, nothing to drain
            reports = self._spawn()

    def _watch(self, reports: Connection) -> None:
        """Until the process ends: whether it has started, for /readyz."""
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
            log.error("%s process did not stop in %.0f s; stopping it", self.name, DRAIN_S)
            process = self.process
            if process is not None:
                process.kill()
            supervisor.join(timeout=5)
            return False
        return self._clean
