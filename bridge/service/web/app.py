"""The HTTP face of the service: webhook endpoints, the read API, health, readiness and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bridge import __version__
from bridge.connector import OutcomeStatus, WebhookRejectedError
from bridge.domain.events import Source
from bridge.service.runtime.logs import LoggingObserver, correlated, inbox_correlation
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.api import create_router
from bridge.service.web.headers import SecurityHeaders
from bridge.service.web.pages import PageOptions, pages_router
from bridge.service.web.pages.access import Gate
from bridge.service.web.pages.problems import add_problem_pages
from bridge.service.worker.processor import PollOutcome, Processor, ProcessorObserver
from bridge.store.inbox import InboxRow

log = logging.getLogger(__name__)


class TooLargeError(Exception):
    """A webhook body over the configured size."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (before reading it all) one over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


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
    processor: Processor,
    *,
    max_webhook_bytes: int = 1024 * 1024,
    on_accepted: Callable[[Source], None] | None = None,
    accepting: Callable[[], bool] = lambda: True,
    metrics: ServiceMetrics | None = None,
    pages: PageOptions | None = None,
    worker_ready: Callable[[], bool] = lambda: True,
) -> FastAPI:
    """The service's ASGI app around one processor.

    `on_accepted` is told of each stored webhook (the runner wakes the inbox processor);
    `accepting` turns webhooks away with 503 while the service drains; `worker_ready` says whether
    the worker (pollers, processing, dispatch) is up, for /readyz. The app's metrics (a
    registry of its own unless `metrics` is given, /metrics shows `metrics.exposed`) and logs observe
    the processor. `pages` carries
    the operator token and the systems' addresses the pages link to.
    """
    app = FastAPI(
        title="Release bridge",
        version=__version__,
        description="Keeps GitLab releases, ServiceNow RFCs and Azure DevOps defects in step.",
    )
    metrics = metrics or ServiceMetrics(processor.store)
    app.state.metrics = metrics
    processor.observer = Observers(metrics, LoggingObserver())
    app.include_router(create_router(processor, pages))
    app.include_router(pages_router(processor, pages))
    add_problem_pages(app)
    gate = Gate.from_options(pages)
    if gate.protect_docs or gate.protect_metrics:
        app.middleware("http")(gate.operations)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so refusals carry the headers too

    @app.post(
        "/hooks/{system}",
        status_code=202,
        responses={
            200: {"description": "A delivery already stored: nothing new."},
            202: {"description": "Stored; it is processed after the answer."},
            400: {"description": "Not JSON, nested over 64 levels deep, or a number over 100 characters."},
            401: {"description": "Not authenticated as the configured sender."},
            404: {"description": "No such system, or it is not configured."},
            413: {"description": "Over the configured size."},
            422: {"description": "Lacks what the bridge needs, or holds what it cannot store."},
            503: {
                "description": "The service is shutting down or its store is unavailable; the sender retries."
            },
        },
        tags=["webhooks"],
    )
    async def receive_webhook(system: str, request: Request) -> JSONResponse:
        """Verify a webhook from GitLab, ServiceNow or Azure DevOps and store it durably."""
        started = time.perf_counter()
        answer = await _receive(system, request)
        label = system if system in {s.value for s in Source} else "unknown"
        metrics.webhook(label, answer.status_code, time.perf_counter() - started)
        return answer

    async def _receive(system: str, request: Request) -> JSONResponse:
        try:
            source = Source(system)
        except ValueError:
            return JSONResponse({"error": f"no such system {system!r}: gitlab, servicenow or ado"}, 404)
        if source not in processor.connectors:
            return JSONResponse({"error": f"{source.value} is not configured on this bridge"}, 404)
        if not accepting():
            return JSONResponse(
                {"error": "shutting down; send again later"}, 503, headers={"Retry-After": "5"}
            )
        try:
            body = await read_limited(request, max_webhook_bytes)
        except TooLargeError:
            return JSONResponse({"error": f"body over {max_webhook_bytes} bytes"}, 413)
        headers = {key: value for key, value in request.headers.items()}
        try:
            put = await run_in_threadpool(processor.accept_webhook, source, headers, body)
        except WebhookRejectedError as exc:
            log.info(
                "webhook refused: %s",
                exc,
                extra={"source": source.value, "status": exc.status},
            )
            return JSONResponse({"error": str(exc)}, exc.status)
        except DataError:
            # E.g. a NUL character, which PostgreSQL's text and JSONB cannot hold: the sender's data.
            log.info("webhook refused: the store cannot hold its content", extra={"source": source.value})
            return JSONResponse(
                {"error": "the payload holds a value the bridge cannot store (a NUL character?)"}, 422
            )
        except SQLAlchemyError as exc:
            log.warning("webhook not stored: %s", type(exc).__name__, extra={"source": source.value})
            return JSONResponse(
                {"error": "the bridge's store is unavailable; send again later"},
                503,
                headers={"Retry-After": "5"},
            )
        with correlated(inbox_correlation(source, put.id)):
            log.info(
                "webhook %s",
                "already stored" if put.duplicate else "stored",
                extra={"source": source.value, "inbox_id": put.id, "duplicate": put.duplicate},
            )
        if on_accepted is not None and not put.duplicate:
            on_accepted(source)
        return JSONResponse(
            {"stored": True, "duplicate": put.duplicate, "inbox_id": put.id}, 200 if put.duplicate else 202
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
            report["migrated"] = processor.store.is_up_to_date()
            report["store"] = "ok"
            with processor.store.transaction(readonly=True) as tx:
                for poll in tx.poll_states():
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
