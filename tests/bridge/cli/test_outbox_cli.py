"""`bridge outbox list|retry`: actions by status, a dead action or all of them queued again."""

# ruff: noqa: F811 - the store fixtures are imported here and named again as test parameters

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.domain.actions import MoveDefect
from bridge.domain.events import Source
from bridge.store import Store
from bridge.store.outbox import ActionStatus, Completion
from tests.store_fixtures import (  # noqa: F401 - fixtures are found by name
    database_url,
    postgres_admin_url,
    postgres_databases,
    postgres_template,
    sqlite_template,
    store,
    store_backend,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _move(defect_id: int) -> MoveDefect:
    return MoveDefect(
        defect_id=defect_id,
        expected_rev=3,
        from_state="Fixed",
        to_state="Ready for Retest",
        comment="[Release bridge] dip-platform 1.0.2.0 deployed to SIT-A",
        deployment="SIT-A:dip-platform:1.0.2.0:CHG0031245",
    )


@pytest.fixture
def outbox(store: Store) -> dict[str, int]:
    """Three moves: one pending, two dead; their ids by defect."""
    with store.transaction() as tx:
        tx.outbox.enqueue([_move(101), _move(102), _move(103)], cause="plan", now=NOW)
        claimed = tx.outbox.claim_due(Source.ADO, 2, "worker-1", now=NOW)
        for row in claimed:
            tx.outbox.complete(
                row.id, Completion.dead("HTTP 400: TF401320 rule error"), worker="worker-1", now=NOW
            )
        rows = tx.outbox.list()
    return {int(row.payload["defect_id"]): row.id for row in rows}


def _bridge(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["outbox", *args], env={"BRIDGE_DATABASE__URL": database_url})
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_list_shows_counts_and_actions_and_filters_by_status(
    database_url: str, outbox: dict[str, int]
) -> None:
    code, output = _bridge(database_url, "list")
    assert code == 0, output
    assert "pending 1" in output and "dead 2" in output
    assert "defect 103: Fixed → Ready for Retest" in output
    code, output = _bridge(database_url, "list", "--status", "dead")
    assert code == 0, output
    assert "TF401320" in output
    assert "defect 101" in output and "defect 102" in output and "defect 103" not in output


def test_retry_one_dead_action_then_every_dead_one(
    database_url: str, store: Store, outbox: dict[str, int]
) -> None:
    code, output = _bridge(database_url, "retry", str(outbox[101]))
    assert code == 0, output
    assert "1 dead action queued again" in output
    with store.transaction(readonly=True) as tx:
        revived = tx.outbox.get(outbox[101])
        assert revived is not None and revived.status is ActionStatus.PENDING and revived.attempts == 0
        assert tx.outbox.counts()[ActionStatus.DEAD] == 1
    code, output = _bridge(database_url, "retry", "--dead")
    assert code == 0, output
    assert "1 dead action queued again" in output
    with store.transaction(readonly=True) as tx:
        assert tx.outbox.counts()[ActionStatus.DEAD] == 0
        assert tx.outbox.counts()[ActionStatus.PENDING] == 3


def test_retry_refuses_an_action_that_is_not_dead_or_not_there(
    database_url: str, outbox: dict[str, int]
) -> None:
    code, output = _bridge(database_url, "retry", str(outbox[103]))
    assert code == 1
    assert "is pending, not dead" in output
    code, output = _bridge(database_url, "retry", "99999")
    assert code == 1
    assert "no action 99999" in output
    code, _ = _bridge(database_url, "retry")
    assert code == 2
    code, _ = _bridge(database_url, "retry", str(outbox[101]), "--dead")
    assert code == 2
