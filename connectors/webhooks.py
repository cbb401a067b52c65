"""What the three webhook parsers share: the size limit, a JSON object body within bounds, headers by any
case, and comparing secrets in constant time."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from bridge.connector import WebhookRejectedError

# No system's payload nests beyond a dozen levels or carries a number of more than 20 digits; the bounds
# leave room and stop a body that would exhaust the parser (recursion, or Python's 4,300-digit limit on
# int()) before it is parsed.
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100
STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
INNERMOST = re.compile(rb"[\[{][\]}]")


def check_size(body: bytes, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise WebhookRejectedError(413, f"body of {len(body)} bytes is over the limit of {max_bytes}")


def nesting(body: bytes, limit: int = MAX_DEPTH) -> int:
    """How deep the JSON text nests (strings skipped), counting no further than one past `limit`."""
    brackets = STRING.sub(b"", body).translate(None, delete=NOT_BRACKETS)
    # Each pass takes away the innermost pairs (whatever their kinds: the parser refuses a mismatch),
    # so the passes needed are the depth; each is one scan in C, not a step per bracket in Python.
    depth = 0
    while brackets and depth <= limit:
        shorter = INNERMOST.sub(b"", brackets)
        if len(shorter) == len(brackets):
            break  # unbalanced: the parser refuses it
        brackets, depth = shorter, depth + 1
    return depth


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise WebhookRejectedError(
                400, f"body holds a number of {len(text)} characters; the limit is {MAX_NUMBER_CHARS}"
            )
        return kind(text)

    return parse


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object within the bounds (depth, number size), or a 400 saying why not."""
    # Too few openers (strings' own included) to nest past the bound: most payloads hold a few dozen,
    # and only a body that might is worth counting exactly.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and nesting(body) > MAX_DEPTH:
        raise WebhookRejectedError(400, f"body nests deeper than {MAX_DEPTH} levels")
    try:
        payload = json.loads(body, parse_int=_number(int), parse_float=_number(float))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejectedError(400, f"body is not JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:
        # Whatever else the parser cannot take (a bound it reached before ours) is the sender's fault.
        raise WebhookRejectedError(
            400, f"body is not JSON the bridge can read: {type(exc).__name__}"
        ) from None
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
