"""ADO connector polls against the simulator: first run, incremental, paging, look-back, nothing new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.domain.events import DefectUpdated
from connectors.ado.connector import AdoConnector
from connectors.ado.poller import MAX_SEEN, PollCursor, Seen, wiql
from tests.connectors.ado.connector_fixtures import (
    Connect,
    connect,
    connector,
    later,
    requests_made,
    reset_requests,
    sleep,
)

__all__ = ["connect", "connector", "sleep"]

WIQL = "POST /{org}/{project}/{team}/_apis/wit/wiql"
BATCH_READ = "POST /{org}/{project}/_apis/wit/workItemsBatch"


def drain(connector: AdoConnector, cursor: str | None) -> tuple[list[DefectUpdated], str | None, int]:
    """Poll until `more` is unset: the events, the last cursor and the number of pages."""
    events: list[DefectUpdated] = []
    pages = 0
    while True:
        page = connector.poll(cursor, now=later())
        pages += 1
        events += [e for e in page.events if isinstance(e, DefectUpdated)]
        cursor = page.cursor
        if not page.more:
            return events, cursor, pages


def test_first_run_reads_history_with_the_fields_the_domain_needs(ado: Any, connector: AdoConnector) -> None:
    a = ado.defect("Rounding error", **{"Microsoft.VSTS.Common.Severity": "2 - High"})
    b = ado.defect("Null ref")
    ado.sim.update_work_item(b["id"], {"System.State": "Fixed"}, by="Pat Tester <pat.tester@mhhs.example>")

    page = connector.poll(None, now=later())

    assert not page.more
    by_id = {e.id: e for e in page.events if isinstance(e, DefectUpdated)}
    assert set(by_id) == {a["id"], b["id"]}
    assert by_id[a["id"]].severity == "2 - High"
    assert by_id[a["id"]].rev == 1 and by_id[a["id"]].state == "New"
    assert by_id[b["id"]].rev == 2 and by_id[b["id"]].state == "Fixed"
    assert by_id[b["id"]].changed_by == "Pat Tester <pat.tester@mhhs.example>"
    assert by_id[b["id"]].work_item_type == "Defect"
    assert by_id[b["id"]].changed_at.tzinfo is not None
    # Oldest change first.
    assert [e.id for e in page.events if isinstance(e, DefectUpdated)] == [a["id"], b["id"]]


def test_incremental_poll_returns_only_what_changed(ado: Any, connector: AdoConnector) -> None:
    a = ado.defect("a")
    b = ado.defect("b")
    first = connector.poll(None, now=later())
    assert len(first.events) == 2

    ado.sim.update_work_item(a["id"], {"System.State": "Fixed"})
    second = connector.poll(first.cursor, now=later())

    assert [(e.record_key, e.revision) for e in second.events] == [(str(a["id"]), 2)]
    assert str(b["id"]) not in {e.record_key for e in second.events}


def test_nothing_new_costs_one_request(ado: Any, connector: AdoConnector) -> None:
    for n in range(5):
        ado.defect(f"d{n}")
    first = connector.poll(None, now=later())
    reset_requests(ado.url)

    again = connector.poll(first.cursor, now=later())

    assert again.events == ()
    assert again.cursor == first.cursor
    assert requests_made(ado.url) == {WIQL: 1}


def test_first_run_and_backfill_read_history_in_pages(ado: Any, connect: Connect) -> None:
    connector = connect(page_size=3)
    ids = [ado.defect(f"d{n}")["id"] for n in range(8)]
    reset_requests(ado.url)

    events, cursor, pages = drain(connector, None)

    assert [e.id for e in events] == ids
    assert pages == 3
    # Each page is one query and one batch read of at most page_size ids.
    assert requests_made(ado.url) == {WIQL: 3, BATCH_READ: 3}
    assert connector.poll(cursor, now=later()).events == ()

    backfill, _, _ = drain(connector, connector.cursor_since(datetime.now(UTC) - timedelta(hours=1)))
    assert [e.id for e in backfill] == ids
    assert drain(connector, connector.cursor_since(datetime.now(UTC) + timedelta(hours=1)))[0] == []


def test_look_back_rereads_the_window_but_yields_no_revision_twice(ado: Any, connect: Connect) -> None:
    connector = connect(overlap=timedelta(hours=1))
    a = ado.defect("a")
    first = connector.poll(None, now=later())
    state = json.loads(first.cursor or "")
    assert [s[:2] for s in state["seen"]] == [[a["id"], 1]]

    # A revision stamped before the cursor (a slow save that became visible late) is still found.
    b = ado.defect("b")
    cursor = PollCursor.loads(first.cursor)
    moved = PollCursor(since=cursor.since + timedelta(minutes=30) if cursor.since else None, seen=cursor.seen)
    second = connector.poll(moved.dumps(), now=later(3600))

    assert [(e.record_key, e.revision) for e in second.events] == [(str(b["id"]), 1)]
    assert connector.poll(second.cursor, now=later(3600)).events == ()


def test_cursor_never_passes_the_polls_start(ado: Any, connector: AdoConnector) -> None:
    ado.defect("a")
    now = datetime.now(UTC) - timedelta(minutes=10)

    page = connector.poll(None, now=now)

    assert PollCursor.loads(page.cursor).since == now.replace(microsecond=now.microsecond // 1000 * 1000)


def test_the_query_names_the_type_the_window_and_the_revisions_read() -> None:
    since = datetime(2024, 5, 1, 10, 0, 0, 120000, tzinfo=UTC)

    text = wiql("Defect's", since, [Seen(7, 3, since)])

    assert "[System.WorkItemType] = 'Defect''s'" in text
    assert "[System.ChangedDate] >= '2024-05-01T10:00:00.120Z'" in text
    assert "([System.Id] <> 7 OR [System.Rev] <> 3)" in text
    assert text.endswith("ORDER BY [System.ChangedDate] ASC, [System.Id] ASC")


def test_a_foreign_cursor_is_refused(connector: AdoConnector) -> None:
    with pytest.raises(ValueError, match="cursor"):
        connector.poll('{"v": 99}', now=later())


def test_the_cursor_moves_only_when_the_caller_stores_it(ado: Any, connector: AdoConnector) -> None:
    ado.defect("a")

    first = connector.poll(None, now=later())
    again = connector.poll(None, now=later())

    assert first.events == again.events and len(first.events) == 1


def test_the_window_keeps_recent_revisions_and_drops_old_ones() -> None:
    t0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    start = PollCursor(since=t0, seen=(Seen(1, 1, t0 - timedelta(hours=2)), Seen(2, 1, t0)))

    after = start.advanced(
        [Seen(3, 4, t0 + timedelta(seconds=30))], now=t0 + timedelta(hours=1), overlap=timedelta(minutes=2)
    )

    assert after.since == t0 + timedelta(seconds=30)
    assert [(s.id, s.rev) for s in after.seen] == [(3, 4), (2, 1)]
    assert PollCursor.loads(after.dumps()) == after


def test_the_cursor_is_capped_at_now_and_never_goes_back() -> None:
    t0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    start = PollCursor(since=t0)

    ahead = start.advanced(
        [Seen(1, 1, t0 + timedelta(hours=1))], now=t0 + timedelta(minutes=5), overlap=timedelta(0)
    )
    behind = start.advanced(
        [Seen(1, 1, t0 - timedelta(hours=1))], now=t0 + timedelta(minutes=5), overlap=timedelta(0)
    )

    assert ahead.since == t0 + timedelta(minutes=5)
    assert behind.since == t0


def test_a_full_window_narrows_the_look_back_to_the_revisions_it_holds() -> None:
    t0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    seen = tuple(Seen(n, 1, t0 - timedelta(milliseconds=n)) for n in range(MAX_SEEN))
    cursor = PollCursor(since=t0, seen=seen)

    assert cursor.lower_bound(timedelta(hours=1)) == t0 - timedelta(milliseconds=MAX_SEEN - 1)
    assert PollCursor(since=t0).lower_bound(timedelta(hours=1)) == t0 - timedelta(hours=1)
