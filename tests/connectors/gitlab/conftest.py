"""Fixtures for the GitLab simulator: a running instance, a python-gitlab client, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gitlab
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.gitlab.simulator import GitLabSimulator
from connectors.simulation import RunningServer
from tests.support.clock import Clock

TOKEN = "glpat-sim-3xampl3t0k3n"
INSTANCE = "https://gitlab.example.com"
START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gitlab"
PROJECT = "mhhs/dip-platform"


@dataclass(frozen=True)
class Received:
    """One webhook the receiver got."""

    body: bytes
    headers: dict[str, str]
    auth: str | None

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A loopback endpoint standing in for the bridge's `POST /hooks/gitlab`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.status = 200

        async def hook(request: Request) -> Response:
            body = await request.body()
            # Keep the header names as GitLab spells them (the server lower-cases them).
            headers = {k.title().replace("Uuid", "UUID"): v for k, v in request.headers.items()}
            with self.lock:
                self.received.append(Received(body, headers, request.headers.get("authorization")))
            return Response(status_code=self.status)

        self.server = RunningServer(Starlette(routes=[Route("/hooks/gitlab", hook, methods=["POST"])]))

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks/gitlab"

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def events(self) -> list[str]:
        return [r.headers["X-Gitlab-Event"] for r in self.all()]


@dataclass(frozen=True)
class Instance:
    """A simulator running on loopback, with what tests need to reach it."""

    sim: GitLabSimulator
    url: str
    clock: Clock
    token: str = TOKEN
    instance_url: str = INSTANCE

    @property
    def auth(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}

    def api(self, path: str) -> str:
        return f"{self.url}/api/v4/{path}"

    def client(self, **options: Any) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.url, private_token=TOKEN, **options)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


class Swappable:
    """An ASGI app that forwards to the current test's simulator, so one server serves the session."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no simulator is installed"
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[Swappable, str]]:
    # Starting and stopping uvicorn costs about 0.2 s; a fresh simulator per test behind one server
    # keeps the tests independent and the suite fast.
    swappable = Swappable()
    with RunningServer(swappable) as running:
        yield swappable, running.url


@pytest.fixture
def instance(clock: Clock, _served: tuple[Swappable, str]) -> Iterator[Instance]:
    swappable, url = _served
    sim = GitLabSimulator(token=TOKEN, instance_url=INSTANCE, clock=clock)
    swappable.app = sim.app
    yield Instance(sim, url, clock)
    swappable.app = None
    sim.close()


@pytest.fixture
def sim(instance: Instance) -> GitLabSimulator:
    return instance.sim


@pytest.fixture
def gl(instance: Instance) -> gitlab.Gitlab:
    return instance.client()


@pytest.fixture
def project(sim: GitLabSimulator) -> dict[str, Any]:
    """The component repository the programme releases: `mhhs/dip-platform`, id 1."""
    return sim.create_project(PROJECT, description="Data integration platform")


@pytest.fixture(scope="session")
def _receiving() -> Iterator[Receiver]:
    r = Receiver()
    with r.server:
        yield r


@pytest.fixture
def receiver(_receiving: Receiver) -> Receiver:
    """The session's receiver, emptied and answering 200."""
    with _receiving.lock:
        _receiving.received.clear()
    _receiving.status = 200
    return _receiving


@pytest.fixture
def fixture_json() -> Any:
    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load
