"""ADO simulator contract: work items through the official SDK (create, get, list, batch, update, history)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation, WorkItemBatchGetRequest

from connectors.ado.simulator.wiql import parse_datetime

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
IDENTITY_KEYS = {"displayName", "url", "_links", "id", "uniqueName", "imageUrl", "descriptor"}


def op(kind: str, path: str, value: object = None) -> JsonPatchOperation:
    return JsonPatchOperation(op=kind, path=path, value=value)


def create(wit: Any, project: str, title: str = "Rounding error", **fields: object) -> Any:
    doc = [op("add", "/fields/System.Title", title)]
    doc += [op("add", f"/fields/{name}", value) for name, value in fields.items()]
    return wit.create_work_item(doc, project, "Defect")


def error_of(exc: pytest.ExceptionInfo[AzureDevOpsServiceError]) -> Any:
    return exc.value.inner_exception if hasattr(exc.value, "inner_exception") else exc.value


# --- create and the system fields ------------------------------------------------------------------


def test_create_sets_the_system_fields_like_ado(ado: Any, wit: Any) -> None:
    item = create(wit, ado.project, **{"Microsoft.VSTS.Common.Severity": "2 - High"})
    f = item.fields
    assert (item.id, item.rev) == (1, 1)
    assert "System.Id" not in f and "System.Rev" not in f, "bookkeeping fields need $expand=fields|all"
    full = wit.get_work_item(item.id, ado.project, expand="Fields").fields
    assert (full["System.Id"], full["System.Rev"], full["System.Watermark"]) == (1, 1, 1)
    assert f["System.WorkItemType"] == "Defect"
    assert f["System.TeamProject"] == ado.project
    assert f["System.AreaPath"] == ado.project and f["System.IterationPath"] == ado.project
    assert (f["System.State"], f["System.Reason"]) == ("New", "New defect reported")
    assert f["Microsoft.VSTS.Common.Severity"] == "2 - High"
    assert ISO_UTC.match(f["System.CreatedDate"]) and f["System.CreatedDate"] == f["System.ChangedDate"]
    assert set(f["System.ChangedBy"]) == IDENTITY_KEYS
    assert f["System.CreatedBy"]["uniqueName"] == "release.bridge@mhhs.example"
    assert item.url == f"{ado.org_url}/{ado.sim.model.project_id}/_apis/wit/workItems/1"
    raw = ado.session().get(f"{item.url}?api-version=7.1").json()
    assert set(raw["_links"]) >= {"self", "workItemUpdates", "workItemRevisions", "workItemComments", "html"}


def test_create_uses_the_default_severity_of_the_process(ado: Any, wit: Any) -> None:
    assert create(wit, ado.project).fields["Microsoft.VSTS.Common.Severity"] == "3 - Medium"


def test_create_without_a_title_is_a_rule_error(ado: Any, wit: Any) -> None:
    with pytest.raises(
        AzureDevOpsServiceError, match=r"TF401320: Rule Error for field Title\. Error code: Required"
    ):
        wit.create_work_item([op("add", "/fields/System.Description", "no title")], ado.project, "Defect")


def test_create_of_an_unknown_type_is_404(ado: Any) -> None:
    reply = ado.session().post(
        f"{ado.org_url}/{ado.project}/_apis/wit/workitems/$Epic?api-version=7.1",
        json=[{"op": "add", "path": "/fields/System.Title", "value": "x"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert reply.status_code == 404
    assert reply.json()["typeKey"] == "WorkItemTypeNotFoundException"


def test_validate_only_stores_nothing(ado: Any, wit: Any) -> None:
    draft = wit.create_work_item(
        [op("add", "/fields/System.Title", "t")], ado.project, "Defect", validate_only=True
    )
    assert draft.fields["System.Title"] == "t"
    assert ado.sim.model.ids() == []


# --- get, list, batch ------------------------------------------------------------------------------


def test_get_expands_relations_only_when_asked(ado: Any, wit: Any) -> None:
    item = ado.sim.create_work_item({"System.Title": "t"})
    ado.sim.model.update(
        item["id"],
        [{"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://x.example"}}],
    )
    assert wit.get_work_item(item["id"], ado.project).relations is None
    assert len(wit.get_work_item(item["id"], ado.project, expand="Relations").relations) == 1
    everything = wit.get_work_item(item["id"], ado.project, expand="All")
    assert everything.relations[0].url == "https://x.example" and everything._links is not None


def test_get_with_fields_returns_only_those(ado: Any, wit: Any) -> None:
    item = ado.defect()
    got = wit.get_work_item(item["id"], ado.project, fields=["System.State", "System.Title"])
    assert set(got.fields) == {"System.State", "System.Title"}
    assert got._links is None


def test_fields_with_expand_is_refused_as_ado_does(ado: Any) -> None:
    item = ado.defect()
    reply = ado.session().get(
        f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}",
        params={"fields": "System.State", "$expand": "relations", "api-version": "7.1"},
    )
    assert reply.status_code == 400
    assert reply.json()["typeKey"] == "ConflictingParametersException"


def test_as_of_returns_the_revision_in_force_then(ado: Any, wit: Any) -> None:
    item = ado.defect()
    first_changed = item["fields"]["System.ChangedDate"]
    ado.sim.update_work_item(item["id"], {"System.State": "Open"})
    old = wit.get_work_item(item["id"], ado.project, as_of=first_changed)
    assert (old.rev, old.fields["System.State"]) == (1, "New")
    assert wit.get_work_item(item["id"], ado.project).fields["System.State"] == "Open"


def test_a_missing_work_item_is_404_with_ados_body(ado: Any, wit: Any) -> None:
    with pytest.raises(AzureDevOpsServiceError, match="TF401232: Work item 404 does not exist"):
        wit.get_work_item(404, ado.project)
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/404?api-version=7.1")
    body = reply.json()
    assert reply.status_code == 404
    assert body["typeKey"] == "WorkItemUnauthorizedAccessException"
    assert set(body) == {"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}


def test_list_by_ids_keeps_the_order_asked(ado: Any, wit: Any) -> None:
    ids = [ado.defect(f"d{n}")["id"] for n in range(3)]
    got = wit.get_work_items([ids[2], ids[0]], ado.project, fields=["System.Title"])
    assert [(w.id, w.fields["System.Title"]) for w in got] == [(ids[2], "d2"), (ids[0], "d0")]


def test_list_with_error_policy_omit_leaves_nulls(ado: Any, wit: Any) -> None:
    item = ado.defect()
    got = wit.get_work_items([item["id"], 999], ado.project, error_policy="Omit")
    assert got[0].id == item["id"] and got[1] is None
    with pytest.raises(AzureDevOpsServiceError, match="TF401232"):
        wit.get_work_items([item["id"], 999], ado.project)


def test_batch_get_with_fields_and_expand(ado: Any, wit: Any) -> None:
    ids = [ado.defect(f"d{n}")["id"] for n in range(5)]
    got = wit.get_work_items_batch(
        WorkItemBatchGetRequest(ids=ids, fields=["System.Id", "System.State"], error_policy="omit"),
        ado.project,
    )
    assert [w.id for w in got] == ids
    assert all(set(w.fields) == {"System.Id", "System.State"} for w in got)
    expanded = wit.get_work_items_batch(WorkItemBatchGetRequest(ids=ids[:1], expand="relations"), ado.project)
    assert expanded[0].relations == []


def test_batch_get_refuses_more_than_200_ids(ado: Any, wit: Any) -> None:
    with pytest.raises(AzureDevOpsServiceError, match="200"):
        wit.get_work_items_batch(WorkItemBatchGetRequest(ids=list(range(1, 202))), ado.project)


# --- update ----------------------------------------------------------------------------------------


def test_update_with_a_current_rev_test_moves_the_state_and_adds_history_and_link(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"})
    doc = [
        op("test", "/rev", 2),
        op("replace", "/fields/System.State", "Ready for Retest"),
        op("add", "/fields/System.History", "Deployed in v2.4.0 (CHG0030001)"),
        op(
            "add",
            "/relations/-",
            {
                "rel": "Hyperlink",
                "url": "https://gitlab.example/p/-/tags/v2.4.0",
                "attributes": {"comment": "GitLab"},
            },
        ),
    ]
    updated = wit.update_work_item(doc, item["id"], ado.project, expand="Relations")
    assert updated.rev == 3
    assert updated.fields["System.State"] == "Ready for Retest"
    assert updated.fields["System.Reason"] == "Moved to state Ready for Retest"
    assert updated.fields["System.ChangedBy"]["uniqueName"] == "release.bridge@mhhs.example"
    assert parse_datetime(updated.fields["System.ChangedDate"]) > parse_datetime(
        item["fields"]["System.ChangedDate"]
    )
    assert updated.fields["System.CommentCount"] == 1
    assert [(r.rel, r.url, r.attributes) for r in updated.relations] == [
        ("Hyperlink", "https://gitlab.example/p/-/tags/v2.4.0", {"comment": "GitLab"})
    ]
    comments = wit.get_comments(ado.project, item["id"])
    assert [c.text for c in comments.comments] == ["Deployed in v2.4.0 (CHG0030001)"]


def test_a_stale_rev_test_is_412_and_changes_nothing(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"}, by="Pat Tester")
    with pytest.raises(AzureDevOpsServiceError, match=r"VS403351: Test Operation for path /rev failed"):
        wit.update_work_item(
            [op("test", "/rev", 1), op("add", "/fields/System.State", "Ready for Retest")],
            item["id"],
            ado.project,
        )
    reply = ado.session().patch(
        f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}?api-version=7.1",
        json=[
            {"op": "test", "path": "/rev", "value": 1},
            {"op": "add", "path": "/fields/System.State", "value": "Open"},
        ],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert reply.status_code == 412
    assert reply.json()["typeKey"] == "TestPatchOperationFailedException"
    assert ado.sim.get_work_item(item["id"])["fields"]["System.State"] == "Fixed"


def test_a_state_outside_the_process_is_400_tf401320_naming_the_field(ado: Any, wit: Any) -> None:
    item = ado.defect()
    with pytest.raises(AzureDevOpsServiceError) as raised:
        wit.update_work_item([op("add", "/fields/System.State", "Resolved")], item["id"], ado.project)
    assert str(raised.value).startswith("TF401320: Rule Error for field State. Error code:")
    reply = ado.session().patch(
        f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}?api-version=7.1",
        json=[{"op": "add", "path": "/fields/System.State", "value": "Resolved"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    body = reply.json()
    assert reply.status_code == 400 and body["typeKey"] == "RuleValidationException"
    assert body["customProperties"]["RuleValidationErrors"][0]["fieldReferenceName"] == "System.State"
    assert "InvalidListValue" in body["message"]


def test_a_severity_outside_the_allowed_values_is_a_rule_error(ado: Any, wit: Any) -> None:
    item = ado.defect()
    with pytest.raises(AzureDevOpsServiceError, match="TF401320: Rule Error for field Severity"):
        wit.update_work_item(
            [op("add", "/fields/Microsoft.VSTS.Common.Severity", "5 - Trivial")], item["id"], ado.project
        )


def test_state_names_are_matched_without_case_and_stored_as_defined(ado: Any, wit: Any) -> None:
    item = ado.defect()
    got = wit.update_work_item(
        [op("add", "/fields/System.State", "ready for retest")], item["id"], ado.project
    )
    assert got.fields["System.State"] == "Ready for Retest"


def test_remove_and_replace_and_test_on_fields(ado: Any, wit: Any) -> None:
    item = ado.defect(**{"System.Tags": "retest; sit-a"})
    got = wit.update_work_item(
        [
            op("test", "/fields/System.Title", "Null reference on save"),
            op("remove", "/fields/System.Tags"),
            op("replace", "/fields/System.Title", "Null reference on save (SIT-A)"),
        ],
        item["id"],
        ado.project,
    )
    assert "System.Tags" not in got.fields
    assert got.fields["System.Title"] == "Null reference on save (SIT-A)"
    with pytest.raises(AzureDevOpsServiceError, match="VS403351"):
        wit.update_work_item([op("test", "/fields/System.Title", "old title")], item["id"], ado.project)


def test_read_only_and_unknown_fields_are_refused(ado: Any, wit: Any) -> None:
    item = ado.defect()
    with pytest.raises(AzureDevOpsServiceError, match="TF401326"):
        wit.update_work_item([op("add", "/fields/System.Rev", 9)], item["id"], ado.project)
    with pytest.raises(AzureDevOpsServiceError, match=r"TF51535: Cannot find field Custom\.Nope"):
        wit.update_work_item([op("add", "/fields/Custom.Nope", 1)], item["id"], ado.project)


def test_an_identity_field_is_stored_as_an_identity_ref(ado: Any, wit: Any) -> None:
    item = ado.defect()
    got = wit.update_work_item(
        [op("add", "/fields/System.AssignedTo", "Pat Tester <pat@mhhs.example>")], item["id"], ado.project
    )
    assert got.fields["System.AssignedTo"]["displayName"] == "Pat Tester"
    assert got.fields["System.AssignedTo"]["uniqueName"] == "pat@mhhs.example"


def test_a_duplicate_hyperlink_is_refused(ado: Any, wit: Any) -> None:
    item = ado.defect()
    link = {"rel": "Hyperlink", "url": "https://gitlab.example/r/1", "attributes": {"comment": "release"}}
    wit.update_work_item([op("add", "/relations/-", link)], item["id"], ado.project)
    with pytest.raises(AzureDevOpsServiceError, match="Relation already exists"):
        wit.update_work_item([op("add", "/relations/-", link)], item["id"], ado.project)
    assert ado.sim.get_work_item(item["id"])["rev"] == 2


def test_a_relation_can_be_removed_by_index(ado: Any, wit: Any) -> None:
    item = ado.defect()
    wit.update_work_item(
        [op("add", "/relations/-", {"rel": "Hyperlink", "url": "https://a.example"})], item["id"], ado.project
    )
    got = wit.update_work_item([op("remove", "/relations/0")], item["id"], ado.project, expand="Relations")
    assert got.relations == []


def test_patching_a_top_level_property_is_refused(ado: Any, wit: Any) -> None:
    item = ado.defect()
    with pytest.raises(AzureDevOpsServiceError, match="does not support patching the top level property"):
        wit.update_work_item([op("add", "/relations", [])], item["id"], ado.project)


def test_an_update_that_changes_nothing_makes_no_revision(ado: Any, wit: Any) -> None:
    item = ado.defect()
    got = wit.update_work_item(
        [op("add", "/fields/System.Title", item["fields"]["System.Title"])], item["id"], ado.project
    )
    assert got.rev == 1


# --- revisions, updates, comments ------------------------------------------------------------------


def test_revisions_are_full_snapshots(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Open"})
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"})
    revisions = wit.get_revisions(item["id"], ado.project)
    assert [(r.rev, r.fields["System.State"]) for r in revisions] == [(1, "New"), (2, "Open"), (3, "Fixed")]
    assert revisions[0].fields["System.RevisedDate"] == revisions[1].fields["System.ChangedDate"]
    assert revisions[2].fields["System.RevisedDate"] == "9999-01-01T00:00:00Z"
    assert [r.rev for r in wit.get_revisions(item["id"], ado.project, top=1, skip=1)] == [2]
    assert wit.get_revision(item["id"], 2, ado.project).fields["System.State"] == "Open"


def test_updates_carry_old_and_new_values(ado: Any, wit: Any) -> None:
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"}, by="Pat Tester <pat@mhhs.example>")
    updates = wit.get_updates(item["id"], ado.project)
    assert [u.id for u in updates] == [1, 2]
    first, second = updates
    assert (
        "oldValue" not in first.fields["System.Title"].__dict__
        or first.fields["System.Title"].old_value is None
    )
    assert second.fields["System.State"].old_value == "New"
    assert second.fields["System.State"].new_value == "Fixed"
    assert second.fields["System.Rev"].old_value == 1 and second.fields["System.Rev"].new_value == 2
    assert second.revised_by.display_name == "Pat Tester"
    assert first.revised_date == parse_datetime(second.fields["System.ChangedDate"].new_value)
    assert second.revised_date.year == 9999
    assert second.work_item_id == item["id"] and second.rev == 2


def test_comments_are_added_and_listed_with_paging(ado: Any, wit: Any) -> None:
    from azure.devops.v7_1.work_item_tracking.models import CommentCreate

    item = ado.defect()
    added = [wit.add_comment(CommentCreate(text=f"note {n}"), ado.project, item["id"]) for n in range(3)]
    assert [c.text for c in added] == ["note 0", "note 1", "note 2"]
    assert added[0].work_item_id == item["id"] and added[0].version == 1
    assert added[0].created_by.unique_name == "release.bridge@mhhs.example"
    page = wit.get_comments(ado.project, item["id"], top=2, order="asc")
    assert (page.total_count, page.count, [c.text for c in page.comments]) == (3, 2, ["note 0", "note 1"])
    rest = wit.get_comments(
        ado.project, item["id"], top=2, order="asc", continuation_token=page.continuation_token
    )
    assert [c.text for c in rest.comments] == ["note 2"] and rest.continuation_token is None
    assert ado.sim.get_work_item(item["id"])["fields"]["System.CommentCount"] == 3
    markdown = wit.add_work_item_comment(CommentCreate(text="**bold**"), ado.project, item["id"], "markdown")
    assert markdown.format == "markdown"


# --- process metadata ------------------------------------------------------------------------------


def test_work_item_type_and_states_show_the_process(ado: Any, wit: Any) -> None:
    states = wit.get_work_item_type_states(ado.project, "Defect")
    assert [(s.name, s.category) for s in states] == [
        ("New", "Proposed"),
        ("Open", "Proposed"),
        ("In Progress", "InProgress"),
        ("Fixed", "Resolved"),
        ("Ready for Retest", "Resolved"),
        ("In Retest", "Resolved"),
        ("Closed", "Completed"),
        ("Rejected", "Removed"),
        ("Deferred", "Removed"),
    ]
    defect = wit.get_work_item_type(ado.project, "Defect")
    assert defect.reference_name == "Custom.Defect"
    severity = next(f for f in defect.field_instances if f.reference_name == "Microsoft.VSTS.Common.Severity")
    assert severity.allowed_values == ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"]
    assert {t.name for t in wit.get_work_item_types(ado.project)} == {"Defect"}
    with pytest.raises(AzureDevOpsServiceError, match="Work item type Epic does not exist"):
        wit.get_work_item_type(ado.project, "Epic")


def test_fields_are_listed_and_found_by_either_name(ado: Any, wit: Any) -> None:
    fields = wit.get_work_item_fields(ado.project)
    assert {"System.State", "Microsoft.VSTS.Common.Severity"} <= {f.reference_name for f in fields}
    assert wit.get_work_item_field("Severity", ado.project).reference_name == "Microsoft.VSTS.Common.Severity"


def test_asking_for_an_unknown_field_is_tf51535(ado: Any, wit: Any) -> None:
    item = ado.defect()
    with pytest.raises(AzureDevOpsServiceError, match="TF51535"):
        wit.get_work_item(item["id"], ado.project, fields=["Custom.Missing"])
    with pytest.raises(AzureDevOpsServiceError, match="TF51535"):
        wit.get_work_items_batch(
            WorkItemBatchGetRequest(ids=[item["id"]], fields=["Custom.Missing"]), ado.project
        )
