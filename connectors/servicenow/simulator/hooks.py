"""Change events as our business rule (`config/servicenow/bridge_change_event.js`) sends them."""

# The rule serialises with `JSON.stringify` (no spaces, keys in insertion order, fields sorted by name)
# and signs the body bytes with `GlideCertificateEncryption.generateMac(base64(secret), "HmacSHA256",
# body)`, which returns the MAC in base64 (ServiceNow API reference, GlideCertificateEncryption).

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from connectors.servicenow.simulator.tables import CHANGE_REQUEST
from connectors.simulation import Delivery, WebhookSender

SIGNATURE_HEADER = "X-Bridge-Signature"
EVENT_HEADER = "X-Bridge-Event"
# RESTMessageV2 sends the instance's glide.http.user.agent, "ServiceNow/1.0" out of the box.
USER_AGENT = "ServiceNow/1.0"


def event_body(table: str, operation: str, record: Mapping[str, str]) -> bytes:
    """The exact bytes the business rule posts for one insert or update."""
    payload: dict[str, Any] = {
        "table": table,
        "operation": operation,
        "sys_id": record["sys_id"],
        "sys_mod_count": record["sys_mod_count"],
        "sys_updated_on": record["sys_updated_on"],
        "record": {name: record[name] for name in sorted(record)},
    }
    # JSON.stringify: compact, non-ASCII characters left as they are, sent as UTF-8.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body keyed with the secret's UTF-8 bytes, in base64, as generateMac returns."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether a signature header matches the body; what the bridge's receiver does."""
    return hmac.compare_digest(signature(secret, body), header)


def change_event(
    url: str, secret: str | None, table: str, operation: str, record: Mapping[str, str]
) -> Delivery:
    """The delivery for one change: body, signature (when a secret is set) and the rule's headers."""
    body = event_body(table, operation, record)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: f"{table}.{operation}",
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return Delivery(url, body, headers, f"{table}.{operation}")


class ServiceNowEvents:
    """Where the business rule posts change events and the key it signs them with; None: no events."""

    def __init__(self, sender: WebhookSender, url: str | None = None, secret: str | None = None) -> None:
        self.sender = sender
        self.url = url
        self.secret = secret

    def announce(self, table: str, operation: str, record: Mapping[str, str]) -> None:
        """Post the event for an insert or update, if the rule is set up (it runs on change_request only)."""
        if table == CHANGE_REQUEST and self.url:
            self.sender.send(change_event(self.url, self.secret, table, operation, record))
