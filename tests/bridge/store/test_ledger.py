"""The environment ledger: the current version per environment and component, and its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bridge.store import Store
from bridge.store.ledger import DeploymentEntry
from bridge.store.schema import deployments

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

DAY = timedelta(days=1)


def _stay(
    environment: str,
    component: str,
    version: str,
    rfc: str,
    start: datetime,
    end: datetime | None = None,
    *,
    rolled_back: bool = False,
) -> DeploymentEntry:
    return DeploymentEntry(environment, component, version, rfc, start, end, rolled_back)


def test_the_ledger_shows_each_current_version_and_its_history(store: Store) -> None:
    with store.transaction() as tx:
        tx.ledger.replace(
            ("SIT-A", "dip-platform"),
            [
                _stay("SIT-A", "dip-platform", "1.0.0.0", "CHG0000001", T0, T0 + DAY),
                _stay("SIT-A", "dip-platform", "1.0.1.0", "CHG0000002", T0 + DAY),
            ],
        )
        tx.ledger.replace(
            ("SIT-B", "dip-platform"), [_stay("SIT-B", "dip-platform", "1.0.0.0", "CHG0000003", T0 + DAY)]
        )
        tx.ledger.replace(
            ("SIT-A", "helix-settlement"),
            [_stay("SIT-A", "helix-settlement", "1.1.0.0", "CHG0000004", T0 + DAY)],
        )

    with store.transaction(readonly=True) as tx:
        current = tx.ledger.current("SIT-A", "dip-platform")
        assert current is not None
        assert (current.version, current.rfc_number, current.deployed_from) == (
            "1.0.1.0",
            "CHG0000002",
            T0 + DAY,
        )
        assert current.current
        assert [(row.environment, row.component, row.version) for row in tx.ledger.deployed()] == [
            ("SIT-A", "dip-platform", "1.0.1.0"),
            ("SIT-A", "helix-settlement", "1.1.0.0"),
            ("SIT-B", "dip-platform", "1.0.0.0"),
        ]
        assert [row.component for row in tx.ledger.deployed("SIT-A")] == [
            "dip-platform",
            "helix-settlement",
        ]
        assert tx.ledger.environments("dip-platform", "1.0.0.0") == ["SIT-B"]
        history = tx.ledger.history("SIT-A", "dip-platform")
        assert [(row.version, row.deployed_from, row.deployed_to) for row in history] == [
            ("1.0.1.0", T0 + DAY, None),
            ("1.0.0.0", T0, T0 + DAY),
        ]
        assert tx.ledger.current("UIT", "dip-platform") is None
        assert tx.ledger.history("UIT", "dip-platform") == []


def test_one_place_is_replaced_without_touching_the_others(store: Store) -> None:
    with store.transaction() as tx:
        tx.ledger.replace(("SIT-A", "dip-platform"), [_stay("SIT-A", "dip-platform", "1.0.0.0", "C1", T0)])
        tx.ledger.replace(("SIT-B", "dip-platform"), [_stay("SIT-B", "dip-platform", "1.0.0.0", "C2", T0)])
        # A rollback as the engine derives it: the version undone, the one before current again.
        tx.ledger.replace(
            ("SIT-A", "dip-platform"),
            [
                _stay("SIT-A", "dip-platform", "1.0.0.0", "C1", T0, T0 + DAY),
                _stay("SIT-A", "dip-platform", "1.0.1.0", "C3", T0 + DAY, T0 + 2 * DAY, rolled_back=True),
                _stay("SIT-A", "dip-platform", "1.0.0.0", "C1", T0 + 2 * DAY),
            ],
        )
    with store.transaction(readonly=True) as tx:
        history = tx.ledger.history("SIT-A", "dip-platform")
        assert [(row.version, row.rolled_back, row.current) for row in history] == [
            ("1.0.0.0", False, True),
            ("1.0.1.0", True, False),
            ("1.0.0.0", False, False),
        ]
        assert [row.version for row in tx.ledger.history("SIT-B", "dip-platform")] == ["1.0.0.0"]
        assert [(r.component, r.version) for r in tx.ledger.of([("dip-platform", "1.0.1.0")])] == [
            ("dip-platform", "1.0.1.0")
        ]


def test_the_database_keeps_one_current_row_per_environment_and_component(store: Store) -> None:
    row = {"environment": "SIT-A", "component": "c", "version": "1.0.0.0", "deployed_from": T0}
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.connection.execute(deployments.insert(), [row, {**row, "version": "1.0.1.0"}])
