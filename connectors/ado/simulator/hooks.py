"""Service hooks (Web Hooks consumer): subscriptions and `workitem.created` / `workitem.updated` events."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any

from connectors.ado.simulator import views
from connectors.ado.simulator.identity import as_text, identity_ref, is_identity
from connectors.ado.simulator.store import AdoStore, Change, format_date
from connectors.simulation import Delivery

EVENT_TYPES = {"workitem.created", "workitem.updated"}
RESOURCE_VERSION = "1.0"


def new_subscription(
    store: AdoStore,
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
    person = identity_ref(by or store.pat_owner, store.org_url)
    now = format_date(store.clock())
    sub_id = str(uuid.uuid4())
    return {
        "id": sub_id,
        "url": f"{store.org_url}/_apis/hooks/subscriptions/{sub_id}",
        "status": "enabled",
        "publisherId": "tfs",
        "eventType": event_type,
        "resourceVersion": RESOURCE_VERSION,
        "eventDescription": f"Any work item {'created' if event_type.endswith('created') else 'updated'}",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "actionDescription": f"To host {url}",
        "publisherInputs": {"projectId": store.project_id, **dict(publisher_inputs or {})},
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


def deliveries(store: AdoStore, change: Change) -> list[Delivery]:
    """One delivery per enabled subscription whose event type and filters match the change."""
    out = []
    for sub in list(store.subscriptions.values()):
        if sub["eventType"] != change.event_type or sub.get("status") != "enabled":
            continue
        if not _matches(store, sub, change):
            continue
        payload = event(store, sub, change, store.next_notification(sub["id"]))
        out.append(_delivery(sub, payload))
    return out


def _matches(store: AdoStore, sub: Mapping[str, Any], change: Change) -> bool:
    inputs = sub.get("publisherInputs", {})
    fields = store.revision(change.item_id, rev=change.rev)["fields"]
    wanted_type = inputs.get("workItemType")
    if wanted_type and str(fields.get("System.WorkItemType", "")).lower() != str(wanted_type).lower():
        return False
    area = str(inputs.get("areaPath") or "").lower()
    path = str(fields.get("System.AreaPath", "")).lower()
    if area and path != area and not path.startswith(area + "\\"):
        return False
    changed_filter = inputs.get("changedFields")
    if changed_filter and change.event_type == "workitem.updated":
        changed = {k.lower() for k in store.updates(change.item_id)[change.rev - 1]["fields"]}
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


def event(store: AdoStore, sub: Mapping[str, Any], change: Change, notification_id: int) -> dict[str, Any]:
    """The Event body the Web Hooks consumer posts (api-contracts.md 2.9)."""
    revision = store.revision(change.item_id, rev=change.rev)
    fields = revision["fields"]
    type_name, title = fields.get("System.WorkItemType", ""), fields.get("System.Title", "")
    who = fields["System.ChangedBy"].get("displayName", "")
    verb = "created" if change.event_type == "workitem.created" else "updated"
    html_url = f"{store.org_url}/{store.project_id}/_workitems/edit/{change.item_id}"
    headline = f"{type_name} #{change.item_id} ({title}) {verb} by {who}"
    if change.event_type == "workitem.created":
        resource = _created_resource(store, change, revision)
        details = ""
    else:
        resource = _updated_resource(store, change, revision)
        details = "".join(
            f"- New {name.split('.')[-1]}: {value.get('newValue')}\r\n"
            for name, value in resource["fields"].items()
            if name in {"System.State", "System.AssignedTo", "System.Reason"}
        )
    message = {
        "text": headline,
        "html": f'<a href="{html_url}">{type_name} {change.item_id}</a> ({title}) {verb} by {who}',
        "markdown": f"[{type_name} {change.item_id}]({html_url}) ({title}) {verb} by {who}",
    }
    detailed = {
        "text": f"{headline}\r\n\r\n{details}" if details else headline,
        "html": message["html"],
        "markdown": message["markdown"],
    }
    container = f"{store.org_url}/"
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
            "collection": {"id": store.collection_id, "baseUrl": container},
            "account": {"id": store.collection_id, "baseUrl": container},
            "project": {"id": store.project_id, "baseUrl": container},
        },
        "createdDate": format_date(store.clock()),
    }


def _created_resource(store: AdoStore, change: Change, revision: Mapping[str, Any]) -> dict[str, Any]:
    body = views.work_item(store, change.item_id, revision, expand="none")
    body["fields"] = _v1_fields(body["fields"])
    if revision["relations"]:
        body["relations"] = copy.deepcopy(revision["relations"])
    return body


def _updated_resource(store: AdoStore, change: Change, revision: Mapping[str, Any]) -> dict[str, Any]:
    update = store.updates(change.item_id)[change.rev - 1]
    item_url = store.item_url(change.item_id)
    snapshot = views.work_item(store, change.item_id, revision, expand="relations", as_revision=True)
    snapshot["fields"] = _v1_fields(snapshot["fields"])
    if not snapshot.get("relations"):
        snapshot.pop("relations", None)
    revised_by = dict(update["revisedBy"])
    revised_by["name"] = as_text(revised_by)
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
    }
    resource["url"] = update["url"]
    resource["revision"] = snapshot
    return resource


def _v1_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    # Resource version 1.0 writes identities as "Name <unique>" strings, not IdentityRef objects.
    return {k: as_text(v) if is_identity(v) else v for k, v in fields.items()}


def _v1_change(change: Mapping[str, Any]) -> dict[str, Any]:
    return {k: as_text(v) if is_identity(v) else v for k, v in change.items()}
