"""Fixtures for the ServiceNow simulator: a running instance, a pysnow client, and an event receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pysnow
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.servicenow.simulator import ServiceNowSimulator
from connectors.simulation import RunningServer
from tests.support.clock import Clock

USER, PASSWORD = "bridge.integration", "s3cret-pw"
SECRET = "bridge-shared-key"
START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "servicenow"


@dataclass(frozen=True)
class Received:
    """One request the receiver got: raw body bytes and headers."""

    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A loopback endpoint standing in for the bridge's `/hooks/servicenow`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Received(body, dict(request.headers)))
            return Response(status_code=202)

        self.server = RunningServer(Starlette(routes=[Route("/hooks/servicenow", hook, methods=["POST"])]))

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks/servicenow"

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json() for r in self.received]


@dataclass(frozen=True)
class Instance:
    """A simulator running on loopback, with what tests need to reach it."""

    sim: ServiceNowSimulator
    server: RunningServer
    clock: Clock
    user: str = USER
    password: str = PASSWORD
    secret: str = SECRET

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def client(self, user: str | None = None, password: str | None = None) -> pysnow.Client:
        return pysnow.Client(
            host=f"127.0.0.1:{self.server.port}",
            user=user or self.user,
            password=password or self.password,
            use_ssl=False,
        )

    def changes(self) -> Any:
        return self.client().resource(api_path="/table/change_request")

    def api(self, path: str) -> str:
        return f"{self.server.url}/api/now{path}"


class Switch:
    """An ASGI app that forwards to whichever simulator the current test made: one server per session."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no simulator is switched in"
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _switched() -> Iterator[tuple[Switch, RunningServer]]:
    switch = Switch()
    with RunningServer(switch) as server:
        yield switch, server


@pytest.fixture(scope="session")
def _receiver() -> Iterator[Receiver]:
    r = Receiver()
    with r.server:
        yield r


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def receiver(_receiver: Receiver) -> Receiver:
    with _receiver.lock:
        _receiver.received.clear()
    return _receiver


def _serve(
    switched: tuple[Switch, RunningServer], sim: ServiceNowSimulator, clock: Clock
) -> Iterator[Instance]:
    switch, server = switched
    switch.app = sim.app
    yield Instance(sim, server, clock)
    switch.app = None
    sim.close()


@pytest.fixture
def instance(clock: Clock, _switched: tuple[Switch, RunningServer]) -> Iterator[Instance]:
    sim = ServiceNowSimulator(
        user=USER, password=PASSWORD, extra_fields=("u_environment", "u_release"), clock=clock
    )
    yield from _serve(_switched, sim, clock)


@pytest.fixture
def evented(clock: Clock, receiver: Receiver, _switched: tuple[Switch, RunningServer]) -> Iterator[Instance]:
    """An instance whose business rule posts signed change events to the receiver."""
    sim = ServiceNowSimulator(
        user=USER,
        password=PASSWORD,
        extra_fields=("u_environment",),
        event_url=receiver.url,
        event_secret=SECRET,
        clock=clock,
    )
    yield from _serve(_switched, sim, clock)


@pytest.fixture
def snow_fixture() -> Any:
    """Reads a JSON fixture from tests/fixtures/servicenow/ by file name."""

    def read(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return read


CLIENT_ID, CLIENT_SECRET, STATIC_TOKEN = "bridge-client", "client-secret", "long-lived-token"


@pytest.fixture
def oauth_instance(clock: Clock, _switched: tuple[Switch, RunningServer]) -> Iterator[Instance]:
    """An instance with an OAuth application registered and one long-lived bearer token."""
    sim = ServiceNowSimulator(
        user=USER,
        password=PASSWORD,
        clock=clock,
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        oauth_token=STATIC_TOKEN,
    )
    yield from _serve(_switched, sim, clock)


ENVIRONMENTS_TABLE = "u_test_environment"


@pytest.fixture
def referenced(
    clock: Clock, receiver: Receiver, _switched: tuple[Switch, RunningServer]
) -> Iterator[Instance]:
    """An instance whose u_environment is a reference to a table of environments (SIT-A and SIT-B), as
    programmes often configure it; u_release stays text. Change events go to the receiver."""
    sim = ServiceNowSimulator(
        user=USER,
        password=PASSWORD,
        extra_fields=("u_environment", "u_release"),
        references={"u_environment": ENVIRONMENTS_TABLE},
        event_url=receiver.url,
        event_secret=SECRET,
        clock=clock,
    )
    for name in ("SIT-A", "SIT-B"):
        sim.insert(ENVIRONMENTS_TABLE, {"name": name})
    yield from _serve(_switched, sim, clock)
