"""The transaction's shape: one manager per table, and the same verb meaning the same on every manager."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from bridge.store import Store, Tx
from bridge.store.base import Manager
from bridge.store.schema import metadata

# Each table, and the transaction's manager of it.
MANAGERS = {
    "inbox": "inbox",
    "journal": "journal",
    "releases": "releases",
    "rfcs": "rfcs",
    "defects": "defects",
    "links": "links",
    "deployments": "ledger",
    "findings": "findings",
    "outbox": "outbox",
    "audit": "audit",
    "poll_cursors": "cursors",
    "control_points": "control_points",
    "release_fixes": "fixes",
    "carry_forward": "carry_forward",
    "planned": "planned",
    "snapshots": "snapshots",
    "systems": "systems",
}

# The verbs every manager may use, each with one meaning (see bridge.store.base.Manager), besides
# `by_<field>` and `mark_<state>`.
READS = {"get", "get_many", "list", "of", "count", "counts", "stats", "keys"}
WRITES = {"put", "put_many", "add", "remove", "upsert", "save", "replace", "replace_all"}
APPENDS = {"append", "append_many"}
# What only one manager does, named for what it does there.
OWN = {
    "inbox": {"claim_due", "prune"},
    "journal": {"after", "compact", "span"},
    "ledger": {"current", "deployed", "environments", "history"},
    "findings": {"record", "resolve"},
    "outbox": {"enqueue", "claim_due", "renew", "complete", "complete_many", "retry_dead", "moves_of"}
    | {"supersede", "supersede_waiting", "settled_keys"},
    "planned": {"furthest"},
    "snapshots": {"newest"},
    "systems": {"count_records"},
}


@pytest.fixture
def tx() -> Iterator[Tx]:
    store = Store.from_url("sqlite://")
    try:
        with store.transaction(readonly=True) as tx:
            yield tx
    finally:
        store.close()


def _managers(tx: Tx) -> dict[str, Manager]:
    return {name: value for name, value in vars(tx).items() if name != "connection"}


def test_the_transaction_has_a_manager_for_each_table_on_its_connection(tx: Tx) -> None:
    assert set(MANAGERS) == set(metadata.tables)
    managers = _managers(tx)
    assert set(managers) == set(MANAGERS.values())
    assert all(isinstance(m, Manager) and m.connection is tx.connection for m in managers.values())


def test_every_manager_method_is_named_by_a_shared_verb_or_one_of_its_own(tx: Tx) -> None:
    unknown = [
        f"tx.{name}.{method}"
        for name, manager in _managers(tx).items()
        for method, _ in inspect.getmembers(type(manager), inspect.isfunction)
        if not method.startswith(("_", "by_", "mark_")) and method not in {"insert", "prepared"}
        if method not in READS | WRITES | APPENDS | OWN.get(name, set())
    ]
    assert unknown == []


def test_get_answers_one_row_or_none(tx: Tx) -> None:
    answers = {
        name: inspect.signature(type(manager).get).return_annotation
        for name, manager in _managers(tx).items()
        if hasattr(manager, "get")
    }
    assert len(answers) >= 5
    assert [name for name, answer in answers.items() if not str(answer).endswith("| None")] == []
