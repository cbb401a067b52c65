"""Two `bridge run` replicas on one PostgreSQL database against the sandbox: 1,000 defects moved exactly
once each, and each source polled by one replica at a time."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bridge.domain.actions import MoveDefect
from bridge.domain.events import DefectUpdated
from bridge.store import Store
from bridge.store.outbox import ActionStatus, Completion
from connectors.simulation import RunningServer, free_port
from tests.bridge.service.test_e2e_support import (
    NEVER_S,
    BridgeProcess,
    bridge_comments,
    post_all,
    sandbox,
    taken_ado_hooks,
    wait_for,
    write_config,
)
from tests.store_fixtures import PostgresDatabases

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

DEFECTS = 1000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# GitLab's poll reads each project's tags and releases; a re-read of one release has a longer path.
POLL_PATH = re.compile(r"^/api/v4/projects/.+/(repository/tags|releases)$")


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


class PollWatch:
    """ASGI middleware in front of the GitLab simulator: counts poll requests and the most in flight."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.total = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not POLL_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.in_flight += 1
            self.total += 1
            self.most = max(self.most, self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases, postgres_template: str) -> Iterator[str]:
    """A database of the test's own, at the newest schema (fails when BRIDGE_REQUIRE_POSTGRES=1 and
    PostgreSQL is down)."""
    name = postgres_databases.take(postgres_template, ahead=False)
    try:
        yield postgres_databases.url(name)
    finally:
        postgres_databases.drop(name)


def _note(ids: list[int], rfc: str) -> str:
    rows = "\n".join(f"| {i} | 3 - Medium | Defect {i} |" for i in ids)
    return f"""# DIP Platform — Release 1.0.2.0

| Item | Detail |
|---|---|
| Programme | MHHS |
| Release number | 1.0.2.0 |
| Source control tag | dip-platform/1.0.2.0 |
| RFC | {rfc} |

## Defects fixed
| ID | Severity | Summary |
|---|---|---|
{rows}
"""


