"""ServiceNow's replies and client exceptions mapped onto the bridge's errors, in one place."""

# pysnow never retries and never parses ServiceNow's error body on a 4xx/5xx: `raise_for_status()` runs
# first and raises requests' HTTPError (api-contracts.md 3.5). A 2xx body holding "error" raises
# pysnow's ResponseError instead, which is the "error inside a 200" STYLE.md point 4 names.

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

import ijson  # type: ignore[import-untyped]  # pysnow's stream parser; it ships no types
import pysnow.exceptions
import requests

from bridge.errors import BridgeError, PermanentError, TransientError
from connectors.outcomes import DEFAULT_STATUSES, Outcome, classify, error_for, redact, retry_after_seconds

T = TypeVar("T")

# The common table, with ServiceNow's own readings spelled out: 401 is a bad or expired credential
# and 403 an ACL, data policy or business rule refusing the write (Table API docs, "Error codes");
# neither succeeds when repeated.
SERVICENOW_STATUSES: Mapping[int, Outcome] = {
    **DEFAULT_STATUSES,
    401: Outcome.FAIL,
    403: Outcome.FAIL,
}

# Connection-level failures that a later attempt may not meet.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def failure_message(response: requests.Response | None) -> str:
    """ServiceNow's `{"error": {"message", "detail"}}` as one line, else the reason phrase."""
    if response is None:
        return "no response"
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no message"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return response.reason or "no message"
    message = str(error.get("message") or response.reason or "no message")
    detail = error.get("detail")
    return f"{message} ({detail})" if detail else message


def is_gone(status: int) -> bool:
    """Whether a reply says the record does not exist (any more), by the status table."""
    return classify(status, SERVICENOW_STATUSES) is Outcome.GONE


def translate(exc: Exception, *, secrets: list[str | None], now: datetime | None = None) -> BridgeError:
    """The bridge error for an exception from pysnow or requests, with every secret redacted."""
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        reply = exc.response
        return error_for(
            reply.status_code,
            redact(failure_message(reply), secrets),
            retry_after_s=retry_after_seconds(dict(reply.headers), now=now),
            table=SERVICENOW_STATUSES,
        )
    if isinstance(exc, TRANSPORT_ERRORS):
        return TransientError(redact(f"ServiceNow unreachable: {type(exc).__name__}: {exc}", secrets))
    if isinstance(exc, pysnow.exceptions.ResponseError):
        # An error reported inside a 2xx: the instance refused the request in words, not by status.
        return PermanentError(
            redact(f"ServiceNow error in a 200 reply: {exc.message} ({exc.detail})", secrets)
        )
    if isinstance(exc, pysnow.exceptions.MissingResult | ijson.JSONError | json.JSONDecodeError | ValueError):
        # A 200 that is not the Table API's JSON: a hibernating developer instance answers every URL
        # with an HTML page and 200 OK, and wakes up later.
        return TransientError(redact(f"ServiceNow answered without a Table API result: {exc}", secrets))
    return PermanentError(redact(f"ServiceNow call failed: {type(exc).__name__}: {exc}", secrets))


def calling(fn: Callable[[], T], *, secrets: list[str | None], now: Callable[[], datetime]) -> T:
    """Run one client call, raising the bridge's error for whatever pysnow or requests raise."""
    try:
        return fn()
    except BridgeError:
        raise
    except (
        requests.exceptions.RequestException,
        pysnow.exceptions.PysnowException,
        ijson.JSONError,
        ValueError,
    ) as exc:
        raise translate(exc, secrets=secrets, now=now()) from None
