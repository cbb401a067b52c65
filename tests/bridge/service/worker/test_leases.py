"""Action leases between replicas on PostgreSQL: a live dispatcher keeps what it holds however slow the
write, and a dead one's actions are finished by another within twice the lease."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from bridge.config import Settings
from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Action, AddWorkNote
from bridge.domain.events import Source
from bridge.service.runtime.wiring import engine_context, load_mappings
from bridge.service.worker.processor import Processor
from bridge.store import Store
from bridge.store.outbox import ActionStatus
from tests.store_fixtures import PostgresDatabases

# Starts processes: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

LEASE = timedelta(seconds=2)


class SlowServiceNow:
    """A ServiceNow writer that takes `seconds` per call and records which replica wrote what."""

    source = Source.SERVICENOW

    def __init__(self, name: str, seconds: float, writes: list[tuple[str, str]]) -> None:
        self.name = name
        self.seconds = seconds
        self.writes = writes

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        time.sleep(self.seconds)
        self.writes.extend((self.name, action.key) for action in actions)
        return [
            ActionOutcome(action.key, OutcomeStatus.DONE, f"written by {self.name}") for action in actions
        ]


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases, postgres_template: str) -> Iterator[str]:
    name = postgres_databases.take(postgres_template, ahead=False)
    try:
        yield postgres_databases.url(name)
    finally:
        postgres_databases.drop(name)


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    first, second = Store.from_url(postgres_url), Store.from_url(postgres_url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def replica(store: Store, name: str, connector: SlowServiceNow, lease: timedelta = LEASE) -> Processor:
    context = engine_context(Settings(), load_mappings())
    return Processor(store, {Source.SERVICENOW: connector}, context, worker=name, lease=lease)  # type: ignore[dict-item]


def notes(store: Store, count: int) -> list[str]:
    actions = [AddWorkNote(f"sys{i}", f"CHG{i:07d}", f"note {i}") for i in range(count)]
    with store.transaction() as tx:
        tx.outbox.enqueue(actions, cause="test")
    return [action.key for action in actions]


def statuses(store: Store) -> dict[str, tuple[str, str | None, int]]:
    with store.transaction(readonly=True) as tx:
        rows = tx.outbox.list(None, limit=1000)
    return {row.key: (row.status.value, row.detail, row.attempts) for row in rows}


def test_the_default_lease_is_thirty_seconds() -> None:
    assert Settings().service.action_lease_s == 30
    context = engine_context(Settings(), load_mappings())
    assert Processor(Store.from_url("sqlite://"), {}, context).lease == timedelta(seconds=30)


@pytest.mark.postgres
def test_a_write_slower_than_the_lease_keeps_its_claim(replicas: tuple[Store, Store]) -> None:
    writes: list[tuple[str, str]] = []
    slow = replica(replicas[0], "slow", SlowServiceNow("slow", 3 * LEASE.total_seconds(), writes))
    other = replica(replicas[1], "other", SlowServiceNow("other", 0, writes))
    keys = notes(replicas[0], 5)

    worker = threading.Thread(target=slow.dispatch, args=(Source.SERVICENOW,))
    worker.start()
    while worker.is_alive():
        other.dispatch(Source.SERVICENOW)  # finds nothing to take: the slow replica renews its claims
        time.sleep(0.1)
    worker.join()

    assert writes == [("slow", key) for key in keys]
    assert statuses(replicas[0]) == {key: ("done", "written by slow", 1) for key in keys}


@pytest.mark.postgres
def test_a_dead_replicas_claims_are_finished_by_another_within_twice_the_lease(
    replicas: tuple[Store, Store],
) -> None:
    writes: list[tuple[str, str]] = []
    survivor = replica(replicas[1], "survivor", SlowServiceNow("survivor", 0, writes))
    keys = notes(replicas[0], 20)
    # A replica claims every action and dies before it writes or completes any (its heartbeat with it).
    with replicas[0].transaction() as tx:
        assert len(tx.outbox.claim_due(Source.SERVICENOW, 100, "dead-replica", lease=LEASE)) == 20
    started = time.monotonic()
    taken_at = None
    while time.monotonic() - started < 2 * LEASE.total_seconds() and len(writes) < len(keys):
        if survivor.dispatch(Source.SERVICENOW) and taken_at is None:
            taken_at = time.monotonic() - started
        time.sleep(0.05)
    finished = time.monotonic() - started

    assert sorted(key for _, key in writes) == sorted(keys), "each action written once, by the survivor"
    assert finished < 2 * LEASE.total_seconds()
    assert taken_at is not None and taken_at >= LEASE.total_seconds() * 0.9, "not before the lease ran out"
    assert {status for status, _, _ in statuses(replicas[1]).values()} == {ActionStatus.DONE.value}
