"""Pages drawn elsewhere: the HTTP process hands every request that is not a webhook or a probe to the
pages process, over a Unix socket only the two share, and streams its answer back as it comes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from starlette.types import Receive, Scope, Send

from bridge.service.web.bodies import BodyTooLargeError, ClientGoneError, read_body
from bridge.service.web.headers import PAGE_POLICY, security_headers

log = logging.getLogger(__name__)

# Headers that belong to one connection, not to the request or the answer (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# Requests that change nothing (RFC 9110, 9.2.1): safe to send again.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How long a request waits for a pages process that is starting (or being started again).
STARTING_WAIT_S = 15.0
# A page or an API answer the pages process has not begun within this is given up on.
ANSWER_TIMEOUT_S = 120.0
# How long the pages process keeps an idle connection from the HTTP process open.
PAGES_KEEP_ALIVE_S = 60.0
# The largest request body (a form, an API call) passed on.
MAX_REQUEST_BYTES = 1024 * 1024


class PagesForwarder:
    """An ASGI app that passes requests on to the pages process at `socket`.

    `starting` says whether that process is on its way (started, or being started again): a request
    then waits for it rather than failing. Who asked and how (the client's address and the scheme, as the
    HTTP process decided whom to believe) go with the request as X-Forwarded-For and -Proto.
    """

    def __init__(self, socket: Path, *, starting: Callable[[], bool]) -> None:
        self.socket = socket
        self.starting = starting
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        # Made on first use, inside the event loop that serves the requests.
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=str(self.socket)),
                base_url="http://pages",
                timeout=httpx.Timeout(ANSWER_TIMEOUT_S, connect=5.0),
                # Idle connections are let go well before the pages process would close them
                # (PAGES_KEEP_ALIVE_S), so none is reused just as it closes.
                limits=httpx.Limits(keepalive_expiry=PAGES_KEEP_ALIVE_S / 2),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await read_body(receive, MAX_REQUEST_BYTES)
        except ClientGoneError:
            return
        except BodyTooLargeError:
            await _plain(scope, send, 413, f"The request is over {MAX_REQUEST_BYTES} bytes.")
            return
        target = scope.get("raw_path") or str(scope["path"]).encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        request = self.client().build_request(
            scope["method"],
            httpx.URL("http://pages", raw_path=target),
            headers=_forwarded_headers(scope),
            content=body,
        )
        try:
            response = await self._send(request)
        except httpx.TimeoutException:
            log.warning("the pages process did not answer in time", extra={"path": scope["path"]})
            await _plain(scope, send, 504, "The pages did not answer in time; try again.")
            return
        except httpx.TransportError as exc:
            log.warning("the pages process cannot be reached: %s", type(exc).__name__)
            await _plain(
                scope,
                send,
                503,
                "The pages are starting or restarting; try again in a moment.",
                retry_after=2,
            )
            return
        try:
            headers = [
                (name, value) for name, value in response.headers.raw if name.lower() not in HOP_BY_HOP
            ]
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """The pages process's answer; while it is starting, its socket is waited for. A request that
        changes nothing is sent again should the connection it went on close under it (the process
        ended); one that may change something is not, since it may have been carried out."""
        deadline = time.monotonic() + STARTING_WAIT_S
        again: tuple[type[Exception], ...] = (httpx.ConnectError, FileNotFoundError)
        if request.method in SAFE_METHODS:
            again += (httpx.RemoteProtocolError, httpx.ReadError)
        while True:
            try:
                return await self.client().send(request, stream=True)
            except again:
                if not self.starting() or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


def _forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name.lower() not in HOP_BY_HOP and not name.lower().startswith(b"x-forwarded-")
    ]
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", str(client[0]).encode()))
    headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
    return headers


async def _plain(scope: Scope, send: Send, status: int, text: str, *, retry_after: int | None = None) -> None:
    """An answer of the HTTP process's own, when the pages process gives none."""
    content = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(content)).encode()),
        *security_headers(scope, PAGE_POLICY),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
