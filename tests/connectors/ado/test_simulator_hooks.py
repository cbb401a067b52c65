"""ADO simulator: service hook deliveries (`workitem.created`, `.updated`) against recorded examples."""

from __future__ import annotations

import re
from typing import Any

import pytest
from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
HOOK_USER = ("bridge-hooks", "s3cret-hook-password")


def same_shape(expected: Any, actual: Any, where: str = "$") -> None:
    """Every key of the recorded example is present with a value of the same JSON type."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key!r}"
            same_shape(value, actual[key], f"{where}.{key}")
    else:
        assert type(actual) is type(expected), (
            f"{where}: {type(actual).__name__} is not {type(expected).__name__}"
        )


def resource_links_html(payload: dict[str, Any]) -> str:
    return str(payload["resource"]["_links"]["html"]["href"])


def deliveries(ado: Any, receiver: Any, event_type: str) -> list[dict[str, Any]]:
    ado.sim.webhooks.flush()
    bodies: list[dict[str, Any]] = receiver.bodies(event_type)
    return bodies


def test_workitem_created_matches_the_recorded_example(ado: Any, receiver: Any, recorded: Any) -> None:
    sub = ado.sim.add_subscription("workitem.created", receiver.url, basic_auth=HOOK_USER)
    item = ado.sim.create_work_item(
        {"System.Title": "Null ref on save", "Microsoft.VSTS.Common.Severity": "2 - High"}, by="Pat Tester"
    )
    [payload] = deliveries(ado, receiver, "workitem.created")
    example = recorded("workitem.created.json")
    assert set(payload) == set(example)
    same_shape(example, payload)
    assert payload["subscriptionId"] == sub["id"]
    assert payload["notificationId"] == 1
    assert GUID.match(payload["id"])
    assert (payload["eventType"], payload["publisherId"], payload["resourceVersion"]) == (
        "workitem.created",
        "tfs",
        "1.0",
    )
    page = f"{ado.org_url}/web/wi.aspx?pcguid={ado.sim.model.collection_id}&id={item['id']}"
    assert (
        payload["message"]["text"]
        == f"Defect #{item['id']} (Null ref on save) created by Pat Tester\r\n({page})"
    )
    assert (
        payload["message"]["markdown"]
        == f"[Defect #{item['id']}]({page}) (Null ref on save) created by Pat Tester"
    )
    assert (
        resource_links_html(payload)
        == f"{ado.org_url}/{ado.sim.model.project_id}/_workitems/edit/{item['id']}"
    )
    resource = payload["resource"]
    assert (resource["id"], resource["rev"]) == (item["id"], 1)
    assert resource["url"] == item["url"]
    fields = resource["fields"]
    assert fields["System.State"] == "New" and fields["System.Title"] == "Null ref on save"
    assert fields["System.CreatedBy"] == "Pat Tester <pat.tester@mhhs.example>", (
        "1.0 payloads use identity strings"
    )
    assert ISO_UTC.match(fields["System.CreatedDate"]) and ISO_UTC.match(payload["createdDate"])
    project = payload["resourceContainers"]["project"]
    assert project == {"id": ado.sim.model.project_id, "baseUrl": f"{ado.org_url}/"}


def test_workitem_updated_matches_the_recorded_example(ado: Any, receiver: Any, recorded: Any) -> None:
    ado.sim.add_subscription("workitem.updated", receiver.url, basic_auth=HOOK_USER)
    item = ado.sim.create_work_item({"System.Title": "Rounding error"}, by="Sam Analyst")
    ado.sim.update_work_item(item["id"], {"System.State": "In Progress"}, by="Pat Tester")
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"}, by="Pat Tester")
    first, second = deliveries(ado, receiver, "workitem.updated")
    example = recorded("workitem.updated.json")
    assert set(second) == set(example)
    same_shape(example, second)
    assert [first["notificationId"], second["notificationId"]] == [1, 2]
    resource = second["resource"]
    assert set(resource) == set(example["resource"])
    assert resource["id"] == 3, "the id of an update is the update number, not the work item id"
    assert resource["workItemId"] == item["id"] and resource["rev"] == 3
    assert resource["revisedDate"] == "9999-01-01T00:00:00Z"
    assert resource["revisedBy"]["displayName"] == "Pat Tester"
    assert resource["revisedBy"]["name"] == "Pat Tester <pat.tester@mhhs.example>"
    assert resource["fields"]["System.State"] == {"oldValue": "In Progress", "newValue": "Fixed"}
    assert resource["fields"]["System.Rev"] == {"oldValue": 2, "newValue": 3}
    assert resource["fields"]["System.RevisedDate"]["newValue"] == "9999-01-01T00:00:00Z"
    assert "System.Title" not in resource["fields"], "only changed fields are listed"
    assert resource["url"].endswith(f"/_apis/wit/workItems/{item['id']}/updates/3")
    assert resource["_links"]["parent"]["href"] == item["url"]
    revision = resource["revision"]
    assert (revision["id"], revision["rev"]) == (item["id"], 3)
    assert revision["fields"]["System.State"] == "Fixed"
    assert revision["fields"]["System.CreatedBy"] == "Sam Analyst <sam.analyst@mhhs.example>"
    assert revision["url"].endswith(f"/workItems/{item['id']}/revisions/3")
    assert second["message"]["text"].startswith(
        f"Defect #{item['id']} (Rounding error) transitioned to Fixed by Pat"
    )
    assert second["detailedMessage"]["text"].endswith("- New State: Fixed\r\n")
    assert second["detailedMessage"]["html"].endswith("<ul>\r\n<li>New State: Fixed</li></ul>")
    assert "System.Id" not in revision["fields"] and "System.Rev" not in revision["fields"]
    assert revision["_links"]["parent"]["href"] == item["url"]


def test_an_sdk_update_is_announced_with_the_history_and_new_relation(
    ado: Any, wit: Any, receiver: Any
) -> None:
    ado.sim.add_subscription("workitem.updated", receiver.url)
    item = ado.sim.create_work_item({"System.Title": "t"}, by="Pat Tester")
    wit.update_work_item(
        [
            JsonPatchOperation(op="test", path="/rev", value=1),
            JsonPatchOperation(op="add", path="/fields/System.History", value="Deployed to SIT-A"),
            JsonPatchOperation(
                op="add", path="/relations/-", value={"rel": "Hyperlink", "url": "https://g.example/t"}
            ),
        ],
        item["id"],
        ado.project,
    )
    [payload] = deliveries(ado, receiver, "workitem.updated")
    resource = payload["resource"]
    assert resource["fields"]["System.History"] == {"newValue": "Deployed to SIT-A"}
    assert (
        resource["fields"]["System.ChangedBy"]["newValue"] == "Release Bridge <release.bridge@mhhs.example>"
    )
    assert resource["relations"] == {
        "added": [{"rel": "Hyperlink", "url": "https://g.example/t", "attributes": {"comment": ""}}]
    }


def test_basic_auth_and_custom_headers_reach_the_receiver(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription(
        "workitem.created", receiver.url, basic_auth=HOOK_USER, headers={"X-Bridge-Source": "ado-sim"}
    )
    ado.defect()
    ado.sim.webhooks.flush()
    [got] = receiver.received
    assert got.auth == HOOK_USER
    assert got.headers["x-bridge-source"] == "ado-sim"
    assert got.headers["content-type"].startswith("application/json")
    assert "x-hub-signature" not in got.headers and "x-vss-signature" not in got.headers, "ADO signs nothing"


def test_subscription_filters_on_type_area_and_changed_fields(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription(
        "workitem.updated",
        receiver.url,
        publisher_inputs={"changedFields": "System.State", "workItemType": "Defect"},
    )
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.Title": "renamed"})
    ado.sim.update_work_item(item["id"], {"System.State": "Open"})
    assert [p["resource"]["rev"] for p in deliveries(ado, receiver, "workitem.updated")] == [3]


def test_an_area_path_filter_matches_the_path_and_below(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription(
        "workitem.created", receiver.url, publisher_inputs={"areaPath": "Programme\\Payments"}
    )
    ado.defect("elsewhere")
    ado.defect("here", **{"System.AreaPath": "Programme\\Payments\\Cards"})
    titles = [p["resource"]["fields"]["System.Title"] for p in deliveries(ado, receiver, "workitem.created")]
    assert titles == ["here"]


def test_subscriptions_over_rest_deliver_and_mask_the_password(ado: Any, receiver: Any) -> None:
    body = {
        "publisherId": "tfs",
        "eventType": "workitem.updated",
        "resourceVersion": "1.0",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "publisherInputs": {"projectId": ado.sim.model.project_id},
        "consumerInputs": {
            "url": receiver.url,
            "basicAuthUsername": HOOK_USER[0],
            "basicAuthPassword": HOOK_USER[1],
            "httpHeaders": "X-One:1\nX-Two:2",
        },
    }
    url = f"{ado.org_url}/_apis/hooks/subscriptions?api-version=7.1"
    created = ado.session().post(url, json=body)
    assert created.status_code == 200
    sub = created.json()
    assert sub["status"] == "enabled" and sub["consumerInputs"]["basicAuthPassword"] == "********"
    listed = ado.session().get(url).json()
    assert [s["id"] for s in listed["value"]] == [sub["id"]]
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Open"})
    ado.sim.webhooks.flush()
    [got] = receiver.received
    assert got.auth == HOOK_USER and (got.headers["x-one"], got.headers["x-two"]) == ("1", "2")
    one = f"{ado.org_url}/_apis/hooks/subscriptions/{sub['id']}?api-version=7.1"
    assert ado.session().delete(one).status_code == 204
    assert ado.session().get(one).status_code == 404


def test_an_unknown_event_type_is_refused(ado: Any, receiver: Any) -> None:
    with pytest.raises(ValueError, match=r"git\.push"):
        ado.sim.add_subscription("git.push", receiver.url)


def test_webhook_faults_drop_and_duplicate_deliveries(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription("workitem.created", receiver.url)
    ado.sim.plan.configure({"webhook_fail_rate": 0.3, "webhook_duplicate_rate": 0.3, "seed": 5})
    ids = [ado.defect(f"d{n}")["id"] for n in range(20)]
    ado.sim.webhooks.flush()
    outcomes = [r["outcome"] for r in ado.sim.webhooks.log()]
    assert "dropped" in outcomes and "duplicate" in outcomes
    got = [p["resource"]["id"] for p in receiver.bodies()]
    assert len(got) == outcomes.count("sent") + outcomes.count("duplicate")
    assert set(got) < set(ids)
    duplicates = [p for p in receiver.bodies() if got.count(p["resource"]["id"]) > 1]
    assert duplicates and len({p["id"] for p in duplicates}) < len(duplicates), (
        "a duplicate repeats the event id"
    )


def test_deliveries_are_listed_under_sim_webhooks(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription("workitem.created", receiver.url, basic_auth=HOOK_USER)
    ado.defect()
    ado.sim.webhooks.flush()
    log = ado.session().get(f"{ado.url}/_sim/webhooks").json()["deliveries"]
    assert [(d["event"], d["status"], d["outcome"]) for d in log] == [("workitem.created", 200, "sent")]


def test_a_reordered_delivery_arrives_after_a_later_one(ado: Any, receiver: Any) -> None:
    ado.sim.add_subscription("workitem.created", receiver.url)
    ado.sim.plan.configure({"webhook_reorder_rate": 0.4, "seed": 2})
    for n in range(10):
        ado.defect(f"d{n}")
    ado.sim.webhooks.flush()
    got = [p["resource"]["id"] for p in receiver.bodies()]
    assert sorted(got) == list(range(1, 11))
    assert got != sorted(got)


def test_workitem_commented_matches_the_recorded_example(
    ado: Any, wit: Any, receiver: Any, recorded: Any
) -> None:
    ado.sim.add_subscription("workitem.commented", receiver.url)
    ado.sim.add_subscription("workitem.updated", receiver.url)
    item = ado.sim.create_work_item({"System.Title": "Null ref on save"}, by="Pat Tester")
    ado.sim.add_comment(item["id"], "Retest in SIT-A please", by="Pat Tester")
    [payload] = deliveries(ado, receiver, "workitem.commented")
    example = recorded("workitem.commented.json")
    assert set(payload) == set(example)
    same_shape(example, payload)
    resource = payload["resource"]
    assert (resource["id"], resource["rev"]) == (item["id"], 2)
    assert resource["fields"]["System.History"] == "Retest in SIT-A please"
    assert resource["fields"]["System.CommentCount"] == 1
    assert resource["commentVersionRef"]["version"] == 1
    assert payload["detailedMessage"]["text"].endswith("- Retest in SIT-A please\r\n")
    assert [p["resource"]["rev"] for p in deliveries(ado, receiver, "workitem.updated")] == [2]
