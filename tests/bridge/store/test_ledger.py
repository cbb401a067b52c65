"""The environment ledger: the current version per environment and component, and its history."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bridge.store import Store
from bridge.store.schema import deployments

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

DAY = timedelta(days=1)


def test_deployments_make_a_current_version_and_a_history(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.record_deployment("SIT-A", "dip-platform", "1.0.0.0", "CHG0000001", T0)
        assert tx.record_deployment("SIT-A", "dip-platform", "1.0.1.0", "CHG0000002", T0 + DAY)
        assert not tx.record_deployment("SIT-A", "dip-platform", "1.0.1.0", "CHG0000002", T0 + 2 * DAY)
        assert tx.record_deployment("SIT-B", "dip-platform", "1.0.0.0", "CHG0000003", T0 + DAY)
        assert tx.record_deployment("SIT-A", "helix-settlement", "1.1.0.0", "CHG0000004", T0 + DAY)

    with store.transaction(readonly=True) as tx:
        current = tx.current_deployment("SIT-A", "dip-platform")
        assert current is not None
        assert (current.version, current.rfc_number, current.deployed_from) == (
            "1.0.1.0",
            "CHG0000002",
            T0 + DAY,
        )
        assert current.current
        assert [(row.environment, row.component, row.version) for row in tx.current_deployments()] == [
            ("SIT-A", "dip-platform", "1.0.1.0"),
            ("SIT-A", "helix-settlement", "1.1.0.0"),
            ("SIT-B", "dip-platform", "1.0.0.0"),
        ]
        assert [row.component for row in tx.current_deployments("SIT-A")] == [
            "dip-platform",
            "helix-settlement",
        ]
        assert tx.environments_running("dip-platform", "1.0.0.0") == ["SIT-B"]
        history = tx.deployment_history("SIT-A", "dip-platform")
        assert [(row.version, row.deployed_from, row.deployed_to) for row in history] == [
            ("1.0.1.0", T0 + DAY, None),
            ("1.0.0.0", T0, T0 + DAY),
        ]
        assert tx.current_deployment("UIT", "dip-platform") is None
        assert tx.deployment_history("UIT", "dip-platform") == []


def test_a_rollback_makes_the_previous_version_current_again(store: Store) -> None:
    with store.transaction() as tx:
        tx.record_deployment("SIT-A", "dip-platform", "1.0.0.0", "CHG0000001", T0)
        tx.record_deployment("SIT-A", "dip-platform", "1.0.1.0", "CHG0000002", T0 + DAY)
        restored = tx.roll_back("SIT-A", "dip-platform", T0 + 2 * DAY)
        assert restored is not None
        assert (restored.version, restored.rfc_number, restored.deployed_from) == (
            "1.0.0.0",
            "CHG0000001",
            T0 + 2 * DAY,
        )
        history = tx.deployment_history("SIT-A", "dip-platform")
    assert [(row.version, row.rolled_back, row.current) for row in history] == [
        ("1.0.0.0", False, True),
        ("1.0.1.0", True, False),
        ("1.0.0.0", False, False),
    ]


def test_rolling_back_the_only_version_leaves_nothing_current(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.roll_back("SIT-A", "dip-platform", T0) is None
        tx.record_deployment("SIT-A", "dip-platform", "1.0.0.0", "CHG0000001", T0)
        assert tx.roll_back("SIT-A", "dip-platform", T0 + DAY) is None
        assert tx.current_deployment("SIT-A", "dip-platform") is None
        (only,) = tx.deployment_history("SIT-A", "dip-platform")
    assert (only.rolled_back, only.deployed_to) == (True, T0 + DAY)


def test_the_database_keeps_one_current_row_per_environment_and_component(store: Store) -> None:
    row = {"environment": "SIT-A", "component": "c", "version": "1.0.0.0", "deployed_from": T0}
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.connection.execute(deployments.insert(), [row, {**row, "version": "1.0.1.0"}])


def test_processors_recording_at_once_take_turns(store: Store) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def record(worker: int) -> None:
        try:
            start.wait()
            for n in range(10):
                with store.transaction() as tx:
                    tx.record_deployment("SIT-A", "dip-platform", f"1.0.{n}.{worker}", None, T0 + n * DAY)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with store.transaction(readonly=True) as tx:
        history = tx.deployment_history("SIT-A", "dip-platform")
    assert len(history) == 40
    assert sum(1 for row in history if row.current) == 1
