"""The JSON shapes ADO REST 7.1 answers with: WorkItem, Comment, WorkItemType, fields, WIQL columns."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.ado.simulator import identity
from connectors.ado.simulator.model import AdoModel
from connectors.ado.simulator.process import FieldDefinition, ProcessModel, WorkItemTypeDefinition
from connectors.simulation import json_copy

BOOKKEEPING_FIELDS = frozenset(
    {
        "System.Id",
        "System.Rev",
        "System.Watermark",
        "System.AuthorizedDate",
        "System.AuthorizedAs",
        "System.RevisedDate",
    }
)


def collection(values: Sequence[Any]) -> dict[str, Any]:
    """ADO's list wrapper (VssJsonCollectionWrapper)."""
    return {"count": len(values), "value": list(values)}


def work_item(
    model: AdoModel,
    item_id: int,
    revision: Mapping[str, Any],
    *,
    expand: str = "none",
    fields: Sequence[str] | None = None,
    as_revision: bool = False,
) -> dict[str, Any]:
    """A WorkItem: id, rev, fields, relations when expanded, _links, url."""
    # Field values are mostly strings and numbers: only containers need a copy.
    org_url = model.org_url
    values = {
        k: identity.expand(json_copy(v), org_url) if isinstance(v, dict | list) else v
        for k, v in revision["fields"].items()
    }
    if fields:
        wanted = {_reference(model.process, f).lower() for f in fields}
        values = {k: v for k, v in values.items() if k.lower() in wanted}
    elif expand not in {"fields", "all"} and not as_revision:
        # A work item leaves its bookkeeping fields out unless they are asked for by name or with
        # $expand=fields|all; a revision shows them all.
        values = {k: v for k, v in values.items() if k not in BOOKKEEPING_FIELDS}
    base_url = model.item_url(item_id)
    body: dict[str, Any] = {"id": item_id, "rev": revision["rev"], "fields": values}
    if expand in {"relations", "all"}:
        body["relations"] = json_copy(revision["relations"])
    ref = revision.get("commentVersionRef")
    if ref:
        body["commentVersionRef"] = {
            **ref,
            "url": f"{base_url}/comments/{ref['commentId']}/versions/{ref['version']}",
        }
    if not fields and (expand in {"links", "all"} or not as_revision):
        body["_links"] = _item_links(model, item_id, revision)
    body["url"] = f"{base_url}/revisions/{revision['rev']}" if as_revision else base_url
    return body


def _item_links(model: AdoModel, item_id: int, revision: Mapping[str, Any]) -> dict[str, Any]:
    base = model.item_url(item_id)
    project_api = f"{model.org_url}/{model.project_id}/_apis/wit"
    type_name = revision["fields"].get("System.WorkItemType", "")
    return {
        "self": {"href": base},
        "workItemUpdates": {"href": f"{base}/updates"},
        "workItemRevisions": {"href": f"{base}/revisions"},
        "workItemComments": {"href": f"{base}/comments"},
        "html": {"href": f"{model.org_url}/{model.project_id}/_workitems/edit/{item_id}"},
        "workItemType": {"href": f"{project_api}/workItemTypes/{type_name}"},
        "fields": {"href": f"{project_api}/fields"},
    }


def _reference(process: ProcessModel, name: str) -> str:
    definition = process.field(name)
    return definition.reference_name if definition else name


def comment(model: AdoModel, value: Mapping[str, Any]) -> dict[str, Any]:
    """A Comment (7.1-preview.4)."""
    text = str(value["text"])
    rendered = text if value.get("format") == "html" else f"<p>{_escape(text)}</p>"
    body = copy.deepcopy(dict(value))
    body.update(
        {
            "createdBy": identity.expand(value["createdBy"], model.org_url),
            "modifiedBy": identity.expand(value["modifiedBy"], model.org_url),
            "renderedText": rendered,
            "mentions": [],
            "reactions": [],
            "url": f"{model.item_url(int(value['workItemId']))}/comments/{value['id']}",
        }
    )
    return body


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def field(model: AdoModel, definition: FieldDefinition) -> dict[str, Any]:
    """A WorkItemField."""
    return {
        "name": definition.name,
        "referenceName": definition.reference_name,
        "description": "",
        "type": definition.type,
        "usage": "workItem",
        "readOnly": definition.read_only,
        "canSortBy": definition.type not in {"html", "history", "plainText"},
        "isQueryable": True,
        "supportedOperations": [],
        "isIdentity": definition.type == "identity",
        "isPicklist": False,
        "isPicklistSuggested": False,
        "url": f"{model.org_url}/_apis/wit/fields/{definition.reference_name}",
    }


def states(wit: WorkItemTypeDefinition) -> list[dict[str, Any]]:
    """WorkItemStateColor entries, in the process's order."""
    return [{"name": s.name, "color": s.color, "category": s.category} for s in wit.states]


def work_item_type(model: AdoModel, wit: WorkItemTypeDefinition) -> dict[str, Any]:
    """A WorkItemType with its fields, states and (all-to-all) transitions."""
    api = f"{model.org_url}/{model.project_id}/_apis/wit"
    instances = []
    for rule in wit.fields:
        definition = model.process.field(rule.reference_name)
        instance: dict[str, Any] = {
            "alwaysRequired": rule.required,
            "referenceName": rule.reference_name,
            "name": definition.name if definition else rule.reference_name,
            "url": f"{model.org_url}/_apis/wit/fields/{rule.reference_name}",
        }
        if rule.allowed_values:
            instance["allowedValues"] = [str(v) for v in rule.allowed_values]
        if rule.default is not None:
            instance["defaultValue"] = str(rule.default)
        instances.append(instance)
    names = [s.name for s in wit.states]
    # Inherited processes allow every transition; "" is the transition a new work item takes.
    transitions = {"": [{"to": wit.initial_state}]} | {
        n: [{"to": other} for other in names if other != n] for n in names
    }
    return {
        "name": wit.name,
        "referenceName": wit.reference_name,
        "description": wit.description,
        "color": wit.color,
        "icon": {
            "id": wit.icon,
            "url": f"{model.base}/_apis/wit/workItemIcons/{wit.icon}?color={wit.color}&v=2",
        },
        "isDisabled": False,
        "xmlForm": "",
        "fields": instances,
        "fieldInstances": instances,
        "transitions": transitions,
        "states": states(wit),
        "_links": {"self": {"href": f"{api}/workItemTypes/{wit.name}"}},
        "url": f"{api}/workItemTypes/{wit.name}",
    }


def field_reference(model: AdoModel, name: str) -> dict[str, Any]:
    definition = model.process.field(name)
    ref = definition.reference_name if definition else name
    return {
        "referenceName": ref,
        "name": definition.name if definition else name,
        "url": f"{model.org_url}/_apis/wit/fields/{ref}",
    }
