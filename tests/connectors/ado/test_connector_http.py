"""ADO connector HTTP edge cases with `responses`: Retry-After, 5xx, refusals, timeouts, secrets kept out."""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from bridge.connector import OutcomeStatus
from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import RecordRef, Source
from bridge.errors import PermanentError, TransientError
from connectors.ado.connector import AdoConnector
from connectors.ado.simulator.locations import resource_locations
from connectors.outcomes import RetryPolicy
from tests.connectors.ado.connector_fixtures import (
    POLICY,
    FakeSleep,
    later,
    settings_for,
)

BASE = "https://ado.example.test"
ORG_URL = f"{BASE}/mhhs"
WIQL = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/wiql") + r"(\?.*)?$")
READ = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/workItemsBatch") + r"(\?.*)?$")
BATCH = re.compile(re.escape(f"{ORG_URL}/_apis/wit/$batch") + r"(\?.*)?$")
SECRET_PAT = "pat-s3cret-never-shown-0123456789"


def throttled(seconds: int = 2) -> dict[str, Any]:
    return {
        "status": 429,
        "headers": {"Retry-After": str(seconds)},
        "json": {"message": "TF400733: The request has been canceled: Request was blocked.", "typeKey": "x"},
    }


def unavailable() -> dict[str, Any]:
    return {"status": 503, "json": {"message": "TF400898: The service is temporarily unavailable."}}


def item(item_id: int = 7, rev: int = 3, state: str = "Fixed") -> dict[str, Any]:
    return {
        "id": item_id,
        "rev": rev,
        "fields": {
            "System.Id": item_id,
            "System.WorkItemType": "Defect",
            "System.State": state,
            "System.Title": "Rounding error",
            "System.ChangedDate": "2024-05-01T10:00:00.12Z",
            "System.ChangedBy": {"displayName": "Pat Tester", "uniqueName": "pat@mhhs.example"},
        },
        "relations": [],
        "url": f"{ORG_URL}/_apis/wit/workItems/{item_id}",
    }


def batch_item(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"code": code, "headers": headers or {}, "body": json.dumps(body)}


def move(item_id: int = 7, rev: int = 3) -> MoveDefect:
    return MoveDefect(
        defect_id=item_id,
        expected_rev=rev,
        from_state="Fixed",
        to_state="Ready for Retest",
        comment="Deployed",
        deployment="dip-platform:1.0.2.0@SIT-A",
        links=(Hyperlink("https://gitlab.example/r", "GitLab release"),),
    )


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        # The SDK's first contact with an organisation: its resource locations (api-contracts.md 2.2).
        mock.add(responses.OPTIONS, f"{ORG_URL}/_apis", json=resource_locations())
        yield mock


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def make(sleep: FakeSleep, *, url: str = BASE, pat: str = SECRET_PAT, total_s: float = 5) -> AdoConnector:
    return AdoConnector(
        settings_for(url, pat=pat),
        retry=RetryPolicy(total_s=total_s, initial_s=0.001, max_backoff_s=0.5, sleep=sleep),
        policy=POLICY,
    )


def calls(http: responses.RequestsMock, pattern: re.Pattern[str]) -> int:
    return sum(1 for c in http.calls if pattern.match(c.request.url or ""))


def read_ok(http: responses.RequestsMock, *items: dict[str, Any]) -> None:
    http.add(responses.POST, READ, json={"count": len(items), "value": list(items)})


