"""The ServiceNow writer and re-reads through the connector against the simulator: work notes once,
correlation only when empty or the bridge's, draft RFCs once, and fetch by sys_id."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from bridge.connector import OutcomeStatus
from bridge.domain.actions import (
    Action,
    AddWorkNote,
    CheckAncestry,
    CreateRfcDraft,
    MoveDefect,
    SetCorrelation,
)
from bridge.domain.events import ChangeUpdated, RecordRef, RfcState, Source
from bridge.errors import PermanentError, SkippableError
from connectors.servicenow.connector import ServiceNowConnector

if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Snow

pytest_plugins = ["tests.servicenow_connector_fixtures"]

GET_ONE = "GET /api/now/table/{table}/{sys_id}"
LIST = "GET /api/now/table/{table}"
PATCH = "PATCH /api/now/table/{table}/{sys_id}"
POST = "POST /api/now/table/{table}"
NOTE = "Release dip-platform 1.0.2.0 linked: tag dip-platform/1.0.2.0, defects fixed 101, 102."
OURS = "release-bridge:dip-platform:1.0.2.0"
MISSING = "ffffffffffffffffffffffffffffffff"


def _rfc(snow: Snow, **fields: str) -> dict[str, str]:
    snow.clock.advance(1)
    record: dict[str, str] = snow.sim.insert("change_request", {"short_description": "RFC", **fields})
    return record


def _notes(snow: Snow, sys_id: str) -> list[str]:
    return [row["value"] for row in snow.sim.journal(sys_id) if row["element"] == "work_notes"]


def test_a_work_note_is_written_once(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow, state="-1")
    action = AddWorkNote(rfc["sys_id"], rfc["number"], NOTE)
    snow.reset_stats()
    (done,) = snow_connector.apply([action])
    assert (done.key, done.status) == (action.key, OutcomeStatus.DONE)
    assert snow.stats() == {LIST: 1, PATCH: 1}
    snow.reset_stats()
    (again,) = snow_connector.apply([action])
    assert again.status is OutcomeStatus.SKIPPED and rfc["number"] in again.detail
    assert snow.stats() == {LIST: 1}
    assert _notes(snow, rfc["sys_id"]) == [NOTE]


def test_a_work_note_sends_nothing_but_the_note(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow, state="-1", correlation_id="someone-elses")
    snow_connector.apply([AddWorkNote(rfc["sys_id"], rfc["number"], NOTE)])
    after = snow.sim.get("change_request", rfc["sys_id"])
    assert after is not None
    changed = {k for k in rfc if rfc[k] != after[k]}
    assert changed == {"sys_mod_count", "sys_updated_on"}


def test_a_different_note_on_the_same_rfc_is_written(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow, state="-1", work_notes="Deployment started")
    outcomes = snow_connector.apply(
        [
            AddWorkNote(rfc["sys_id"], rfc["number"], NOTE),
            AddWorkNote(rfc["sys_id"], rfc["number"], NOTE + "!"),
        ]
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.DONE, OutcomeStatus.DONE]
    assert _notes(snow, rfc["sys_id"]) == ["Deployment started", NOTE, NOTE + "!"]


def test_a_note_for_a_deleted_rfc_fails_with_the_instances_message(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    (failed,) = snow_connector.apply([AddWorkNote(MISSING, "CHG0000099", NOTE)])
    assert failed.status is OutcomeStatus.FAILED and "No Record found" in failed.detail


def test_correlation_is_set_when_empty(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow)
    action = SetCorrelation(rfc["sys_id"], OURS, "dip-platform 1.0.2.0")
    (done,) = snow_connector.apply([action])
    assert done.status is OutcomeStatus.DONE
    after = snow.sim.get("change_request", rfc["sys_id"])
    assert after is not None
    assert (after["correlation_id"], after["correlation_display"]) == (OURS, "dip-platform 1.0.2.0")
    assert {k for k in rfc if rfc[k] != after[k]} == {
        "correlation_id",
        "correlation_display",
        "sys_mod_count",
        "sys_updated_on",
    }
    snow.reset_stats()
    (again,) = snow_connector.apply([action])
    assert again.status is OutcomeStatus.SKIPPED and "already names" in again.detail
    assert snow.stats() == {GET_ONE: 1}, "re-read, nothing written"


def test_the_bridges_own_correlation_is_replaced(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow, correlation_id="release-bridge:dip-platform:1.0.1.0", correlation_display="old")
    (done,) = snow_connector.apply([SetCorrelation(rfc["sys_id"], OURS, "dip-platform 1.0.2.0")])
    assert done.status is OutcomeStatus.DONE
    after = snow.sim.get("change_request", rfc["sys_id"])
    assert after is not None and after["correlation_id"] == OURS


def test_someone_elses_correlation_is_left_alone(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    rfc = _rfc(snow, correlation_id="JIRA-4411")
    snow.reset_stats()
    (skipped,) = snow_connector.apply([SetCorrelation(rfc["sys_id"], OURS, "dip-platform 1.0.2.0")])
    assert skipped.status is OutcomeStatus.SKIPPED and "'JIRA-4411'" in skipped.detail
    assert snow.stats() == {GET_ONE: 1}
    assert snow.sim.get("change_request", rfc["sys_id"]) == rfc


def test_correlation_on_a_deleted_rfc_fails(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    (failed,) = snow_connector.apply([SetCorrelation(MISSING, OURS, "x")])
    assert failed.status is OutcomeStatus.FAILED and "not found" in failed.detail


def test_a_draft_rfc_is_created_once(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    action = CreateRfcDraft(
        OURS, "Deploy dip-platform 1.0.2.0 to SIT-A", "Draft raised by the bridge", "SIT-A"
    )
    snow.reset_stats()
    (done,) = snow_connector.apply([action])
    assert done.status is OutcomeStatus.DONE
    assert snow.stats() == {LIST: 1, POST: 1}
    fresh = done.fresh
    assert isinstance(fresh, ChangeUpdated)
    assert (fresh.state, fresh.correlation_id, fresh.environment, fresh.mod_count) == (
        RfcState.NEW,
        OURS,
        "SIT-A",
        0,
    )
    stored = snow.sim.get("change_request", fresh.sys_id)
    assert stored is not None
    assert (stored["state"], stored["correlation_display"], stored["description"]) == (
        "-5",
        "dip-platform 1.0.2.0",
        "Draft raised by the bridge",
    )
    (again,) = snow_connector.apply([action])
    assert (again.status, again.detail) == (OutcomeStatus.SKIPPED, f"already created as {fresh.number}")


def test_a_draft_without_an_environment_leaves_the_field_empty(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    (done,) = snow_connector.apply([CreateRfcDraft(OURS, "Deploy", "Draft", None)])
    assert isinstance(done.fresh, ChangeUpdated) and done.fresh.environment is None


def test_actions_for_other_systems_fail_and_the_rest_still_run(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    rfc = _rfc(snow)
    actions: list[Action] = [
        MoveDefect(101, 3, "Fixed", "Ready for Retest", "moved", "d1"),
        SetCorrelation(rfc["sys_id"], OURS, "dip-platform 1.0.2.0"),
        CheckAncestry("mhhs/dip-platform", "a", "b"),
    ]
    outcomes = snow_connector.apply(actions)
    assert [o.key for o in outcomes] == [a.key for a in actions]
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED, OutcomeStatus.DONE, OutcomeStatus.FAILED]
    assert "not ServiceNow" in outcomes[0].detail


def test_fetch_rereads_an_rfc_with_its_work_notes_when_deployed(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    rfc = _rfc(snow, state="-1", work_notes="Deployed to SIT-A", u_environment="SIT-A")
    snow.reset_stats()
    change = snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", rfc["sys_id"], revision=0))
    assert isinstance(change, ChangeUpdated)
    assert change.state is RfcState.IMPLEMENT and change.environment == "SIT-A"
    assert change.work_notes is not None and [n.text for n in change.work_notes] == ["Deployed to SIT-A"]
    assert snow.stats() == {GET_ONE: 1, LIST: 1}


def test_fetch_reads_one_record_when_no_notes_are_needed(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    rfc = _rfc(snow, state="-3")
    snow.reset_stats()
    change = snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", rfc["sys_id"]))
    assert isinstance(change, ChangeUpdated) and change.work_notes is None
    assert snow.stats() == {GET_ONE: 1}


def test_fetch_of_a_deleted_rfc_is_none(snow: Snow, snow_connector: ServiceNowConnector) -> None:
    assert snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", MISSING)) is None


def test_fetch_refuses_a_record_of_another_system(snow_connector: ServiceNowConnector) -> None:
    with pytest.raises(PermanentError):
        snow_connector.fetch(RecordRef(Source.ADO, "defect", "101"))


def test_fetch_of_an_rfc_in_an_unmapped_state_is_skippable(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    rfc = _rfc(snow, state="-6")
    with pytest.raises(SkippableError, match=f"{rfc['number']} has state '-6'"):
        snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", rfc["sys_id"]))


def test_a_work_note_cannot_open_servicenows_code_tags(
    snow: Snow, snow_connector: ServiceNowConnector
) -> None:
    rfc = _rfc(snow, state="-1")
    text = "Defects fixed: 101 (High) [code]<img src=x onerror=alert(1)>[/CODE] [ code]x[/ code ]"
    action = AddWorkNote(rfc["sys_id"], rfc["number"], text)
    (done,) = snow_connector.apply([action])
    assert done.status is OutcomeStatus.DONE
    [note] = _notes(snow, rfc["sys_id"])
    assert not re.search(r"\[\s*/?\s*code\s*\]", note, re.IGNORECASE), note
    assert note.startswith("Defects fixed: 101 (High) ") and "<img src=x onerror=alert(1)>" in note
    (again,) = snow_connector.apply([action])
    assert again.status is OutcomeStatus.SKIPPED and len(_notes(snow, rfc["sys_id"])) == 1
