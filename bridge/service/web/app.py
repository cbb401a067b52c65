"""The HTTP face of the service: webhook endpoints, the read API and pages, health, readiness and metrics;
whole in one process (`create_app`), or the front of an HTTP process whose pages are drawn by another
(`create_front`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from bridge import __version__
from bridge.connector import OutcomeStatus
from bridge.domain.events import Source
from bridge.service.runtime.logs import LoggingObserver
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.api import create_router
from bridge.service.web.backend import Backend
from bridge.service.web.forward import PagesForwarder
from bridge.service.web.headers import SecurityHeaders
from bridge.service.web.hooks import WebhookIntake, document
from bridge.service.web.pages import PageOptions, pages_router
from bridge.service.web.pages.access import Gate
from bridge.service.web.pages.problems import add_problem_pages
from bridge.service.worker.processor import PollOutcome, ProcessorObserver
from bridge.store import Store
from bridge.store.inbox import InboxRow

log = logging.getLogger(__name__)

# What the HTTP process always answers itself: whether it is up, and whether the service is ready.
PROBES = frozenset({"/healthz", "/readyz"})


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
    parts: Mapping[str, Callable[[], bool]] | None = None,
) -> Front:
    """The service's whole ASGI app around one backend (a worker's Processor is one: see backend.py).

    `on_accepted` is told of each stored webhook (the runner wakes the inbox processor);
    `accepting` turns webhooks away with 503 while the service drains; `parts` says, for /readyz,
    whether each of the service's other processes is up (by default a worker, always up). The app's
    metrics (a registry of its own unless `metrics` is given, /metrics shows `metrics.exposed`) and logs
    observe the backend (its `observer`). `pages` carries the operator token and the systems' addresses
    the pages link to.
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
    app.include_router(operations_router(backend.store, parts or {"worker": lambda: True}, accepting))

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."}},
    )
    def prometheus_metrics() -> Response:
        """Events received, inbox lag and size, actions and retries, poll and webhook times."""
        return Response(generate_latest(metrics.exposed), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        # FastAPI's documented way to extend the schema it makes ("Extending OpenAPI").
        if app.openapi_schema is None:
            app.openapi_schema = document(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    intake = WebhookIntake(
        backend, metrics, max_webhook_bytes=max_webhook_bytes, on_accepted=on_accepted, accepting=accepting
    )
    return Front(intake, app)


def create_front(
    backend: Backend,
    pages: PagesForwarder,
    *,
    max_webhook_bytes: int = 1024 * 1024,
    on_accepted: Callable[[Source], None] | None = None,
    accepting: Callable[[], bool] = lambda: True,
    metrics: ServiceMetrics | None = None,
    parts: Mapping[str, Callable[[], bool]],
) -> Front:
    """The ASGI app of an HTTP process whose pages are drawn by a pages process: webhooks, /healthz and
    /readyz here, and every other request (the read API, the pages, the docs, /metrics) passed on to the
    pages process, which serves the whole app (`create_app`)."""
    metrics = metrics or ServiceMetrics(backend.store)
    backend.observer = Observers(metrics, LoggingObserver())
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.metrics = metrics
    app.include_router(operations_router(backend.store, parts, accepting))
    app.add_middleware(SecurityHeaders)
    intake = WebhookIntake(
        backend, metrics, max_webhook_bytes=max_webhook_bytes, on_accepted=on_accepted, accepting=accepting
    )
    return Front(intake, app, pages)


def operations_router(
    store: Store, parts: Mapping[str, Callable[[], bool]], accepting: Callable[[], bool]
) -> APIRouter:
    """/healthz and /readyz: `parts` names the service's processes whose being up readiness needs."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        """The store is reachable and migrated, the worker (and the pages process, when the pages are
        drawn in one) is up and the service is not draining; each source's last poll and error."""
        states = {
            name: "up" if up() else ("starting" if accepting() else "stopping") for name, up in parts.items()
        }
        report: dict[str, Any] = {"store": "unreachable", "migrated": False, **states, "sources": {}}
        try:
            report["migrated"] = store.is_up_to_date()
            report["store"] = "ok"
            with store.transaction(readonly=True) as tx:
                for poll in tx.cursors.list():
                    report["sources"][poll.source.value] = {
                        "last_poll_at": poll.last_poll_at.isoformat() if poll.last_poll_at else None,
                        "last_success_at": poll.last_success_at.isoformat() if poll.last_success_at else None,
                        "ok": poll.last_poll_ok,
                        "error": poll.last_error,
                    }
        except Exception as exc:  # readiness reports every failure rather than raising
            report["error"] = type(exc).__name__
        ready = report["store"] == "ok" and report["migrated"] and set(states.values()) <= {"up"}
        return JSONResponse(report, 200 if ready else 503)

    return router


class Front:
    """The service's ASGI app: webhooks go straight to the intake. With the pages drawn by another
    process (`pages`), every other request but the probes goes straight there; the rest (the probes and
    the app's lifespan, or, with the pages drawn here, everything else) to the FastAPI app."""

    def __init__(self, intake: WebhookIntake, rest: FastAPI, pages: PagesForwarder | None = None) -> None:
        self.intake = intake
        self.rest = rest
        self.pages = pages

    @property
    def state(self) -> State:
        return self.rest.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.intake.takes(scope):
            await self.intake(scope, receive, send)
        elif self.pages is not None and scope["type"] == "http" and scope["path"] not in PROBES:
            await self.pages(scope, receive, send)
        else:
            await self.rest(scope, receive, send)
