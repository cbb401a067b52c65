"""The business rule's change events (config/servicenow/): verified, checked and turned into a delivery."""

# The rule posts `{"table", "operation", "sys_id", "sys_mod_count", "sys_updated_on", "record"}`, compact
# JSON, with X-Bridge-Signature = base64(HMAC-SHA256(secret, body bytes)) from
# GlideCertificateEncryption.generateMac (config/servicenow/README.md). The record is every field as
# the Table API shows it, so the event is built from it and its sys_mod_count is its revision; except
# for RFCs whose work notes the engine needs, which the event cannot carry.

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.connector import WebhookDelivery, WebhookRejectedError
from bridge.domain.events import DomainEvent, RecordRef, Source
from bridge.errors import SkippableError
from bridge.mappings import ServiceNowMapping
from connectors.servicenow.wire import (
    SYS_ID,
    events_show_mapped_fields,
    needs_notes,
    parse_time,
    to_change,
)
from connectors.webhooks import check_size, header, json_object

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-bridge-signature"
EVENT_HEADER = "x-bridge-event"
HANDLED_OPERATIONS = frozenset({"insert", "update"})


@dataclass(frozen=True)
class ChangeEventVerifier:
    """Checks and parses one change event: size, signature, JSON, fields, in that order."""

    secret: bytes | None
    table: str
    mapping: ServiceNowMapping
    roles: Mapping[str, str]
    max_bytes: int

    def __repr__(self) -> str:
        return f"ChangeEventVerifier(table={self.table!r}, signed={self.secret is not None})"

    def parse(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """The delivery an event makes, or WebhookRejectedError with the status to answer.

        An event for another table or operation (a delete, a copied rule on another table) is
        accepted with no refs and no events: the instance does not retry, so refusing it gains nothing,
        and the inbox records that it came.
        """
        check_size(body, self.max_bytes)
        self._verify(headers, body)
        payload = json_object(body)
        table, operation = payload.get("table"), payload.get("operation")
        sys_id, count = _revision(payload)
        key = f"{sys_id}:{count}"
        if table != self.table or not isinstance(operation, str) or operation not in HANDLED_OPERATIONS:
            log.info(
                "servicenow event %s.%s for %s not handled; accepted with no refs", table, operation, key
            )
            return WebhookDelivery(key, ())
        record = _record(payload, sys_id, count)
        ref = RecordRef(Source.SERVICENOW, "change", sys_id, revision=count)
        return WebhookDelivery(key, (ref,), self._events(record))

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        if self.secret is None:
            raise WebhookRejectedError(
                401, "no servicenow.webhook_secret is configured: events cannot be verified"
            )
        given = header(headers, SIGNATURE_HEADER)
        if not given:
            raise WebhookRejectedError(401, "missing X-Bridge-Signature header")
        expected = base64.b64encode(hmac.new(self.secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, given.strip().encode("utf-8", "replace")):
            raise WebhookRejectedError(401, "X-Bridge-Signature does not match the body")

    def _events(self, record: Mapping[str, str]) -> tuple[DomainEvent, ...]:
        if needs_notes(record, self.mapping):
            # Journal fields are always "" in the event, yet the engine reads this RFC's work notes
            # (control point 8). An event without them would take this revision's place in the inbox
            # and the poller's reading of the same revision, notes and all, would be dropped as a
            # repeat; so the ref alone is given and fetch() reads the record with its notes.
            return ()
        if not events_show_mapped_fields(record, self.roles):
            # A mapped field is a reference (a sys_id here) or dot-walked (absent here): fetch() reads
            # the record with its display values.
            return ()
        try:
            return (to_change(record, self.mapping, self.roles, None),)
        except SkippableError as exc:
            # Still a hint: the ref is re-read, and the poller reports the record the same way.
            log.warning("servicenow event: %s; no event built from the payload", exc)
            return ()


def _revision(payload: Mapping[str, Any]) -> tuple[str, int]:
    sys_id, count = payload.get("sys_id"), payload.get("sys_mod_count")
    if not isinstance(sys_id, str) or not SYS_ID.match(sys_id):
        raise WebhookRejectedError(422, "sys_id is missing or not 32 hex characters")
    if not isinstance(count, str) or not count.isdigit():
        raise WebhookRejectedError(422, "sys_mod_count is missing or not a whole number in a string")
    return sys_id, int(count)


def _record(payload: Mapping[str, Any], sys_id: str, count: int) -> dict[str, str]:
    record = payload.get("record")
    if not isinstance(record, dict):
        raise WebhookRejectedError(422, "record is missing or not an object")
    if not all(isinstance(v, str) for v in record.values()):
        raise WebhookRejectedError(422, "record has values that are not strings")
    missing = [name for name in ("number", "state", "sys_updated_on") if not record.get(name)]
    if missing:
        raise WebhookRejectedError(422, f"record lacks {', '.join(missing)}")
    if record.get("sys_id") != sys_id or record.get("sys_mod_count") != str(count):
        raise WebhookRejectedError(422, "record's sys_id or sys_mod_count differs from the event's")
    if parse_time(record["sys_updated_on"]) is None:
        raise WebhookRejectedError(422, "record's sys_updated_on is not a YYYY-MM-DD HH:MM:SS date-time")
    return dict(record)
