"""The HTTP face of the service: webhook endpoints, health and readiness (the read API joins them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bridge import __version__
from bridge.connector import WebhookRejectedError
from bridge.domain.events import Source
from bridge.service.processor import Processor

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


def create_app(
    processor: Processor,
    *,
    max_webhook_bytes: int = 1024 * 1024,
    on_accepted: Callable[[Source], None] | None = None,
    accepting: Callable[[], bool] = lambda: True,
) -> FastAPI:
    """The service's ASGI app around one processor.

    `on_accepted` is told of each stored webhook (the runner wakes the inbox processor);
    `accepting` turns webhooks away with 503 while the service drains.
    """
    app = FastAPI(
        title="Release bridge",
        version=__version__,
        description="Keeps GitLab releases, ServiceNow RFCs and Azure DevOps defects in step.",
    )

    @app.post(
        "/hooks/{system}",
        status_code=202,
        responses={
            200: {"description": "A delivery already stored: nothing new."},
            202: {"description": "Stored; it is processed after the answer."},
            400: {"description": "Not JSON."},
            401: {"description": "Not authenticated as the configured sender."},
            404: {"description": "No such system, or it is not configured."},
            413: {"description": "Over the configured size."},
            422: {"description": "Lacks what the bridge needs."},
            503: {"description": "The service is shutting down; the sender retries."},
        },
        tags=["webhooks"],
    )
    async def receive_webhook(system: str, request: Request) -> JSONResponse:
        """Verify a webhook from GitLab, ServiceNow or Azure DevOps and store it durably."""
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
            log.info("webhook from %s refused: %s %s", source.value, exc.status, exc)
            return JSONResponse({"error": str(exc)}, exc.status)
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
        """The store is reachable and migrated; each source's last poll and error."""
        report: dict[str, Any] = {"store": "unreachable", "migrated": False, "sources": {}}
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
        ready = report["store"] == "ok" and report["migrated"]
        return JSONResponse(report, 200 if ready else 503)

    return app
