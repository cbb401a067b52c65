"""The HTTP process's forwarder to the pages process, against a real server on a Unix socket: what goes
over (the target as sent, the body, who asked and how; no connection headers), what comes back (status,
headers, a streamed body), and what a reader gets when the pages process is away or starting."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bridge.service.web import forward
from bridge.service.web.forward import PagesForwarder


async def echo(request: Request) -> JSONResponse:
    client = request.client.host if request.client else None
    return JSONResponse(
        {
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "body": (await request.body()).decode(),
            "client": client,
            "scheme": request.url.scheme,
        }
    )


async def chunks(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(5):
            yield f"part {n};".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(parts(), media_type="text/plain")


async def cookies(request: Request) -> Response:
    answer = Response(status_code=303, headers={"location": "/signed-in"})
    answer.set_cookie("a", "1")
    answer.set_cookie("b", "2")
    return answer


PAGES = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST"]),
        Route("/chunks", chunks),
        Route("/cookies", cookies, methods=["POST"]),
    ]
)


class PagesServer:
    """The stand-in pages process: uvicorn on a Unix socket, believing the forwarded headers."""

    def __init__(self, socket: Path) -> None:
        config = uvicorn.Config(
            PAGES, uds=str(socket), log_level="warning", proxy_headers=True, forwarded_allow_ips="*"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> PagesServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the stand-in pages server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def socket(tmp_path: Path) -> Path:
    return tmp_path / "pages.sock"


@pytest.fixture
def pages(socket: Path) -> Iterator[PagesServer]:
    with PagesServer(socket) as server:
        yield server


async def _get(app: PagesForwarder, method: str, url: str, **options: object) -> httpx.Response:
    # The ASGI client says the request came from 10.1.2.3, as the HTTP process's scope would.
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://bridge.example") as client:
        try:
            return await client.request(method, url, **options)  # type: ignore[arg-type]
        finally:
            await app.aclose()


def test_the_request_goes_over_as_sent_with_who_asked_and_how(pages: PagesServer, socket: Path) -> None:
    app = PagesForwarder(socket, starting=lambda: False)
    answer = asyncio.run(
        _get(
            app,
            "POST",
            "/echo/a%2Fb/c?x=1&y=%20two",
            content=b"form=1",
            headers={
                "X-Forwarded-For": "6.6.6.6",  # said by the client: not believed, replaced
                "X-Forwarded-Proto": "http",
                "Connection": "keep-alive, x-custom",
                "Cookie": "bridge_session=abc",
            },
        )
    )
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["method"] == "POST" and seen["body"] == "form=1"
    assert seen["raw_path"] == "/echo/a%2Fb/c" and seen["query"] == "x=1&y=%20two"
    assert seen["client"] == "10.1.2.3" and seen["scheme"] == "https"
    assert seen["headers"]["x-forwarded-for"] == "10.1.2.3"
    assert seen["headers"]["host"] == "bridge.example"
    assert seen["headers"]["cookie"] == "bridge_session=abc"
    assert "x-custom" not in seen["headers"].get("connection", ""), "the client's connection headers stay"


def test_the_answer_comes_back_whole_streamed_with_its_headers(pages: PagesServer, socket: Path) -> None:
    app = PagesForwarder(socket, starting=lambda: False)
    streamed = asyncio.run(_get(app, "GET", "/chunks"))
    assert streamed.status_code == 200 and streamed.text == "".join(f"part {n};" for n in range(5))
    redirect = asyncio.run(_get(app, "POST", "/cookies", follow_redirects=False))
    assert redirect.status_code == 303 and redirect.headers["location"] == "/signed-in"
    assert sorted(redirect.headers.get_list("set-cookie")) == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]
    assert asyncio.run(_get(app, "GET", "/nothing-here")).status_code == 404


def test_a_body_over_the_limit_is_refused_before_it_goes_over(
    pages: PagesServer, socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forward, "MAX_REQUEST_BYTES", 10)
    app = PagesForwarder(socket, starting=lambda: False)
    answer = asyncio.run(_get(app, "POST", "/echo/x", content=b"x" * 11))
    assert answer.status_code == 413 and "10 bytes" in answer.text


def test_with_the_pages_process_away_a_reader_is_told_to_try_again(socket: Path) -> None:
    app = PagesForwarder(socket, starting=lambda: False)
    answer = asyncio.run(_get(app, "GET", "/"))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert "try again" in answer.text and answer.headers["x-content-type-options"] == "nosniff"


def test_a_request_made_while_the_pages_process_starts_waits_for_it(socket: Path) -> None:
    app = PagesForwarder(socket, starting=lambda: True)
    server = PagesServer(socket)
    threading.Timer(0.5, server.__enter__).start()
    try:
        began = time.monotonic()
        answer = asyncio.run(_get(app, "GET", "/echo/late"))
        assert answer.status_code == 200 and answer.json()["raw_path"] == "/echo/late"
        assert time.monotonic() - began >= 0.4
    finally:
        deadline = time.monotonic() + 10
        while not server.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        server.__exit__()
