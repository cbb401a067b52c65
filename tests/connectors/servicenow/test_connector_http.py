"""The exact HTTP of edge cases, with `responses`: Retry-After honoured, 5xx retried, 4xx permanent,
timeouts transient, errors inside a 200, conflicts re-read, and only owned fields sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bridge.connector import OutcomeStatus
from bridge.domain.actions import AddWorkNote, CreateRfcDraft, SetCorrelation
from bridge.domain.events import ChangeUpdated, RecordRef, Source
from bridge.errors import PermanentError, TransientError
from connectors.servicenow.connector import ServiceNowConnector

if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Sleeps

pytest_plugins = ["tests.servicenow_connector_fixtures"]

BASE = "https://snow.example.test"
TABLE = f"{BASE}/api/now/table/change_request"
JOURNAL = f"{BASE}/api/now/table/sys_journal_field"
SYS_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
REF = RecordRef(Source.SERVICENOW, "change", SYS_ID)
OURS = "release-bridge:dip-platform:1.0.2.0"


def _record(**fields: str) -> dict[str, str]:
    from tests.servicenow_connector_fixtures import change_row  # loaded as a plugin; see the contract

    return change_row(SYS_ID, **{"u_environment": "SIT-A", **fields})


@pytest.fixture
def http(make_snow_connector: Callable[..., ServiceNowConnector]) -> Callable[..., ServiceNowConnector]:
    """A connector to a made-up instance whose every reply the test decides."""

    def make(**options: Any) -> ServiceNowConnector:
        return make_snow_connector(BASE, **options)

    return make


def _params(index: int) -> dict[str, str]:
    """The query parameters of the index-th request made."""
    url = responses.calls[index].request.url or ""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def _bodies(method: str) -> list[Any]:
    return [json.loads(c.request.body or b"{}") for c in responses.calls if c.request.method == method]


@responses.activate
def test_429_with_retry_after_is_waited_for_then_retried(
    http: Callable[..., ServiceNowConnector], snow_sleeps: Sleeps, snow_fixture: Any
) -> None:
    responses.get(
        f"{TABLE}/{SYS_ID}",
        status=429,
        json=snow_fixture("error_429_rate_limited.json"),
        headers={"Retry-After": "2"},
    )
    responses.get(f"{TABLE}/{SYS_ID}", json={"result": _record()})
    change = http().fetch(REF)
    assert isinstance(change, ChangeUpdated) and change.number == "CHG0000001"
    assert snow_sleeps.waits == [2.0]
    assert len(responses.calls) == 2


@responses.activate
def test_503_then_success(http: Callable[..., ServiceNowConnector], snow_sleeps: Sleeps) -> None:
    failure = {"error": {"message": "Service Unavailable", "detail": None}, "status": "failure"}
    responses.get(TABLE, status=503, json=failure)
    responses.get(TABLE, json={"result": [_record()]})  # the fields check
    responses.get(TABLE, json={"result": [_record()]})  # the page
    page = http().poll(None, now=datetime(2024, 5, 1, 11, tzinfo=UTC))
    assert [e.record_key for e in page.events] == [SYS_ID]
    assert len(snow_sleeps.waits) == 1
    assert len(responses.calls) == 3


@responses.activate
def test_400_refused_is_permanent_and_not_retried(
    http: Callable[..., ServiceNowConnector], snow_sleeps: Sleeps
) -> None:
    responses.get(JOURNAL, json={"result": []})
    refused = {
        "error": {"message": "Invalid state", "detail": "State -1 not allowed from New"},
        "status": "failure",
    }
    responses.patch(f"{TABLE}/{SYS_ID}", status=400, json=refused)
    (failed,) = http().apply([AddWorkNote(SYS_ID, "CHG0000001", "note")])
    assert failed.status is OutcomeStatus.FAILED
    assert failed.detail == "HTTP 400: Invalid state (State -1 not allowed from New)"
    assert snow_sleeps.waits == [] and len(responses.calls) == 2


@responses.activate
def test_a_timeout_is_transient(http: Callable[..., ServiceNowConnector]) -> None:
    responses.get(JOURNAL, json={"result": []})
    responses.patch(f"{TABLE}/{SYS_ID}", body=requests.exceptions.ReadTimeout("read timed out"))
    (retry,) = http(total_s=0).apply([AddWorkNote(SYS_ID, "CHG0000001", "note")])
    assert retry.status is OutcomeStatus.RETRY and "ReadTimeout" in retry.detail
    with pytest.raises(TransientError):
        http(total_s=0).fetch(REF)


@responses.activate
def test_a_write_that_timed_out_is_retried_from_its_read(
    http: Callable[..., ServiceNowConnector], snow_sleeps: Sleeps
) -> None:
    # The first PATCH landed but its reply was lost: the retry reads the journal, finds it, writes nothing.
    responses.get(JOURNAL, json={"result": []})
    responses.patch(f"{TABLE}/{SYS_ID}", body=requests.exceptions.ConnectionError("reset by peer"))
    note = {"sys_id": "f" * 32, "element": "work_notes", "element_id": SYS_ID, "value": "note"}
    responses.get(JOURNAL, json={"result": [note | {"sys_created_on": "2024-05-01 10:00:00"}]})
    (skipped,) = http().apply([AddWorkNote(SYS_ID, "CHG0000001", "note")])
    assert skipped.status is OutcomeStatus.SKIPPED
    assert [c.request.method for c in responses.calls] == ["GET", "PATCH", "GET"]
    assert len(snow_sleeps.waits) == 1


@responses.activate
def test_a_rate_limit_that_outlasts_the_retries_comes_back_with_its_wait(
    http: Callable[..., ServiceNowConnector], snow_fixture: Any
) -> None:
    responses.get(
        f"{TABLE}/{SYS_ID}",
        status=429,
        json=snow_fixture("error_429_rate_limited.json"),
        headers={"Retry-After": "7"},
    )
    (retry,) = http(total_s=0).apply([SetCorrelation(SYS_ID, OURS, "dip-platform 1.0.2.0")])
    assert retry.status is OutcomeStatus.RETRY and retry.retry_after_s == 7.0
    assert "Rate limit exceeded" in retry.detail


@responses.activate
def test_an_error_inside_a_200_is_reported_with_its_message(
    http: Callable[..., ServiceNowConnector], snow_fixture: Any
) -> None:
    responses.get(f"{TABLE}/{SYS_ID}", json={"result": _record()})
    responses.patch(f"{TABLE}/{SYS_ID}", json=snow_fixture("error_in_200_business_rule.json"))
    (failed,) = http().apply([SetCorrelation(SYS_ID, OURS, "dip-platform 1.0.2.0")])
    assert failed.status is OutcomeStatus.FAILED
    assert "Close notes are mandatory" in failed.detail and "200" in failed.detail


@responses.activate
def test_a_hibernating_instance_is_transient(http: Callable[..., ServiceNowConnector]) -> None:
    page = "<html><head><title>Instance Hibernating page</title></head></html>"
    responses.get(f"{TABLE}/{SYS_ID}", body=page, content_type="text/html")
    with pytest.raises(TransientError, match="without a Table API result"):
        http(total_s=0).fetch(REF)


@responses.activate
def test_a_conflict_comes_back_with_the_record_read_again(http: Callable[..., ServiceNowConnector]) -> None:
    responses.get(f"{TABLE}/{SYS_ID}", json={"result": _record()})
    conflict = {
        "error": {"message": "Record was updated by another user", "detail": None},
        "status": "failure",
    }
    responses.patch(f"{TABLE}/{SYS_ID}", status=409, json=conflict)
    responses.get(f"{TABLE}/{SYS_ID}", json={"result": _record(sys_mod_count="5", correlation_id="JIRA-1")})
    (outcome,) = http().apply([SetCorrelation(SYS_ID, OURS, "dip-platform 1.0.2.0")])
    assert outcome.status is OutcomeStatus.CONFLICT
    assert isinstance(outcome.fresh, ChangeUpdated) and outcome.fresh.mod_count == 5


@responses.activate
def test_correlation_sends_only_the_fields_that_change(http: Callable[..., ServiceNowConnector]) -> None:
    responses.get(
        f"{TABLE}/{SYS_ID}", json={"result": _record(correlation_id=OURS, correlation_display="old")}
    )
    responses.patch(f"{TABLE}/{SYS_ID}", json={"result": _record()})
    (done,) = http().apply([SetCorrelation(SYS_ID, OURS, "dip-platform 1.0.2.0")])
    assert done.status is OutcomeStatus.DONE
    assert _bodies("PATCH") == [{"correlation_display": "dip-platform 1.0.2.0"}]


@responses.activate
def test_a_work_note_patch_carries_the_note_alone(http: Callable[..., ServiceNowConnector]) -> None:
    responses.get(JOURNAL, json={"result": []})
    responses.patch(f"{TABLE}/{SYS_ID}", json={"result": _record()})
    http().apply([AddWorkNote(SYS_ID, "CHG0000001", "Linked release dip-platform 1.0.2.0")])
    assert _bodies("PATCH") == [{"work_notes": "Linked release dip-platform 1.0.2.0"}]
    journal_query = _params(0)["sysparm_query"]
    assert journal_query.startswith(f"element=work_notes^element_idIN{SYS_ID}")


@responses.activate
def test_a_draft_is_inserted_with_the_documented_fields_only(
    http: Callable[..., ServiceNowConnector],
) -> None:
    responses.get(TABLE, json={"result": []})
    responses.post(TABLE, status=201, json={"result": _record(state="-5", correlation_id=OURS)})
    (done,) = http().apply([CreateRfcDraft(OURS, "Deploy dip-platform 1.0.2.0", "Draft", "SIT-B")])
    assert done.status is OutcomeStatus.DONE
    assert _params(0)["sysparm_query"] == f"correlation_id={OURS}"
    assert _bodies("POST") == [
        {
            "state": "-5",
            "short_description": "Deploy dip-platform 1.0.2.0",
            "description": "Draft",
            "correlation_id": OURS,
            "correlation_display": "dip-platform 1.0.2.0",
            "u_environment": "SIT-B",
        }
    ]


@responses.activate
def test_a_widened_query_does_not_pass_for_an_existing_draft(
    http: Callable[..., ServiceNowConnector],
) -> None:
    # Were the correlation_id part ignored, every record would come back; only an exact match counts.
    responses.get(TABLE, json={"result": [_record(correlation_id="JIRA-1"), _record(correlation_id="")]})
    responses.post(TABLE, status=201, json={"result": _record(state="-5", correlation_id=OURS)})
    (done,) = http().apply([CreateRfcDraft(OURS, "Deploy", "Draft", None)])
    assert done.status is OutcomeStatus.DONE


@responses.activate
def test_poll_queries_only_sys_updated_on_with_the_domains_fields(
    http: Callable[..., ServiceNowConnector],
) -> None:
    responses.get(TABLE, json={"result": [_record()]})
    http().poll(None, now=datetime(2024, 5, 1, 11, 0, 0, 500000, tzinfo=UTC))
    check, page = _params(0), _params(1)
    # The field check reads a few records with display values and links, to tell references apart.
    assert check["sysparm_limit"] == "20"
    assert (check["sysparm_display_value"], check["sysparm_exclude_reference_link"]) == ("all", "False")
    assert page["sysparm_query"] == "ORDERBYsys_updated_on^ORDERBYsys_id"
    # The page: stored values and display values (for the mapped fields), no links.
    assert (page["sysparm_display_value"], page["sysparm_exclude_reference_link"]) == ("all", "True")
    assert set(page["sysparm_fields"].split(",")) >= {"sys_id", "sys_mod_count", "u_environment", "u_release"}


def test_a_bad_configuration_is_refused_at_construction(
    make_snow_connector: Callable[..., ServiceNowConnector],
) -> None:
    with pytest.raises(ValueError, match="user and password"):
        make_snow_connector(BASE, user=None, password=None)


@responses.activate
def test_fetch_maps_a_401_to_permanent(http: Callable[..., ServiceNowConnector], snow_fixture: Any) -> None:
    responses.get(f"{TABLE}/{SYS_ID}", status=401, json=snow_fixture("error_401_not_authenticated.json"))
    with pytest.raises(PermanentError, match="HTTP 401: User Not Authenticated"):
        http().fetch(REF)
