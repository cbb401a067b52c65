"""Fixtures for the ADO simulator tests: a running simulator, the official SDK client, a webhook receiver."""

from __future__ import annotations

import os
import tempfile

# The SDK reads its on-disk location cache directory when azure.devops is imported; a fresh one per run
# makes every test do the real OPTIONS discovery (api-contracts.md 2.2).
os.environ["AZURE_DEVOPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="ado-sdk-cache-")

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.devops.connection import Connection
from msrest.authentication import BasicAuthentication
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.ado.simulator import AdoSimulator
from connectors.simulation import RunningServer

PAT = "pat-for-tests"
ORG = "mhhs"
PROJECT = "Programme"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ado"


@dataclass
class Ado:
    """A running simulator and how to reach it."""

    sim: AdoSimulator
    url: str  # http://127.0.0.1:PORT
    pat: str = PAT
    org: str = ORG
    project: str = PROJECT

    @property
    def org_url(self) -> str:
        return f"{self.url}/{ORG}"

    def session(self, pat: str = PAT) -> requests.Session:
        """A plain HTTP session authenticated as ADO expects (PAT as the basic-auth password)."""
        s = requests.Session()
        s.auth = ("", pat)
        return s

    def connection(self, pat: str = PAT) -> Connection:
        return Connection(base_url=self.org_url, creds=BasicAuthentication("", pat))

    def defect(self, title: str = "Null reference on save", **fields: object) -> dict[str, Any]:
        return self.sim.create_work_item({"System.Title": title, **fields})


def _start() -> tuple[AdoSimulator, RunningServer]:
    sim = AdoSimulator(pat=PAT, organization=ORG, project=PROJECT)
    server = RunningServer(sim.app).start()
    sim.base_url = server.url
    return sim, server


@pytest.fixture(scope="session")
def _shared() -> Iterator[tuple[AdoSimulator, RunningServer, dict[str, Any]]]:
    sim, server = _start()
    try:
        yield sim, server, sim.save()
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def ado(_shared: tuple[AdoSimulator, RunningServer, dict[str, Any]]) -> Ado:
    """The shared simulator, emptied of data, faults, counts and deliveries (one server keeps tests fast)."""
    sim, server, empty = _shared
    sim.webhooks.flush()
    sim.load(empty)
    sim.plan.reset()
    sim.stats.reset()
    with sim.webhooks.records_lock:
        sim.webhooks.records.clear()
    return Ado(sim, server.url)


@pytest.fixture
def fresh_ado() -> Iterator[Ado]:
    """A simulator on its own port, for tests that watch the SDK's first contact (its caches are per URL)."""
    sim, server = _start()
    try:
        yield Ado(sim, server.url)
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def wit(ado: Ado) -> Any:
    """The official 7.1 work item tracking client, pointed at the simulator."""
    client = ado.connection().clients_v7_1.get_work_item_tracking_client()
    # Shorter back-off than msrest's 0.8 s keeps the retry tests quick; the attempt count is unchanged.
    client.config.retry_policy.backoff_factor = 0.01
    return client


@dataclass
class Received:
    """One webhook POST as the receiver saw it."""

    body: dict[str, Any]
    headers: dict[str, str]
    auth: tuple[str, str] | None


@dataclass
class Receiver:
    """A loopback endpoint that records the service hooks it is sent."""

    url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body for r in self.received if event_type in (None, r.body.get("eventType"))]


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    async def hook(request: Request) -> Response:
        got = Received(
            json.loads(await request.body()),
            dict(request.headers),
            _basic(request.headers.get("authorization")),
        )
        with holder[0].lock:
            holder[0].received.append(got)
        return Response(status_code=200)

    server = RunningServer(Starlette(routes=[Route("/hooks/ado", hook, methods=["POST"])])).start()
    holder.append(Receiver(f"{server.url}/hooks/ado"))
    try:
        yield holder[0]
    finally:
        server.stop()


@pytest.fixture
def recorded() -> Callable[[str], Any]:
    """Reads a JSON example from tests/fixtures/ado/."""

    def read(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return read