def test_429_with_retry_after_is_waited_for_then_retried(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    read_ok(http, item())
    http.add(responses.PATCH, BATCH, **throttled(2))
    http.add(responses.PATCH, BATCH, json={"count": 1, "value": [batch_item(200, item(rev=4))]})

    [outcome] = make(sleep).apply([move()])

    assert outcome.status is OutcomeStatus.DONE
    assert sleep.waits == [2.0]
    assert calls(http, BATCH) == 2
    sent = json.loads(http.calls[-1].request.body or b"")
    assert sent[0]["method"] == "PATCH" and sent[0]["uri"] == "/_apis/wit/workitems/7?api-version=7.1"
    assert sent[0]["body"][0] == {"op": "test", "path": "/rev", "value": 3}


def test_429_on_an_sdk_read_is_waited_for_too(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.add(responses.POST, WIQL, **throttled(2))
    http.add(
        responses.POST, WIQL, json={"queryType": "flat", "asOf": "2024-05-01T10:00:00Z", "workItems": []}
    )

    page = make(sleep).poll(None, now=later())

    assert page.events == ()
    assert sleep.waits == [2.0]
    assert calls(http, WIQL) == 2
    assert "timePrecision=true" in (http.calls[-1].request.url or "")


def test_503_then_success(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    read_ok(http, item())
    http.add(responses.PATCH, BATCH, **unavailable())
    http.add(responses.PATCH, BATCH, json={"count": 1, "value": [batch_item(200, item(rev=4))]})

    [outcome] = make(sleep).apply([move()])

    assert outcome.status is OutcomeStatus.DONE
    assert len(sleep.waits) == 1
    assert calls(http, BATCH) == 2


def test_503_on_a_get_is_retried_by_the_bridge_not_the_sdk(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    url = f"{ORG_URL}/Programme/_apis/wit/workItems/7"
    http.add(responses.GET, url, **unavailable())
    http.add(responses.GET, url, json=item())

    event = make(sleep).fetch(RecordRef(Source.ADO, "defect", "7"))

    assert event is not None and event.revision == 3
    assert len(sleep.waits) == 1
    # msrest would retry a GET by itself (api-contracts.md 2.10); one retry tier means two calls here.
    assert len([c for c in http.calls if c.request.method == "GET"]) == 2


def test_a_refused_batch_is_permanent_and_not_retried(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    read_ok(http, item())
    http.add(
        responses.PATCH,
        BATCH,
        status=400,
        json={"message": "VS402337: The batch contains 201 requests; at most 200 are allowed."},
    )

    [outcome] = make(sleep).apply([move()])

    assert outcome.status is OutcomeStatus.FAILED
    assert "HTTP 400: VS402337" in outcome.detail
    assert sleep.waits == [] and calls(http, BATCH) == 1


def test_items_of_a_batch_fail_retry_or_succeed_each_on_its_own(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    read_ok(http, item(1), item(2), item(3), item(4))
    refused = {"message": "TF401320: Rule Error for field State. Error code: Required, InvalidListValue."}
    http.add(
        responses.PATCH,
        BATCH,
        json={
            "count": 4,
            "value": [
                batch_item(400, refused),
                batch_item(503, {"message": "TF400898: unavailable"}),
                batch_item(429, {"message": "TF400733: blocked"}, {"Retry-After": "7"}),
                batch_item(200, item(4, rev=4)),
            ],
        },
    )

    outcomes = make(sleep).apply([move(1), move(2), move(3), move(4)])

    assert [o.status for o in outcomes] == [
        OutcomeStatus.FAILED,
        OutcomeStatus.RETRY,
        OutcomeStatus.RETRY,
        OutcomeStatus.DONE,
    ]
    assert "TF401320: Rule Error for field State" in outcomes[0].detail
    assert outcomes[2].retry_after_s == 7.0
    assert calls(http, BATCH) == 1


def test_a_conflict_of_the_whole_batch_re_reads_and_finds_a_move_that_landed(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    # The call as a whole is refused (412), yet the re-read shows the defect one revision on, in the target
    # state, with the move's link (an earlier attempt whose reply was lost had landed): done, not dead.
    landed = item(rev=4, state="Ready for Retest")
    landed["relations"] = [{"rel": "Hyperlink", "url": "https://gitlab.example/r", "attributes": {}}]
    read_ok(http, item())
    read_ok(http, landed)
    changed = {"message": "TF26071: This work item has been changed by someone else since you opened it."}
    http.add(responses.PATCH, BATCH, status=412, json=changed)

    [outcome] = make(sleep).apply([move()])

    assert outcome.status is OutcomeStatus.DONE and "moved" in outcome.detail
    assert calls(http, BATCH) == 1 and calls(http, READ) == 2


def test_a_timeout_is_transient(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    read_ok(http, item())
    http.add(responses.PATCH, BATCH, body=requests.exceptions.ReadTimeout("read timed out"))

    [outcome] = make(sleep, total_s=0.2).apply([move()])

    assert outcome.status is OutcomeStatus.RETRY
    assert "ADO unreachable" in outcome.detail
    assert calls(http, BATCH) >= 2, "a timed-out write is tried again within the retry budget"


def test_a_timeout_on_a_poll_raises_transient(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.add(responses.POST, WIQL, body=requests.exceptions.ConnectTimeout("connect timed out"))

    with pytest.raises(TransientError, match="ADO unreachable"):
        make(sleep, total_s=0.2).poll(None, now=later())


# --- credentials stay out of errors, logs and reprs ---------------------------------------------


def _secret_forms(pat: str) -> list[str]:
    return [pat, base64.b64encode(f":{pat}".encode()).decode()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_auth_failures_keep_the_pat_out(ado: Any, sleep: FakeSleep, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make(sleep, url=ado.url, pat=SECRET_PAT)

    with pytest.raises(PermanentError) as caught:
        connector.poll(None, now=later())

    assert "401" in str(caught.value)
    assert sleep.waits == [], "bad credentials are not retried"
    for form in _secret_forms(SECRET_PAT):
        assert form not in str(caught.value)
        assert form not in caplog.text
        assert form not in repr(connector) and form not in repr(vars(connector))
        assert form not in repr(connector.client)


def test_transport_failures_keep_the_pat_out(sleep: FakeSleep, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make(sleep, url=f"http://127.0.0.1:{_free_port()}", pat=SECRET_PAT, total_s=0.05)

    with pytest.raises(TransientError) as caught:
        connector.poll(None, now=later())
    [outcome] = connector.apply([move()])

    assert outcome.status is OutcomeStatus.RETRY
    for form in _secret_forms(SECRET_PAT):
        assert form not in str(caught.value)
        assert form not in outcome.detail
        assert form not in caplog.text
        assert form not in repr(connector)


def test_throttling_beyond_the_budget_is_handed_to_the_outbox(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    http.add(responses.POST, READ, **throttled(30))

    [outcome] = make(sleep, total_s=5).apply([move()])

    # A 30 s wait does not fit a 5 s budget: no sleep here, the outbox schedules the next attempt.
    assert outcome.status is OutcomeStatus.RETRY
    assert outcome.retry_after_s == 30.0
    assert sleep.waits == [] and calls(http, BATCH) == 0
