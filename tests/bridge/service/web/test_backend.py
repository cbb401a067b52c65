"""The web layer runs on its small protocols: the read API and the pages on a store, the engine's context
and a clock; the webhook intake on anything that says which systems it takes and stores a delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bridge.config import Settings
from bridge.domain.events import Source
from bridge.engine.context import EngineContext
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.runtime.wiring import engine_context, load_mappings
from bridge.service.web.api import create_router
from bridge.service.web.hooks import WebhookIntake
from bridge.service.web.pages import pages_router
from bridge.store import Store
from bridge.store.inbox import Delivery, InboxKind

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@dataclass
class Reading:
    """Read models without a processor: only what the read API and the pages use."""

    store: Store
    context: EngineContext
    clock: Callable[[], datetime] = lambda: NOW


@dataclass
class Taking:
    """An intake without a processor: it takes any body as a delivery keyed by the body itself."""

    connectors: frozenset[Source]
    store: Store
    taken: list[tuple[Source, bytes]] = field(default_factory=list)

    def verify_webhook(self, source: Source, headers: Mapping[str, str], body: bytes) -> Delivery:
        self.taken.append((source, body))
        return Delivery(source, body.decode(), InboxKind.WEBHOOK, {"body": body.decode()})


def test_the_read_api_and_the_pages_serve_from_read_models_alone(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    store.upgrade()
    models = Reading(store, engine_context(Settings(), load_mappings()))
    app = FastAPI()
    app.include_router(create_router(models))
    app.include_router(pages_router(models))
    client = TestClient(app)
    assert client.get("/api/releases").json()["total"] == 0
    assert client.get("/api/outbox/counts").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/report").status_code == 200


def test_the_webhook_intake_stores_through_any_intake(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    store.upgrade()
    intake = Taking(frozenset({Source.GITLAB}), store)
    woken: list[Source] = []
    client = TestClient(
        WebhookIntake(intake, ServiceMetrics(store), max_webhook_bytes=1024, on_accepted=woken.append)
    )
    answer = client.post("/hooks/gitlab", content=b"{}")
    assert answer.status_code == 202 and answer.json() == {"stored": True, "duplicate": False, "inbox_id": 1}
    assert intake.taken == [(Source.GITLAB, b"{}")] and woken == [Source.GITLAB]
    again = client.post("/hooks/gitlab", content=b"{}")
    assert again.status_code == 200 and again.json()["duplicate"] is True and woken == [Source.GITLAB]
    with store.transaction(readonly=True) as tx:
        assert tx.inbox.get(1) is not None and tx.inbox.get(1).payload == {"body": "{}"}  # type: ignore[union-attr]
    assert client.post("/hooks/ado", content=b"{}").status_code == 404, "ADO is not among its systems"
