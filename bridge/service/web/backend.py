"""What the web layer runs on: small protocols, so the app, the read API and the pages depend on what
they use (the store, the engine's context, the clock, the webhook intake), not on the worker's
Processor, which satisfies them all."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Protocol

from bridge.domain.events import Source
from bridge.engine.context import EngineContext
from bridge.service.worker.processor import ProcessorObserver
from bridge.store import Store
from bridge.store.inbox import Delivery


class ReadModels(Protocol):
    """What the read API and the pages read: the store the worker fills, the engine's context (the
    environments' names, the systems' addresses) and the clock (a report's period, a retry's time)."""

    @property
    def store(self) -> Store: ...

    @property
    def context(self) -> EngineContext: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class Intake(Protocol):
    """Where webhooks go: the systems it takes them from, the call that verifies one, and the store that
    keeps them."""

    @property
    def connectors(self) -> Collection[Source]: ...

    @property
    def store(self) -> Store: ...

    def verify_webhook(self, source: Source, headers: Mapping[str, str], body: bytes) -> Delivery: ...


class Backend(ReadModels, Intake, Protocol):
    """All the app serves from, with the observer its metrics and logs watch; a Processor is one."""

    observer: ProcessorObserver
