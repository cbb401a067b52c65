"""The webhook intake: `POST /hooks/{system}` verifies a delivery from GitLab, ServiceNow or Azure DevOps
and stores it durably before it answers; processing happens after the answer.

The intake is a bare ASGI app that the service's front (app.py) hands webhooks to before the framework
sees them: a busy programme sends mostly webhooks, and routing and middleware would cost each more than
verifying and storing it. Deliveries that arrive together are stored together: one writer at a time
takes every delivery waiting, verifies them and commits them in one transaction (a group commit), so a
burst costs one commit instead of one each, and each answer still waits for its own delivery's commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.types import Receive, Scope, Send

from bridge.connector import WebhookRejectedError
from bridge.domain.events import Source
from bridge.service.runtime.logs import correlated, inbox_correlation
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.backend import Intake
from bridge.service.web.bodies import BodyTooLargeError, ClientGoneError, read_body
from bridge.service.web.headers import PAGE_POLICY, security_headers
from bridge.store.inbox import Delivery, InboxPut

log = logging.getLogger(__name__)

PREFIX = "/hooks/"
# The most deliveries one commit takes; more waiting go in the next.
MAX_GROUP = 100
SYSTEMS = ", ".join(source.value for source in Source)

# What OpenAPI says of the endpoint, by status (the app's schema carries it: see `document`).
RESPONSES = {
    "200": "A delivery already stored: nothing new.",
    "202": "Stored; it is processed after the answer.",
    "400": "Not JSON, nested over 64 levels deep, or a number over 100 characters.",
    "401": "Not authenticated as the configured sender.",
    "404": "No such system, or it is not configured.",
    "405": "Not a POST.",
    "413": "Over the configured size.",
    "422": "Lacks what the bridge needs, or holds what it cannot store.",
    "503": "The service is shutting down or its store is unavailable; the sender retries.",
}


@dataclass(frozen=True)
class Answer:
    """What the intake answers a delivery: a status, a small JSON body, and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def error(cls, status: int, message: str, *, retry_after: int | None = None) -> Answer:
        extra = (("retry-after", str(retry_after)),) if retry_after is not None else ()
        return cls(status, {"error": message}, extra)

    @classmethod
    def stored(cls, put: InboxPut) -> Answer:
        return cls(
            200 if put.duplicate else 202, {"stored": True, "duplicate": put.duplicate, "inbox_id": put.id}
        )

    async def send(self, scope: Scope, send: Send) -> None:
        content = json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *((name.encode(), value.encode()) for name, value in self.headers),
            *security_headers(scope, PAGE_POLICY),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


UNAVAILABLE = Answer.error(503, "the bridge's store is unavailable; send again later", retry_after=5)
DRAINING = Answer.error(503, "shutting down; send again later", retry_after=5)
FAULT = Answer.error(500, "the bridge could not read this delivery; the fault is in its log")


@dataclass
class _Waiting:
    """A delivery read whole, waiting for a writer to verify and store it."""

    source: Source
    headers: dict[str, str]
    body: bytes
    answered: asyncio.Future[Answer]


