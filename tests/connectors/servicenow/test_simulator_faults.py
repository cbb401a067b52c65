"""Faults as ServiceNow shows them: 429 with rate-limit headers, 500/503 failures, drops, latency."""

from __future__ import annotations

import re
import time
from typing import Any

import ijson  # type: ignore[import-untyped]  # pysnow parses streams with it; it ships no types
import pytest
import requests


def _faults(instance: Any, **values: Any) -> None:
    reply = requests.post(f"{instance.url}/_sim/faults", json=values)
    assert reply.status_code == 200, reply.text


def test_429_has_retry_after_and_the_rate_limit_headers_and_body(instance: Any, snow_fixture: Any) -> None:
    _faults(instance, rate_429=1, retry_after_s=7)
    before = int(time.time())
    reply = requests.get(instance.api("/table/change_request"), auth=instance.auth)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "7"
    assert reply.headers["X-RateLimit-Limit"] == "100"
    assert before + 7 <= int(reply.headers["X-RateLimit-Reset"]) <= int(time.time()) + 7
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["X-RateLimit-Rule"])
    assert reply.json() == snow_fixture("error_429_rate_limited.json")


def test_pysnow_never_retries_a_429(instance: Any) -> None:
    _faults(instance, rate_429=1)
    instance.sim.stats.reset()
    with pytest.raises(requests.exceptions.HTTPError) as raised:
        instance.changes().get(query="state=-1").all()
    assert raised.value.response.status_code == 429
    assert instance.sim.stats.snapshot()["total"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_use_the_failure_shape(instance: Any, status: int) -> None:
    _faults(instance, **{f"rate_{status}": 1})
    with pytest.raises(requests.exceptions.HTTPError) as raised:
        instance.changes().create(payload={"short_description": "x"}).one()
    reply = raised.value.response
    assert reply.status_code == status
    body = reply.json()
    assert body["status"] == "failure" and set(body["error"]) == {"message", "detail"}
    assert instance.sim.save()["tables"]["change_request"] == [], "a faulted write does not happen"


def test_a_dropped_connection_reaches_pysnow_as_a_connection_error(instance: Any) -> None:
    _faults(instance, rate_drop=1)
    with pytest.raises(requests.exceptions.RequestException):
        instance.changes().get().all()


def test_latency_delays_every_api_request_but_not_the_controls(instance: Any) -> None:
    _faults(instance, latency_ms=150)
    started = time.monotonic()
    instance.changes().get().all()
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    requests.get(f"{instance.url}/_sim/stats")
    assert time.monotonic() - started < 0.15


def test_faults_can_be_cleared_and_seeded_runs_repeat(instance: Any) -> None:
    def run() -> list[int]:
        requests.delete(f"{instance.url}/_sim/faults")
        _faults(instance, rate_429=0.3, rate_503=0.2, seed=11)
        return [
            requests.get(instance.api("/table/change_request"), auth=instance.auth).status_code
            for _ in range(20)
        ]

    first = run()
    assert first == run()
    assert {200, 429, 503} <= set(first)
    requests.delete(f"{instance.url}/_sim/faults")
    assert requests.get(instance.api("/table/change_request"), auth=instance.auth).status_code == 200


def test_stats_count_requests_by_route(instance: Any) -> None:
    record = instance.changes().create(payload={}).one()
    instance.changes().update(query={"sys_id": record["sys_id"]}, payload={"state": "-4"})
    requests.patch(instance.api(f"/table/change_request/{record['sys_id']}"), json={}, auth=instance.auth)
    stats = requests.get(f"{instance.url}/_sim/stats").json()
    assert stats["requests"] == {
        "GET /api/now/table/{table}": 1,
        "PATCH /api/now/table/{table}/{sys_id}": 1,
        "POST /api/now/table/{table}": 1,
        "PUT /api/now/table/{table}/{sys_id}": 1,
    }


def test_a_hibernating_instance_answers_200_with_a_page_pysnow_cannot_read(instance: Any) -> None:
    reply = requests.post(f"{instance.url}/_sim/hibernate", json={"hibernating": True})
    assert reply.json() == {"hibernating": True}
    page = requests.get(instance.api("/table/change_request"), auth=instance.auth)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        instance.changes().get().all()
    with pytest.raises(ijson.JSONError, match="Unexpected symbol"):
        list(instance.changes().get(stream=True).all())
    instance.sim.set_hibernating(False)
    assert instance.changes().get().all() == []
    assert requests.post(f"{instance.url}/_sim/hibernate", json={}).status_code == 400
