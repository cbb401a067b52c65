"""The audit trail and poll cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.events import Source
from bridge.store import Store

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def test_the_audit_trail_lists_newest_first(store: Store) -> None:
    with store.transaction() as tx:
        first = tx.audit.append(Source.ADO, "defect:48211", "Resolved -> Ready for Retest", "deployed", at=T0)
        tx.audit.append(
            Source.SERVICENOW,
            "rfc:CHG0031245",
            "work note added",
            "release linked",
            action_key="add_work_note:s1:abc",
            at=T0 + timedelta(seconds=1),
        )
        second = tx.audit.append(
            Source.ADO,
            "defect:48211",
            "Ready for Retest -> Resolved",
            "rolled back",
            at=T0 + timedelta(hours=1),
        )
    with store.transaction(readonly=True) as tx:
        assert [entry.id for entry in tx.audit.list(record="defect:48211")] == [second, first]
        (note,) = tx.audit.list(action_key="add_work_note:s1:abc")
        assert (note.system, note.record, note.change) == (
            Source.SERVICENOW,
            "rfc:CHG0031245",
            "work note added",
        )
        assert len(tx.audit.list(limit=2)) == 2


def test_cursors_and_poll_outcomes(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.cursors.get(Source.GITLAB, "mhhs/dip-platform") is None
        tx.cursors.save(Source.GITLAB, "mhhs/dip-platform", "2024-05-01T10:00:00Z", now=T0)
        tx.cursors.mark_polled(Source.GITLAB, "mhhs/dip-platform", now=T0)
        tx.cursors.mark_polled(Source.ADO, "defects", error="401 Unauthorized", now=T0)
    with store.transaction() as tx:
        tx.cursors.save(
            Source.GITLAB, "mhhs/dip-platform", "2024-05-01T11:00:00Z", now=T0 + timedelta(hours=1)
        )
        tx.cursors.mark_polled(
            Source.GITLAB, "mhhs/dip-platform", error="timeout", now=T0 + timedelta(hours=1)
        )
        assert tx.cursors.get(Source.GITLAB, "mhhs/dip-platform") == "2024-05-01T11:00:00Z"
        ado, gitlab = tx.cursors.list()
        assert tx.cursors.list(Source.ADO) == [ado]
    assert (ado.cursor, ado.last_poll_ok, ado.last_error, ado.last_success_at) == (
        None,
        False,
        "401 Unauthorized",
        None,
    )
    assert gitlab.cursor == "2024-05-01T11:00:00Z"
    assert gitlab.updated_at == T0 + timedelta(hours=1)
    assert (gitlab.last_poll_ok, gitlab.last_error) == (False, "timeout")
    assert gitlab.last_poll_at == T0 + timedelta(hours=1)
    assert gitlab.last_success_at == T0  # the last good poll is still known
