"""Service hooks (Web Hooks consumer): subscriptions and the `workitem.*` events the bridge listens to."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any

from connectors.ado.simulator import views
from connectors.ado.simulator.identity import as_text, identity_ref, is_identity
from connectors.ado.simulator.model import AdoModel, Change
from connectors.ado.simulator.revisions import format_date
from connectors.simulation import Delivery

EVENT_TYPES = {"workitem.created", "workitem.updated", "workitem.commented"}
RESOURCE_VERSION = "1.0"


def new_subscription(
    model: AdoModel,
    event_type: str,
    url: str,
    *,
    basic_auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    publisher_inputs: Mapping[str, str] | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """A Subscription (serviceHooks.json) for the `webHooks` consumer's `httpRequest` action."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event type {event_type!r} is not simulated; use one of {sorted(EVENT_TYPES)}")
    consumer_inputs: dict[str, str] = {"url": url}
    if basic_auth is not None:
        consumer_inputs["basicAuthUsername"], consumer_inputs["basicAuthPassword"] = basic_auth
    if headers:
        # The consumer takes custom headers as one `Key:value` per line (docs/service-hooks/consumers.md).
        consumer_inputs["httpHeaders"] = "\n".join(f"{k}:{v}" for k, v in headers.items())
    person = identity_ref(by or model.pat_owner, model.org_url)
    now = format_date(model.clock())
    sub_id = str(uuid.uuid4())
    return {
        "id": sub_id,
        "url": f"{model.org_url}/_apis/hooks/subscriptions/{sub_id}",
        "status": "enabled",
        "publisherId": "tfs",
        "eventType": event_type,
        "resourceVersion": RESOURCE_VERSION,
        "eventDescription": f"Any work item {event_type.split('.')[1]}",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "actionDescription": f"To host {url}",
        "publisherInputs": {"projectId": model.project_id, **dict(publisher_inputs or {})},
        "consumerInputs": consumer_inputs,
        "createdBy": person,
        "createdDate": now,
        "modifiedBy": person,
        "modifiedDate": now,
        "subscriber": person,
        "probationRetries": 0,
        "notificationCount": 0,
    }


def shown(subscription: Mapping[str, Any]) -> dict[str, Any]:
    """A subscription as the REST API shows it: secrets masked, internal counters left out."""
    body = {k: copy.deepcopy(v) for k, v in subscription.items() if k != "notificationCount"}
    inputs = dict(body.get("consumerInputs", {}))
    if "basicAuthPassword" in inputs:
        inputs["basicAuthPassword"] = "********"
    body["consumerInputs"] = inputs
    return body


def deliveries(model: AdoModel, change: Change) -> list[Delivery]:
    """One delivery per enabled subscription whose event type and filters match the change."""
    out = []
    for sub in list(model.subscriptions.values()):
        if sub["eventType"] != change.event_type or sub.get("status") != "enabled":
            continue
        if not _matches(model, sub, change):
            continue
        payload = event(model, sub, change, model.next_notification(sub["id"]))
        out.append(_delivery(sub, payload))
    return out


def _matches(model: AdoModel, sub: Mapping[str, Any], change: Change) -> bool:
    inputs = sub.get("publisherInputs", {})
    fields = model.revision(change.item_id, rev=change.rev)["fields"]
    wanted_type = inputs.get("workItemType")
    if wanted_type and str(fields.get("System.WorkItemType", "")).lower() != str(wanted_type).lower():
        return False
    area = str(inputs.get("areaPath") or "").lower()
    path = str(fields.get("System.AreaPath", "")).lower()
    if area and path != area and not path.startswith(area + "\\"):
        return False
    changed_filter = inputs.get("changedFields")
    if changed_filter and change.event_type == "workitem.updated":
        changed = {k.lower() for k in model.updates(change.item_id)[change.rev - 1]["fields"]}
        if not any(f.strip().lower() in changed for f in str(changed_filter).split(",")):
            return False
    return True


def _delivery(sub: Mapping[str, Any], payload: Mapping[str, Any]) -> Delivery:
    inputs = sub.get("consumerInputs", {})
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for line in str(inputs.get("httpHeaders", "")).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            headers[key.strip()] = value.strip()
    auth = None
    if inputs.get("basicAuthUsername") or inputs.get("basicAuthPassword"):
        auth = (str(inputs.get("basicAuthUsername", "")), str(inputs.get("basicAuthPassword", "")))
    return Delivery(
        url=str(inputs["url"]),
        body=json.dumps(payload).encode(),
        headers=headers,
        event=str(payload["eventType"]),
        auth=auth,
    )


def event(model: AdoModel, sub: Mapping[str, Any], change: Change, notification_id: int) -> dict[str, Any]:
    """The Event body the Web Hooks consumer posts (api-contracts.md 2.9, and payloads recorded from ADO)."""
    revision = model.revision(change.item_id, rev=change.rev)
    if change.event_type == "workitem.updated":
        resource = _updated_resource(model, change, revision)
    else:
        resource = _full_resource(model, change, revision)
    message, detailed = _messages(model, change, revision, resource)
    container = f"{model.org_url}/"
    return {
        "subscriptionId": sub["id"],
        "notificationId": notification_id,
        "id": str(uuid.uuid4()),
        "eventType": change.event_type,
        "publisherId": "tfs",
        "message": message,
        "detailedMessage": detailed,
        "resource": resource,
        "resourceVersion": RESOURCE_VERSION,
        "resourceContainers": {
            "collection": {"id": model.collection_id, "baseUrl": container},
            "account": {"id": model.collection_id, "baseUrl": container},
            "project": {"id": model.project_id, "baseUrl": container},
        },
        "createdDate": format_date(model.clock()),
    }


