"""ADO simulator contract: the work item `$batch` endpoint, which the Python SDK does not wrap."""

from __future__ import annotations

import json
from typing import Any

import pytest

MAX = 200


def update_request(item_id: int, state: str, *, rev: int | None = None) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    if rev is not None:
        ops.append({"op": "test", "path": "/rev", "value": rev})
    ops.append({"op": "add", "path": "/fields/System.State", "value": state})
    return {
        "method": "PATCH",
        "uri": f"/_apis/wit/workitems/{item_id}?api-version=4.1",
        "headers": {"Content-Type": "application/json-patch+json"},
        "body": ops,
    }


def post_batch(ado: Any, requests_: list[dict[str, Any]], method: str = "PATCH") -> Any:
    return ado.session().request(
        method,
        f"{ado.org_url}/_apis/wit/$batch?api-version=5.0",
        json=requests_,
        headers={"Content-Type": "application/json"},
    )


def test_450_updates_in_chunks_of_200_200_50(ado: Any) -> None:
    ids = [
        ado.sim.create_work_item({"System.Title": f"d{n}", "System.State": "Fixed"})["id"] for n in range(450)
    ]
    requests_ = [update_request(i, "Ready for Retest", rev=1) for i in ids]
    sizes, codes = [], []
    for start in range(0, len(requests_), MAX):
        chunk = requests_[start : start + MAX]
        reply = post_batch(ado, chunk)
        assert reply.status_code == 200
        body = reply.json()
        sizes.append(body["count"])
        codes += [item["code"] for item in body["value"]]
    assert sizes == [200, 200, 50]
    assert codes == [200] * 450
    assert {ado.sim.get_work_item(i)["fields"]["System.State"] for i in ids} == {"Ready for Retest"}


def test_items_succeed_or_fail_on_their_own_and_bodies_are_json_strings(ado: Any) -> None:
    a = ado.sim.create_work_item({"System.Title": "a"})["id"]
    b = ado.sim.create_work_item({"System.Title": "b"})["id"]
    c = ado.sim.create_work_item({"System.Title": "c"})["id"]
    ado.sim.update_work_item(b, {"System.State": "Open"})  # b is now at rev 2
    reply = post_batch(
        ado,
        [
            update_request(a, "Fixed", rev=1),
            update_request(b, "Fixed", rev=1),  # stale
            update_request(c, "Bogus"),  # not a state
            update_request(9999, "Fixed"),  # missing
            {
                "method": "PATCH",
                "uri": f"/{ado.project}/_apis/wit/workitems/$Defect?api-version=4.1",
                "headers": {"Content-Type": "application/json-patch+json"},
                "body": [{"op": "add", "path": "/fields/System.Title", "value": "created in a batch"}],
            },
        ],
    )
    assert reply.status_code == 200
    value = reply.json()["value"]
    assert [v["code"] for v in value] == [200, 412, 400, 404, 200]
    assert all(isinstance(v["body"], str) for v in value)
    bodies = [json.loads(v["body"]) for v in value]
    assert bodies[0]["fields"]["System.State"] == "Fixed"
    assert bodies[1]["typeKey"] == "TestPatchOperationFailedException"
    assert bodies[2]["message"].startswith("TF401320")
    assert bodies[3]["message"].startswith("TF401232")
    assert bodies[4]["fields"]["System.Title"] == "created in a batch"
    assert value[0]["headers"]["Content-Type"].startswith("application/json")
    assert ado.sim.get_work_item(b)["fields"]["System.State"] == "Open"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_both_verbs_are_accepted(ado: Any, method: str) -> None:
    item = ado.sim.create_work_item({"System.Title": "a"})["id"]
    reply = post_batch(ado, [update_request(item, "Open")], method=method)
    assert reply.json()["value"][0]["code"] == 200


def test_more_than_200_requests_are_refused_whole(ado: Any) -> None:
    reply = post_batch(ado, [update_request(1, "Open")] * 201)
    assert reply.status_code == 400
    assert "200" in reply.json()["message"]


def test_a_batch_that_is_not_a_list_is_refused(ado: Any) -> None:
    reply = post_batch(ado, {"method": "PATCH"})  # type: ignore[arg-type]
    assert reply.status_code == 400
    assert reply.json()["typeKey"] == "InvalidBatchWorkItemUpdateJsonException"
