"""GitLab connector, the exact HTTP of edge cases with `responses`: throttling, 5xx, refusals, timeouts,
and credentials that never show in errors, logs or repr."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import requests
import responses

from bridge.config import GitLabSettings
from bridge.connector import Connector, OutcomeStatus
from bridge.domain.actions import CheckAncestry
from bridge.domain.events import RecordRef, ReleasePublished, Source
from bridge.errors import PermanentError, TransientError
from connectors.gitlab.connector import GitLabConnector
from connectors.outcomes import RetryPolicy
from tests.connectors.gitlab.connector_fixtures import COMPONENT, PROJECT, FakeSleep, settings_for

BASE = "http://gitlab.test"
TOKEN = "glpat-Zq8rT0pS3cr3tValue"
TAG = f"{COMPONENT}/1.0.2.0"
TAG_URL = re.compile(
    rf"{BASE}/api/v4/projects/mhhs%2Fdip-platform/repository/tags/dip-platform%2F1\.0\.2\.0$"
)
MERGE_BASE_URL = re.compile(rf"{BASE}/api/v4/projects/mhhs%2Fdip-platform/repository/merge_base")
REF = RecordRef(Source.GITLAB, "release", f"{PROJECT}:{TAG}")
TAG_JSON = {
    "name": TAG,
    "message": "Release 1.0.2.0",
    "target": "a" * 40,
    "commit": {"id": "b" * 40, "committed_date": "2026-03-02T09:00:00.000+00:00"},
    "release": None,
    "protected": False,
    "created_at": "2026-03-02T09:00:00.000+00:00",
}


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def _connector(sleep: FakeSleep, *, total_s: float = 5.0) -> GitLabConnector:
    return GitLabConnector(
        settings_for(BASE, token=TOKEN, secret="hook-secret-value"),
        retry=RetryPolicy(total_s=total_s, initial_s=0.001, max_backoff_s=0.01, sleep=sleep),
    )


def test_a_429_with_retry_after_is_waited_for_then_retried(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    http.get(
        TAG_URL, status=429, body="Retry later\n", headers={"Retry-After": "2", "RateLimit-Remaining": "0"}
    )
    http.get(TAG_URL, json=TAG_JSON)
    event = _connector(sleep).fetch(REF)
    assert isinstance(event, ReleasePublished) and event.commit_sha == "b" * 40
    assert sleep.waits == [2.0]
    assert len(http.calls) == 2  # python-gitlab did not retry it a second time itself
    assert http.calls[0].request.headers["PRIVATE-TOKEN"] == TOKEN


def test_a_429_without_retry_after_uses_ratelimit_reset(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    http.get(TAG_URL, status=429, body="Retry later\n", headers={"RateLimit-Reset": "3"})
    http.get(TAG_URL, json=TAG_JSON)
    assert _connector(sleep).fetch(REF) is not None
    assert sleep.waits == [3.0]


def test_a_503_then_success(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, status=503, json={"message": "503 Service Unavailable"})
    http.get(TAG_URL, json=TAG_JSON)
    assert isinstance(_connector(sleep).fetch(REF), ReleasePublished)
    assert len(http.calls) == 2 and len(sleep.waits) == 1


def test_a_refused_request_is_permanent_and_never_retried(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    http.get(TAG_URL, json=TAG_JSON)
    http.get(MERGE_BASE_URL, status=400, json={"message": "Could not find ref: dip-platform/9.0.0.0"})
    [outcome] = _connector(sleep).apply([CheckAncestry(PROJECT, TAG, f"{COMPONENT}/9.0.0.0")])
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.detail == "HTTP 400: Could not find ref: dip-platform/9.0.0.0"
    assert len(http.calls) == 2 and sleep.waits == []


def test_a_merge_base_sends_both_refs(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, json=TAG_JSON)
    http.get(MERGE_BASE_URL, json={"id": "b" * 40})
    [outcome] = _connector(sleep).apply([CheckAncestry(PROJECT, TAG, f"{COMPONENT}/1.1.0.0")])
    assert outcome.status is OutcomeStatus.DONE
    assert "refs%5B%5D=dip-platform%2F1.0.2.0&refs%5B%5D=dip-platform%2F1.1.0.0" in str(
        http.calls[1].request.url
    )


def test_a_timeout_is_transient(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    http.get(TAG_URL, json=TAG_JSON)
    assert _connector(sleep).fetch(REF) is not None
    assert len(http.calls) == 2


def test_a_timeout_that_persists_is_a_retry_outcome(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    [outcome] = _connector(sleep, total_s=0.05).apply([CheckAncestry(PROJECT, TAG, TAG)])
    assert outcome.status is OutcomeStatus.RETRY and "timed out" in outcome.detail
    with pytest.raises(TransientError, match="timed out"):
        _connector(sleep, total_s=0.05).fetch(REF)


def test_a_throttle_that_persists_is_a_retry_outcome_with_the_servers_wait(
    http: responses.RequestsMock, sleep: FakeSleep
) -> None:
    http.get(TAG_URL, status=429, body="Retry later\n", headers={"Retry-After": "7"})
    [outcome] = _connector(sleep, total_s=5).apply([CheckAncestry(PROJECT, TAG, TAG)])
    assert (outcome.status, outcome.retry_after_s) == (OutcomeStatus.RETRY, 7.0)
    assert len(http.calls) == 1  # a wait longer than the total is the outbox's: no sleep here
    assert sleep.waits == []


def test_a_dropped_connection_is_transient(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, body=requests.exceptions.ChunkedEncodingError("connection broken"))
    http.get(TAG_URL, json=TAG_JSON)
    assert _connector(sleep).fetch(REF) is not None


def test_credentials_never_show_in_errors_logs_or_repr(
    http: responses.RequestsMock, sleep: FakeSleep, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = _connector(sleep, total_s=0.05)
    http.get(TAG_URL, status=401, json={"message": "401 Unauthorized"})
    with pytest.raises(PermanentError) as refused:
        connector.fetch(REF)
    http.replace(
        responses.GET,
        TAG_URL,
        body=requests.ConnectionError(f"HTTPConnectionPool(host='gitlab.test'): refused for {TOKEN}"),
    )
    with pytest.raises(TransientError) as dropped:
        connector.fetch(REF)
    [outcome] = connector.apply([CheckAncestry(PROJECT, TAG, TAG)])
    texts = [str(refused.value), str(dropped.value), outcome.detail, repr(connector), caplog.text]
    assert "401" in texts[0] and "GitLab refused the token" in texts[0]
    assert "***" in texts[1]
    for text in texts:
        assert TOKEN not in text
        assert "hook-secret-value" not in text


def test_any_other_requests_failure_is_permanent(http: responses.RequestsMock, sleep: FakeSleep) -> None:
    http.get(TAG_URL, body=requests.exceptions.TooManyRedirects("Exceeded 30 redirects."))
    with pytest.raises(PermanentError, match="TooManyRedirects"):
        _connector(sleep).fetch(REF)
    assert len(http.calls) == 1


def test_the_connector_meets_the_protocol(sleep: FakeSleep) -> None:
    connector: Connector = _connector(sleep)  # checked by mypy: structural typing
    assert connector.source is Source.GITLAB


def test_a_connector_needs_a_url() -> None:
    with pytest.raises(ValueError, match=r"gitlab\.url"):
        GitLabConnector(GitLabSettings(), retry=RetryPolicy())