def web_url(model: AdoModel, item_id: int) -> str:
    """The work item's page, in the `wi.aspx` form service hook messages link to."""
    return f"{model.org_url}/web/wi.aspx?pcguid={model.collection_id}&id={item_id}"


def _messages(
    model: AdoModel, change: Change, revision: Mapping[str, Any], resource: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    fields = revision["fields"]
    name = f"{fields.get('System.WorkItemType', '')} #{change.item_id}"
    title = fields.get("System.Title", "")
    who = fields["System.ChangedBy"].get("displayName", "")
    changed = resource.get("fields", {}) if change.event_type == "workitem.updated" else {}
    if change.event_type == "workitem.created":
        what = f"created by {who}"
    elif change.event_type == "workitem.commented":
        what = f"commented on by {who}"
    elif "System.State" in changed:
        what = f"transitioned to {fields.get('System.State')} by {who}"
    else:
        what = f"updated by {who}"
    url = web_url(model, change.item_id)
    text = f"{name} ({title}) {what}"
    html = f'<a href="{url.replace("&", "&amp;")}">{name}</a> ({title}) {what}'
    markdown = f"[{name}]({url}) ({title}) {what}"
    message = {"text": f"{text}\r\n({url})", "html": html, "markdown": markdown}
    notes = [
        f"New {label}: {_shown(changed[ref]['newValue'])}" for ref, label in _ANNOUNCED if ref in changed
    ]
    if change.event_type == "workitem.commented":
        notes = [str(fields.get("System.History", ""))]
    if not notes:
        return message, dict(message)
    detailed = {
        "text": f"{text}\r\n({url})\r\n\r\n" + "".join(f"- {n}\r\n" for n in notes),
        "html": f"{html}<ul>\r\n" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>",
        "markdown": f"{markdown}\r\n\r\n" + "".join(f"* {n}\r\n" for n in notes),
    }
    return message, detailed


# The changes the detailed message spells out, in its order.
_ANNOUNCED = (("System.Title", "Title"), ("System.State", "State"), ("System.AssignedTo", "Assigned to"))


def _shown(value: object) -> str:
    return as_text(value) if is_identity(value) else str(value)


def _full_resource(model: AdoModel, change: Change, revision: Mapping[str, Any]) -> dict[str, Any]:
    """A whole WorkItem, as `workitem.created` and `workitem.commented` carry it."""
    body = views.work_item(model, change.item_id, revision, expand="relations")
    body["fields"] = _v1_fields(body["fields"])
    if not body.get("relations"):
        body.pop("relations", None)
    return body


def _updated_resource(model: AdoModel, change: Change, revision: Mapping[str, Any]) -> dict[str, Any]:
    """A WorkItemUpdate: `id` is the update number; `revision` is the whole work item at that revision."""
    update = model.updates(change.item_id)[change.rev - 1]
    item_url = model.item_url(change.item_id)
    snapshot = views.work_item(model, change.item_id, revision, expand="relations")
    snapshot["fields"] = _v1_fields(snapshot["fields"])
    if not snapshot.get("relations"):
        snapshot.pop("relations", None)
    snapshot.pop("commentVersionRef", None)
    revision_url = f"{item_url}/revisions/{change.rev}"
    snapshot["_links"] = {
        "self": {"href": revision_url},
        "workItemRevisions": {"href": f"{item_url}/revisions"},
        "parent": {"href": item_url},
    }
    snapshot["url"] = revision_url
    revised_by = dict(update["revisedBy"])
    revised_by = {"id": revised_by["id"], "name": as_text(revised_by), **revised_by}
    resource: dict[str, Any] = {
        "id": update["id"],
        "workItemId": change.item_id,
        "rev": update["rev"],
        "revisedBy": revised_by,
        "revisedDate": update["revisedDate"],
        "fields": {name: _v1_change(value) for name, value in update["fields"].items()},
    }
    if "relations" in update:
        resource["relations"] = update["relations"]
    resource["_links"] = {
        "self": {"href": update["url"]},
        "workItemUpdates": {"href": f"{item_url}/updates"},
        "parent": {"href": item_url},
        "html": {"href": web_url(model, change.item_id)},
    }
    resource["url"] = update["url"]
    resource["revision"] = snapshot
    return resource


def _v1_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    # Resource version 1.0 writes identities as "Name <unique>" strings, not IdentityRef objects.
    return {k: as_text(v) if is_identity(v) else v for k, v in fields.items()}


def _v1_change(change: Mapping[str, Any]) -> dict[str, Any]:
    return {k: as_text(v) if is_identity(v) else v for k, v in change.items()}
