"""The webhook intake: `POST /hooks/{system}` verifies a delivery from GitLab, ServiceNow or Azure DevOps
and stores it durably before it answers; processing happens after the answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bridge.connector import WebhookRejectedError
from bridge.domain.events import Source
from bridge.service.runtime.logs import correlated, inbox_correlation
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.backend import Intake

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


def webhooks_router(
    intake: Intake,
    metrics: ServiceMetrics,
    *,
    max_webhook_bytes: int,
    on_accepted: Callable[[Source], None] | None,
    accepting: Callable[[], bool],
) -> APIRouter:
    """The webhook endpoint over one intake; each answer is counted in `metrics`.

    `on_accepted` is told of each stored webhook; `accepting` turns webhooks away with 503 while the
    service drains.
    """
    router = APIRouter()

    @router.post(
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
        if source not in intake.connectors:
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
            put = await run_in_threadpool(intake.accept_webhook, source, headers, body)
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

    return router