@dataclass
class WebhookIntake:
    """`POST /hooks/{system}` as a bare ASGI app over an intake (which verifies) and its store.

    `on_accepted` is told of each stored webhook (the runner wakes the worker); `accepting` turns
    webhooks away with 503 while the service drains. Each answer is counted in `metrics`.
    """

    intake: Intake
    metrics: ServiceMetrics
    max_webhook_bytes: int = 1024 * 1024
    on_accepted: Callable[[Source], None] | None = None
    accepting: Callable[[], bool] = lambda: True
    _waiting: list[_Waiting] = field(default_factory=list, init=False, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def takes(self, scope: Scope) -> bool:
        """Whether a request is the intake's: anything under /hooks/."""
        return scope["type"] == "http" and str(scope["path"]).startswith(PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        system = str(scope["path"])[len(PREFIX) :]
        try:
            answer = await self._answer(system, scope, receive)
        except ClientGoneError:
            return  # nothing to store or answer
        label = system if system in {source.value for source in Source} else "unknown"
        self.metrics.webhook(label, answer.status, time.perf_counter() - started)
        await answer.send(scope, send)

    async def _answer(self, system: str, scope: Scope, receive: Receive) -> Answer:
        if scope["method"] != "POST":
            return Answer(405, {"error": "webhooks are sent with POST"}, (("allow", "POST"),))
        try:
            source = Source(system)
        except ValueError:
            return Answer.error(404, f"no such system {system!r}: {SYSTEMS}")
        if source not in self.intake.connectors:
            return Answer.error(404, f"{source.value} is not configured on this bridge")
        if not self.accepting():
            return DRAINING
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            body = await read_body(receive, self.max_webhook_bytes, declared=headers.get("content-length"))
        except BodyTooLargeError:
            return Answer.error(413, f"body over {self.max_webhook_bytes} bytes")
        return await self._stored(source, headers, body)

    async def _stored(self, source: Source, headers: dict[str, str], body: bytes) -> Answer:
        """The delivery's answer once a writer has verified and stored it with the others waiting."""
        answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(source, headers, body, answered))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_waiting())
        return await answered

    async def _write_waiting(self) -> None:
        """Store what waits, a group at a time, until nothing does."""
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                answers = await to_thread.run_sync(self._take, group)
            except BaseException as exc:
                # Every delivery of the group hears of it: none is left waiting for an answer.
                log.exception("webhooks not stored")
                answers = [UNAVAILABLE] * len(group)
                if not isinstance(exc, Exception):
                    _answer_all(group, answers)
                    raise
            _answer_all(group, answers)

    def _take(self, group: Sequence[_Waiting]) -> list[Answer]:
        """Verify a group of deliveries and store those that pass in one transaction (on a thread)."""
        answers: dict[int, Answer] = {}
        verified: dict[int, Delivery] = {}
        for index, waiting in enumerate(group):
            try:
                verified[index] = self.intake.verify_webhook(waiting.source, waiting.headers, waiting.body)
            except WebhookRejectedError as exc:
                log.info(
                    "webhook refused: %s", exc, extra={"source": waiting.source.value, "status": exc.status}
                )
                answers[index] = Answer.error(exc.status, str(exc))
            except Exception:
                # A fault of the bridge's in reading this one delivery: the others of the group go on.
                log.exception("webhook not read", extra={"source": waiting.source.value})
                answers[index] = FAULT
        answers.update(zip(verified, self._store(list(verified.values())), strict=True))
        if self.on_accepted is not None:
            for source in dict.fromkeys(d.source for i, d in verified.items() if answers[i].status == 202):
                self.on_accepted(source)
        return [answers[index] for index in range(len(group))]

    def _store(self, deliveries: Sequence[Delivery]) -> list[Answer]:
        """Each delivery's answer, stored together; should one hold what the store cannot take, each is
        stored alone, so that only that one is refused."""
        if not deliveries:
            return []
        try:
            with self.intake.store.transaction() as tx:
                puts = tx.inbox.put_many(deliveries)
        except DataError:
            if len(deliveries) == 1:
                # E.g. a NUL character, which PostgreSQL's text and JSONB cannot hold: the sender's data.
                log.info(
                    "webhook refused: the store cannot hold its content",
                    extra={"source": deliveries[0].source.value},
                )
                return [
                    Answer.error(422, "the payload holds a value the bridge cannot store (a NUL character?)")
                ]
            return [answer for delivery in deliveries for answer in self._store([delivery])]
        except SQLAlchemyError as exc:
            log.warning("webhooks not stored: %s", type(exc).__name__, extra={"deliveries": len(deliveries)})
            return [UNAVAILABLE] * len(deliveries)
        for delivery, put in zip(deliveries, puts, strict=True):
            with correlated(inbox_correlation(delivery.source, put.id)):
                log.info(
                    "webhook %s",
                    "already stored" if put.duplicate else "stored",
                    extra={"source": delivery.source.value, "inbox_id": put.id, "duplicate": put.duplicate},
                )
        return [Answer.stored(put) for put in puts]


def _answer_all(group: Sequence[_Waiting], answers: Sequence[Answer]) -> None:
    for waiting, answer in zip(group, answers, strict=True):
        if not waiting.answered.done():  # its sender may have gone, and its request been cancelled
            waiting.answered.set_result(answer)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI schema with the webhook endpoint in it (the framework does not route it)."""
    schema.setdefault("paths", {})[f"{PREFIX}{{system}}"] = {
        "post": {
            "tags": ["webhooks"],
            "summary": "Receive a webhook",
            "description": "Verify a webhook from GitLab, ServiceNow or Azure DevOps and store it durably.",
            "operationId": "receive_webhook",
            "parameters": [
                {
                    "name": "system",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": [source.value for source in Source]},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {status: {"description": text} for status, text in RESPONSES.items()},
        }
    }
    return schema