def _polls(url: str) -> Counter[str]:
    """The replica's GitLab polls by result (ok, error, skipped), from its /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    counted: Counter[str] = Counter()
    pattern = (
        r'^bridge_poll_duration_seconds_count\{(?=[^}]*source="gitlab")[^}]*result="(\w+)"[^}]*\} (\S+)$'
    )
    for result, value in re.findall(pattern, text, flags=re.MULTILINE):
        counted[result] += int(float(value))
    return counted


def _sessions(store: Store) -> list[tuple[Any, ...]]:
    """What each session of the test's database is doing, and what it waits for."""
    query = text(
        "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid), left(query, 200)"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def _moves_done(store: Store) -> int:
    with store.transaction(readonly=True) as tx:
        return sum(row.kind == "move_defect" for row in tx.outbox.list(ActionStatus.DONE, limit=5000))


@pytest.mark.postgres
def test_two_replicas_move_a_thousand_defects_exactly_once_each(tmp_path: Path, postgres_url: str) -> None:
    ports = [free_port(), free_port()]
    box = sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{ports[0]}")
    watch = PollWatch(box.gitlab.app)
    box.servers["gitlab"] = RunningServer(watch, box.host, box.ports["gitlab"])
    # GitLab is polled often, by both replicas; ServiceNow and ADO changes come by webhook.
    intervals = {"gitlab": 0.2, "servicenow": NEVER_S, "ado": NEVER_S}
    store = Store.from_url(postgres_url)
    with box, ExitStack() as stack:
        stack.callback(store.close)
        bridges = [
            BridgeProcess(
                write_config(box, tmp_path, port, database_url=postgres_url, poll_interval_s=intervals),
                port,
                tmp_path,
            )
            for port in ports
        ]
        for bridge in bridges:
            stack.callback(bridge.stop)
            bridge.start()
        for bridge in bridges:
            bridge.ready()
        # Slow GitLab down so that polls last long enough to overlap, were they not taking turns.
        box.gitlab.plan.configure({"latency_ms": 30})

        with taken_ado_hooks(box) as deliveries:
            ids = [
                int(
                    str(
                        box.ado.create_work_item({"System.Title": f"Defect {n}", "System.State": "Fixed"})[
                            "id"
                        ]
                    )
                )
                for n in range(DEFECTS)
            ]
        # Each replica takes half of the service hooks, and the other replica's half again.
        urls = [f"{bridge.url}/hooks/ado" for bridge in bridges]
        assert len(post_all(urls, deliveries)) == DEFECTS
        assert len(post_all(list(reversed(urls)), deliveries[::10])) == DEFECTS // 10

        project = box.seeded.projects["mhhs/dip-platform"]
        sha = box.gitlab.add_commit(project, "Prepare 1.0.2.0")
        note = _note(ids, box.seeded.rfcs["dip-next"])
        box.gitlab.create_release(project, "dip-platform/1.0.2.0", note, ref=sha)
        sys_id = box.seeded.rfc_sys_ids["dip-next"]
        box.servicenow.update(
            "change_request",
            sys_id,
            {
                "approval": "approved",
                "state": "-1",
                "short_description": "Deploy dip-platform 1.0.2.0 to SIT-A",
            },
        )
        box.servicenow.update("change_request", sys_id, {"state": "0"})

        try:
            wait_for(
                lambda: _moves_done(store) >= DEFECTS, timeout_s=60, every_s=0.2, what="1,000 moves done"
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the database's sessions: {_sessions(store)}") from None
        polls = [_polls(bridge.url) for bridge in bridges]
        with store.transaction(readonly=True) as tx:
            moves = [r for r in tx.outbox.list(ActionStatus.DONE, limit=5000) if r.kind == "move_defect"]
            audit = tx.audit.list(limit=5000)
            trail = Counter(entry.record for entry in audit if entry.record.startswith("defect:"))

    states = Counter(str(box.ado.get_work_item(i)["fields"]["System.State"]) for i in ids)
    assert states == {"Ready for Retest": DEFECTS}
    for defect_id in ids:
        comments = bridge_comments(box, defect_id)
        assert len(comments) == 1, f"defect {defect_id} has {len(comments)} bridge comments"
    assert len(moves) == DEFECTS
    assert len({row.payload["defect_id"] for row in moves}) == DEFECTS
    assert set(trail.values()) == {1} and len(trail) == DEFECTS
    # One GitLab poll at a time across both replicas; both polled, and each found the other polling.
    assert watch.most == 1, watch.most
    assert all(p["ok"] > 0 for p in polls), polls
    assert sum(p["skipped"] for p in polls) > 0, polls


def _defect(defect_id: int, rev: int = 1) -> DefectUpdated:
    return DefectUpdated(defect_id, rev, "Fixed", "3 - Medium", f"Defect {defect_id}", NOW, "Tester")


def test_a_move_superseded_by_a_lagging_replica_waits_again_when_planned_again(store: Store) -> None:
    move = MoveDefect(
        defect_id=7,
        expected_rev=2,
        from_state="Fixed",
        to_state="Ready for Retest",
        comment="[Release bridge] dip-platform 1.0.2.0 deployed to SIT-A",
        deployment="SIT-A:dip-platform:1.0.2.0:CHG0000006",
    )
    with store.transaction() as tx:
        assert tx.outbox.enqueue([move], now=NOW) == [move.key]
        # A replica that has not read the defect yet plans without the move.
        assert tx.outbox.supersede_waiting(set(), kinds=("move_defect",), now=NOW) == 1
        assert tx.outbox.enqueue([move], now=NOW) == [move.key]
        row = tx.outbox.by_key(move.key)
        assert row is not None and row.status is ActionStatus.PENDING
        # An action that ran is never queued again.
        claimed = tx.outbox.claim_due(move.target, 10, "replica-a", now=NOW)
        tx.outbox.complete(claimed[0].id, Completion.done(), worker="replica-a", now=NOW)
        assert tx.outbox.enqueue([move], now=NOW) == []


@pytest.mark.postgres
def test_journal_writers_take_turns_so_ids_follow_commit_order(postgres_url: str) -> None:
    first, second = Store.from_url(postgres_url), Store.from_url(postgres_url)
    try:
        with first.transaction() as tx:
            tx.journal.append([_defect(1)], now=NOW)
            done = threading.Event()

            def other_writer() -> None:
                with second.transaction() as other:
                    other.journal.append([_defect(2)], now=NOW)
                done.set()

            writer = threading.Thread(target=other_writer)
            writer.start()
            # The second writer waits for the first to commit; a reader never sees its row first.
            assert not done.wait(0.5)
            with second.transaction(readonly=True) as reader:
                assert [event.id for _, event in reader.journal.after(0)] == []
        writer.join(10)
        assert done.is_set()
        with first.transaction(readonly=True) as reader:
            assert [event.id for _, event in reader.journal.after(0)] == [1, 2]
    finally:
        first.close()
        second.close()
