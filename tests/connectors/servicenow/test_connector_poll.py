"""The ServiceNow poller through the connector against the simulator: history in pages, increments,
the look-back overlap, one request when nothing is new, work notes, and fields that must exist."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bridge.connector import Connector, PollPage
from bridge.domain.events import ChangeUpdated, RfcState, Source
from bridge.errors import PermanentError
from connectors.servicenow.connector import ServiceNowConnector

if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Snow

pytest_plugins = ["tests.servicenow_connector_fixtures"]

LIST = "GET /api/now/table/{table}"


def _add(snow: Snow, seconds: float = 1, **fields: Any) -> dict[str, str]:
    snow.clock.advance(seconds)
    record: dict[str, str] = snow.sim.insert("change_request", {"short_description": "RFC", **fields})
    return record


def _now(snow: Snow) -> datetime:
    now: datetime = snow.clock()
    return now


def _changes(page: PollPage) -> list[ChangeUpdated]:
    assert all(isinstance(e, ChangeUpdated) for e in page.events)
    return [e for e in page.events if isinstance(e, ChangeUpdated)]


def _drain(
    snow_connector: ServiceNowConnector, cursor: str | None, now: datetime
) -> tuple[list[str], str | None, int]:
    """Every page up to `now`: the numbers read in order, the final cursor and the number of pages."""
    numbers: list[str] = []
    pages = 0
    while True:
        page = snow_connector.poll(cursor, now=now)
        pages += 1
        numbers += [c.number for c in _changes(page)]
        cursor = page.cursor
        if not page.more:
            return numbers, cursor, pages
        assert pages < 50, "paging does not end"


def test_first_run_reads_the_history_in_pages_once_each(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    created = [_add(snow)["number"] for _ in range(7)]
    snow_connector = make_snow_connector(snow.url, page_size=3)
    numbers, cursor, pages = _drain(snow_connector, None, _now(snow))
    assert numbers == created
    # Each page starts at its predecessor's last second (`>=`), so it re-reads that record: 3 + 2 + 2 + 0.
    assert pages == 4
    assert json.loads(cursor or "{}")["watermark"] == "2024-05-01 10:00:07"


def test_a_record_converts_to_the_domain_event(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    record = _add(
        snow,
        state="-2",
        type="emergency",
        approval="approved",
        start_date="2024-05-02 08:00:00",
        end_date="2024-05-02 10:00:00",
        cab_date="2024-05-01",
        correlation_id="release-bridge:dip-platform:1.0.2.0",
        u_environment="SIT-A",
        u_release="dip-platform 1.0.2.0",
        u_governance_approval="",
    )
    (change,) = _changes(snow_connector.poll(None, now=_now(snow)))
    assert change == ChangeUpdated(
        sys_id=record["sys_id"],
        number=record["number"],
        mod_count=0,
        updated_at=datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC),
        state=RfcState.SCHEDULED,
        type="emergency",
        approval="approved",
        close_code=None,
        close_notes="",
        planned_start=datetime(2024, 5, 2, 8, tzinfo=UTC),
        planned_end=datetime(2024, 5, 2, 10, tzinfo=UTC),
        cab_date=datetime(2024, 5, 1, tzinfo=UTC),
        short_description="RFC",
        description="",
        correlation_id="release-bridge:dip-platform:1.0.2.0",
        environment="SIT-A",
        fields=(("environment", "SIT-A"), ("governance", ""), ("release", "dip-platform 1.0.2.0")),
        work_notes=None,
    )


def test_incremental_polls_read_only_new_revisions(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    first, second = _add(snow), _add(snow)
    page = snow_connector.poll(None, now=_now(snow))
    assert [c.number for c in _changes(page)] == [first["number"], second["number"]]
    snow.clock.advance(1)
    snow.sim.update("change_request", first["sys_id"], {"state": "-4"})
    third = _add(snow)
    page = snow_connector.poll(page.cursor, now=_now(snow))
    assert [(c.number, c.mod_count, c.state) for c in _changes(page)] == [
        (first["number"], 1, RfcState.ASSESS),
        (third["number"], 0, RfcState.NEW),
    ]
    assert not page.more


def test_the_overlap_rereads_but_yields_nothing_twice(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    records = [_add(snow, seconds=0) for _ in range(3)]  # one second for all: the watermark's second
    page = snow_connector.poll(None, now=_now(snow))
    assert len(page.events) == 3
    later = _add(snow, seconds=0)  # same second, after the poll: only `>=` finds it
    snow.reset_stats()
    page = snow_connector.poll(page.cursor, now=_now(snow))
    assert [c.number for c in _changes(page)] == [later["number"]]
    assert snow.stats() == {LIST: 1}
    again = snow_connector.poll(page.cursor, now=_now(snow) + timedelta(seconds=2))
    assert again.events == ()
    seen = json.loads(page.cursor or "{}")["seen"]
    assert {f"{r['sys_id']}:0" for r in [*records, later]} == set(seen)


def test_a_late_commit_inside_the_look_back_is_found(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    _add(snow)
    page = snow_connector.poll(None, now=_now(snow) + timedelta(seconds=3))
    watermark = json.loads(page.cursor or "{}")["watermark"]
    assert watermark == "2024-05-01 10:00:01"
    # A record stamped before the watermark but committed after the poll (a long transaction).
    snow.clock.now = datetime(2024, 5, 1, 9, 59, 58, tzinfo=UTC)
    late = _add(snow, seconds=0)
    snow.clock.now = datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    page = snow_connector.poll(page.cursor, now=_now(snow))
    assert [c.number for c in _changes(page)] == [late["number"]]


def test_nothing_new_costs_one_request(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    _add(snow, state="-1")
    page = snow_connector.poll(None, now=_now(snow))
    snow.reset_stats()
    for _ in range(3):
        page = snow_connector.poll(page.cursor, now=_now(snow) + timedelta(minutes=2))
        assert page.events == () and not page.more
    assert snow.stats() == {LIST: 3}


def test_the_cursor_never_passes_the_polls_start(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    earlier = _add(snow)
    start = _now(snow)
    future = _add(snow, seconds=30)  # stamped after the poll's `now`, e.g. an instance clock ahead of ours
    page = snow_connector.poll(None, now=start)
    # Read at once, not when our clock catches up with the instance's...
    assert [c.number for c in _changes(page)] == [earlier["number"], future["number"]]
    # ...while the watermark stays at the poll's start, and the record is not read twice.
    assert json.loads(page.cursor or "{}")["watermark"] <= start.strftime("%Y-%m-%d %H:%M:%S")
    page = snow_connector.poll(page.cursor, now=_now(snow))
    assert _changes(page) == []


def test_more_than_a_page_in_one_second_is_read_by_offset(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    created = {_add(snow, seconds=0)["number"] for _ in range(7)}
    snow_connector = make_snow_connector(snow.url, page_size=3)
    numbers, cursor, _ = _drain(snow_connector, None, _now(snow))
    assert sorted(numbers) == sorted(created)
    assert len(numbers) == len(created)
    numbers, _, _ = _drain(snow_connector, cursor, _now(snow) + timedelta(seconds=1))
    assert numbers == []


def test_backfill_from_a_date(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    _add(snow)
    snow.clock.advance(3600)
    recent = _add(snow)
    cursor = snow_connector.cursor_since(datetime(2024, 5, 1, 10, 30, tzinfo=UTC))
    page = snow_connector.poll(cursor, now=_now(snow))
    assert [c.number for c in _changes(page)] == [recent["number"]]


def test_work_notes_are_read_for_rfcs_in_implement_review_or_closed(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    implementing = _add(snow, state="-1", work_notes="Step 3 failed, rerun")
    _add(snow, state="-2", work_notes="Scheduled for Tuesday")
    snow.clock.advance(1)
    snow.sim.update("change_request", implementing["sys_id"], {"work_notes": "Rerun succeeded"})
    snow.reset_stats()
    changes = {c.number: c for c in _changes(snow_connector.poll(None, now=_now(snow)))}
    notes = changes[implementing["number"]].work_notes
    assert notes is not None
    assert [n.text for n in notes] == ["Step 3 failed, rerun", "Rerun succeeded"]
    assert notes[0].author == "bridge.integration" and notes[0].kind == "work_notes"
    assert [c.work_notes for c in changes.values() if c.state is RfcState.SCHEDULED] == [None]
    # The fields check, the page, and one journal read for the whole page.
    assert snow.stats() == {LIST: 3}


def test_an_unmapped_state_is_left_out_with_a_warning_naming_it(
    snow: Snow, snow_connector: ServiceNowConnector, caplog: pytest.LogCaptureFixture
) -> None:
    odd = _add(snow, state="7")
    good = _add(snow)
    with caplog.at_level(logging.WARNING):
        page = snow_connector.poll(None, now=_now(snow))
    assert [c.number for c in _changes(page)] == [good["number"]]
    assert f"{odd['number']} has state '7'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert snow_connector.poll(page.cursor, now=_now(snow)).events == ()
    assert "has state" not in caplog.text, "a record warned about once is not read again"


def test_polling_refuses_fields_the_instance_lacks(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    _add(snow)
    snow_connector = make_snow_connector(
        snow.url, fields={"environment": "u_environment", "release": "u_relase"}
    )
    check = snow_connector.check_fields()
    assert check.missing == ("u_relase",) and not check.confirmed
    with pytest.raises(PermanentError, match="no field u_relase"):
        snow_connector.poll(None, now=_now(snow))


def test_the_fields_check_is_one_request_and_then_trusted(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    _add(snow)
    snow.reset_stats()
    check = snow_connector.check_fields()
    assert check.confirmed and check.missing == ()
    assert "u_governance_approval" in check.found
    assert snow.stats() == {LIST: 1}
    snow_connector.poll(None, now=_now(snow))
    assert snow.stats() == {LIST: 2}


def test_an_empty_table_polls_and_checks_again_later(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    assert snow_connector.poll(None, now=_now(snow)).events == ()
    assert not snow_connector.check_fields().sampled
    _add(snow)
    assert len(snow_connector.poll(None, now=_now(snow)).events) == 1


def test_a_cursor_from_elsewhere_is_refused(snow_connector: ServiceNowConnector, snow: Snow) -> None:
    _add(snow)
    with pytest.raises(PermanentError, match="not a ServiceNow poll cursor"):
        snow_connector.poll('{"page": 2}', now=_now(snow))


def test_it_is_a_connector(snow_connector: ServiceNowConnector) -> None:
    as_protocol: Connector = snow_connector  # checked by mypy: the class meets bridge.connector.Connector
    assert as_protocol.source is Source.SERVICENOW


def test_a_naive_backfill_date_is_read_as_utc(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    aware = snow_connector.cursor_since(datetime(2024, 5, 1, 10, 30, tzinfo=UTC))
    assert snow_connector.cursor_since(datetime(2024, 5, 1, 10, 30)) == aware


def test_work_notes_of_many_rfcs_are_read_in_batches(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    created = [_add(snow, seconds=0, state="0", work_notes=f"note {i}") for i in range(130)]
    snow_connector = make_snow_connector(snow.url, page_size=500)
    snow_connector.check_fields()
    snow.reset_stats()
    changes = _changes(snow_connector.poll(None, now=_now(snow)))
    assert snow.stats() == {LIST: 3}, "the page, then the journal of 100 RFCs and of the other 30"
    notes = {c.number: [n.text for n in c.work_notes or ()] for c in changes}
    assert notes == {r["number"]: [f"note {i}"] for i, r in enumerate(created)}
