"""ADO service hook deliveries (`workitem.created`, `workitem.updated`): verification and parsing."""

# ADO's Web Hooks consumer signs nothing (api-contracts.md 2.9, docs/service-hooks/consumers.md): a
# subscription authenticates with basic auth (basicAuthUsername / basicAuthPassword) or a custom
# header from its `httpHeaders` input. Either is checked here in constant time.

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.connector import WebhookDelivery, WebhookRejectedError
from bridge.domain.events import DefectUpdated, RecordRef, Source
from connectors.ado import wire
from connectors.webhooks import header, json_object, same_secret

HANDLED = frozenset({"workitem.created", "workitem.updated"})


@dataclass(frozen=True)
class HookAuth:
    """What a delivery must present: basic auth (user and password), or `header` carrying the password."""

    password: str | None = field(repr=False)
    user: str | None = None
    header: str | None = None


def verify(auth: HookAuth, headers: Mapping[str, str]) -> None:
    """Raise WebhookRejectedError(401) unless the delivery carries the configured credentials."""
    if not auth.password:
        raise WebhookRejectedError(401, "ADO webhook credentials are not configured")
    if auth.header:
        given = header(headers, auth.header)
        if given is None:
            raise WebhookRejectedError(401, f"missing {auth.header} header")
        if not same_secret(given, auth.password):
            raise WebhookRejectedError(401, f"wrong {auth.header} header")
        return
    user, password = _basic(header(headers, "authorization"))
    if password is None:
        raise WebhookRejectedError(401, "missing basic authorization")
    user_ok = same_secret(user, auth.user or "")
    password_ok = same_secret(password, auth.password)
    # Both compared before deciding, so the answer's timing says nothing about which one was wrong.
    if not (user_ok and password_ok):
        raise WebhookRejectedError(401, "wrong basic authorization credentials")


def _basic(header: str | None) -> tuple[str, str | None]:
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", None)


def parse(body: bytes, *, work_item_type: str) -> WebhookDelivery:
    """The delivery for a verified body: dedupe key `{id}:{rev}`, the defect it names, and the event
    when the payload holds the whole work item at that revision.

    Event types other than workitem.created / workitem.updated (workitem.commented, .deleted, other
    publishers) are accepted with no refs, keyed by the event's id: the service answers 200 and does
    nothing, so ADO does not put the subscription on probation.
    """
    payload = json_object(body)
    event_type = payload.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejectedError(422, "eventType is missing")
    if event_type not in HANDLED:
        event_id = payload.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise WebhookRejectedError(422, f"{event_type}: id is missing")
        return WebhookDelivery(f"{event_type}:{event_id}", ())
    resource = payload.get("resource")
    if not isinstance(resource, dict):
        raise WebhookRejectedError(
            422, f"{event_type}: resource is missing (resourceDetailsToSend must not be none)"
        )
    if event_type == "workitem.updated":
        # In an update, resource.id is the update number and resource.workItemId the item (2.9).
        item_id = _number(resource, "workItemId", event_type)
        snapshot = resource.get("revision")
    else:
        item_id = _number(resource, "id", event_type)
        snapshot = resource
    rev = _number(resource, "rev", event_type)
    event = _event(snapshot, item_id, rev, work_item_type)
    if event is not None and event.work_item_type.lower() != work_item_type.lower():
        return WebhookDelivery(f"{item_id}:{rev}", ())
    ref = RecordRef(Source.ADO, "defect", str(item_id), revision=rev)
    return WebhookDelivery(f"{item_id}:{rev}", (ref,), (event,) if event is not None else ())


def _number(resource: Mapping[str, Any], key: str, event_type: str) -> int:
    value = resource.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise WebhookRejectedError(422, f"{event_type}: resource.{key} is missing or not a positive integer")
    return value


def _event(snapshot: object, item_id: int, rev: int, work_item_type: str) -> DefectUpdated | None:
    """The defect the payload shows, only when it is the whole item at the announced revision."""
    if not isinstance(snapshot, dict):
        return None
    event = wire.defect(snapshot, default_type=work_item_type)
    if event is None or event.id != item_id or event.rev != rev:
        return None
    if wire.WORK_ITEM_TYPE not in snapshot.get("fields", {}):
        return None
    return event
