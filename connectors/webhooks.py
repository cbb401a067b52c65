"""What the three webhook parsers share: the size limit, a JSON object body, headers by any case, and
comparing secrets in constant time."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from bridge.connector import WebhookRejectedError


def check_size(body: bytes, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise WebhookRejectedError(413, f"body of {len(body)} bytes is over the limit of {max_bytes}")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejectedError(400, f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookRejectedError(400, f"body is JSON but not an object (a {type(payload).__name__})")
    return payload


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def same_secret(given: str, expected: str) -> bool:
    """Compare in constant time, so a secret cannot be guessed byte by byte from response times."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
