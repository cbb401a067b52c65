"""The HTTP face of the service: webhook endpoints, the read API, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge import __version__
from bridge.connector import OutcomeStatus
from bridge.domain.events import Source
from bridge.service.runtime.logs import LoggingObserver
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.api import create_router
from bridge.service.web.backend import Backend
from bridge.service.web.headers import SecurityHeaders
from bridge.service.web.hooks import webhooks_router
from bridge.service.web.pages import PageOptions, pages_router
from bridge.service.web.pages.access import Gate
from bridge.service.web.pages.problems import add_problem_pages
from bridge.service.worker.processor import PollOutcome, ProcessorObserver
from bridge.store.inbox import InboxRow

log = logging.getLogger(__name__)


class Observers(ProcessorObserver):
    """Tells each of several observers what the processor does."""

    def __init__(self, *observers: ProcessorObserver) -> None:
        self.observers = observers

    def polled(self, source: Source, seconds: float, outcome: PollOutcome | None) -> None:
        for observer in self.observers:
            observer.polled(source, seconds, outcome)

    def dispatched(self, target: Source, key: str, kind: str, status: OutcomeStatus, attempts: int) -> None:
        for observer in self.observers:
            observer.dispatched(target, key, kind, status, attempts)

    @contextmanager
    def reading(self, row: InboxRow) -> Iterator[None]:
        with ExitStack() as stack:
            for observer in self.observers:
                stack.enter_context(observer.reading(row))
            yield


def create_app(
    backend: Backend,
    *,
    max_webhook_bytes: int = 1024 * 1024,
    on_accepted: Callable[[Source], None] | None = None,
    accepting: Callable[[], bool] = lambda: True,
    metrics: ServiceMetrics | None = None,
    pages: PageOptions | None = None,
    worker_ready: Callable[[], bool] = lambda: True,
) -> FastAPI:
    """The service's ASGI app around one backend (a worker's Processor is one: see backend.py).

    `on_accepted` is told of each stored webhook (the runner wakes the inbox processor);
    `accepting` turns webhooks away with 503 while the service drains; `worker_ready` says whether
    the worker (pollers, processing, dispatch) is up, for /readyz. The app's metrics (a
    registry of its own unless `metrics` is given, /metrics shows `metrics.exposed`) and logs observe
    the backend (its `observer`). `pages` carries
    the operator token and the systems' addresses the pages link to.
    """
    app = FastAPI(
        title="Release bridge",
        version=__version__,
        description="Keeps GitLab releases, ServiceNow RFCs and Azure DevOps defects in step.",
    )
    metrics = metrics or ServiceMetrics(backend.store)
    app.state.metrics = metrics
    backend.observer = Observers(metrics, LoggingObserver())
    app.include_router(create_router(backend, pages))
    app.include_router(pages_router(backend, pages))
    add_problem_pages(app)
    gate = Gate.from_options(pages)
    if gate.protect_docs or gate.protect_metrics:
        app.middleware("http")(gate.operations)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so refusals carry the headers too

    app.include_router(
        webhooks_router(
            backend,
            metrics,
            max_webhook_bytes=max_webhook_bytes,
            on_accepted=on_accepted,
            accepting=accepting,
        )
    )

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The store is reachable and migrated, the worker is up and the service is not draining; each
        source's last poll and error."""
        worker = "up" if worker_ready() else ("starting" if accepting() else "stopping")
        report: dict[str, Any] = {"store": "unreachable", "migrated": False, "worker": worker, "sources": {}}
        try:
            report["migrated"] = backend.store.is_up_to_date()
            report["store"] = "ok"
            with backend.store.transaction(readonly=True) as tx:
                for poll in tx.cursors.list():
                    report["sources"][poll.source.value] = {
                        "last_poll_at": poll.last_poll_at.isoformat() if poll.last_poll_at else None,
                        "last_success_at": poll.last_success_at.isoformat() if poll.last_success_at else None,
                        "ok": poll.last_poll_ok,
                        "error": poll.last_error,
                    }
        except Exception as exc:  # readiness reports every failure rather than raising
            report["error"] = type(exc).__name__
        ready = report["store"] == "ok" and report["migrated"] and worker == "up"
        return JSONResponse(report, 200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."}},
    )
    def prometheus_metrics() -> Response:
        """Events received, inbox lag and size, actions and retries, poll and webhook times."""
        return Response(generate_latest(metrics.exposed), media_type=CONTENT_TYPE_LATEST)

    return app
