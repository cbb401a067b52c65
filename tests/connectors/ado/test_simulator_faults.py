"""ADO simulator faults: 429 as ADO rate-limits, 500/503 WrappedExceptions, dropped connections, latency."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation
from msrest.exceptions import ClientRequestError

ITEM_ROUTE = "GET /{org}/{project}/_apis/wit/workItems/{id}"
PATCH_ROUTE = "PATCH /{org}/{project}/_apis/wit/workItems/{id}"


def attempts(ado: Any, route: str) -> int:
    return int(ado.sim.stats.snapshot()["requests"].get(route, 0))


def test_a_blocked_request_is_429_with_adOs_rate_limit_headers_and_tf400733(ado: Any) -> None:
    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 7})
    before = int(time.time())
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/1?api-version=7.1")
    assert reply.status_code == 429
    h = reply.headers
    assert h["Retry-After"] == "7"
    assert h["X-RateLimit-Resource"]
    assert h["X-RateLimit-Delay"] == "7.000"
    assert (h["X-RateLimit-Limit"], h["X-RateLimit-Remaining"]) == ("200", "0")
    assert before + 7 <= int(h["X-RateLimit-Reset"]) <= before + 9
    body = reply.json()
    assert body["typeKey"] == "RequestBlockedException"
    assert body["message"].startswith("TF400733: The request has been canceled")


def test_the_sdk_retries_a_429_get_and_then_raises(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.stats.reset()
    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 0})
    with pytest.raises(AzureDevOpsServiceError, match="TF400733"):
        wit.get_work_item(item["id"], ado.project)
    assert attempts(ado, ITEM_ROUTE) == 4, "msrest retries GET three times"


def test_the_sdk_honours_retry_after_on_a_get(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 1})
    wit.config.retry_policy.retries = 1
    started = time.monotonic()
    with pytest.raises(AzureDevOpsServiceError):
        wit.get_work_item(item["id"], ado.project)
    assert time.monotonic() - started >= 1.0


def test_the_sdk_never_retries_a_patch(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.stats.reset()
    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 0})
    with pytest.raises(AzureDevOpsServiceError, match="TF400733"):
        wit.update_work_item(
            [JsonPatchOperation(op="add", path="/fields/System.State", value="Open")], item["id"], ado.project
        )
    assert attempts(ado, PATCH_ROUTE) == 1
    ado.sim.plan.reset()
    assert ado.sim.get_work_item(item["id"])["rev"] == 1


@pytest.mark.parametrize(
    ("status", "type_key"), [(500, "VssServiceException"), (503, "ServiceUnavailableException")]
)
def test_server_errors_carry_a_wrapped_exception(ado: Any, status: int, type_key: str) -> None:
    ado.sim.plan.configure({f"rate_{status}": 1.0})
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/1?api-version=7.1")
    assert reply.status_code == status
    body = reply.json()
    assert body["typeKey"] == type_key
    assert body["message"].startswith("TF400898") and "Activity Id" in body["message"]


def test_the_sdk_retries_a_503_get_four_times(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.stats.reset()
    ado.sim.plan.configure({"rate_503": 1.0})
    with pytest.raises(ClientRequestError):
        wit.get_work_item(item["id"], ado.project)
    assert attempts(ado, ITEM_ROUTE) == 4


def test_a_503_patch_fails_at_once(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.stats.reset()
    ado.sim.plan.configure({"rate_503": 1.0})
    with pytest.raises(AzureDevOpsServiceError, match="TF400898"):
        wit.update_work_item(
            [JsonPatchOperation(op="add", path="/fields/System.State", value="Open")], item["id"], ado.project
        )
    assert attempts(ado, PATCH_ROUTE) == 1


def test_a_dropped_connection_is_a_broken_read(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.plan.configure({"rate_drop": 1.0})
    with pytest.raises(requests.exceptions.RequestException):
        ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}?api-version=7.1")
    with pytest.raises((ClientRequestError, requests.exceptions.RequestException)):
        wit.get_work_item(item["id"], ado.project)


def test_latency_delays_every_api_request(ado: Any) -> None:
    ado.sim.plan.configure({"latency_ms": 150})
    started = time.monotonic()
    ado.session().get(f"{ado.org_url}/_apis/ResourceAreas?api-version=7.1-preview.1")
    assert time.monotonic() - started >= 0.15


def test_faults_are_set_over_http_and_cleared(ado: Any) -> None:
    assert requests.post(f"{ado.url}/_sim/faults", json={"rate_503": 1}).status_code == 200
    assert ado.session().get(f"{ado.org_url}/_apis/ResourceAreas?api-version=7.1").status_code == 503
    requests.delete(f"{ado.url}/_sim/faults")
    assert ado.session().get(f"{ado.org_url}/_apis/ResourceAreas?api-version=7.1").status_code == 200


def test_seeded_faults_hit_the_same_requests_each_run(ado: Any) -> None:
    def run() -> list[int]:
        ado.sim.plan.configure({"rate_429": 0.3, "rate_500": 0.2, "seed": 11})
        return [
            ado.session().get(f"{ado.org_url}/_apis/ResourceAreas?api-version=7.1").status_code
            for _ in range(20)
        ]

    first = run()
    assert first == run()
    assert {200, 429, 500} <= set(first)


def test_the_sdk_never_retries_a_post(ado: Any, wit: Any) -> None:
    from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql

    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 0})
    with pytest.raises(AzureDevOpsServiceError, match="TF400733"):
        wit.query_by_wiql(
            Wiql(query="SELECT [System.Id] FROM WorkItems"), team_context=TeamContext(project="x")
        )
    assert attempts(ado, "POST /{org}/{project}/{team}/_apis/wit/wiql") == 1
