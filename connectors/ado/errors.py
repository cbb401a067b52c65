"""Azure DevOps replies and client exceptions mapped onto the bridge's errors, in one place."""

# The azure-devops SDK raises AzureDevOpsServiceError for any status whose body is a WrappedException
# (401 included) and carries no HTTP status on it (api-contracts.md 2.10). So the SDK's session gets a
# response hook (`ResponseLog`) that remembers the last reply of the calling thread; the status table
# below then reads the status and Retry-After from it, as it does for the plain `$batch` call.

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from azure.devops.exceptions import AzureDevOpsAuthenticationError
from msrest.exceptions import ClientException, ClientRequestError

from bridge.errors import BridgeError, PermanentError, TransientError
from connectors.outcomes import DEFAULT_STATUSES, Outcome, classify, error_for, redact, retry_after_seconds

T = TypeVar("T")

# The common table with ADO's readings spelled out: 401 is a missing, expired or revoked PAT and 403 a
# PAT without the Work Items scope; 412 is a failed JSON Patch `test` on /rev (the optimistic
# concurrency check, api-contracts.md 2.5); 400 covers TF401320 rule errors (a refused state), which
# never succeed when repeated.
ADO_STATUSES: Mapping[int, Outcome] = {
    **DEFAULT_STATUSES,
    400: Outcome.FAIL,
    401: Outcome.FAIL,
    403: Outcome.FAIL,
    412: Outcome.CONFLICT,
}

# Connection-level failures that a later attempt may not meet.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class Reply:
    """The status and headers of one HTTP reply, kept without its body."""

    status: int
    headers: Mapping[str, str]


class ResponseLog:
    """Remembers the last reply each thread received through the SDK (a requests response hook)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hook(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self._local.last = Reply(response.status_code, dict(response.headers))

    def clear(self) -> None:
        self._local.last = None

    @property
    def last(self) -> Reply | None:
        value = getattr(self._local, "last", None)
        return value if isinstance(value, Reply) else None


def ado_message(body: Any, fallback: str) -> str:
    """The `message` of ADO's WrappedException body (a dict or its JSON text), else `fallback`."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return fallback
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"])
    return fallback


def is_gone(status: int) -> bool:
    """Whether a reply says the record does not exist (any more), by the status table."""
    return classify(status, ADO_STATUSES) is Outcome.GONE


def for_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> BridgeError:
    """The bridge error for an ADO reply's status, with ADO's message and the wait it asked for."""
    wait = retry_after_seconds(headers or {})
    return error_for(status, message, retry_after_s=wait, table=ADO_STATUSES)


def translate(exc: Exception, *, last: Reply | None, secrets: list[str | None]) -> BridgeError:
    """The bridge error for an exception from the SDK, msrest or requests, with every secret redacted."""
    if isinstance(exc, BridgeError):
        return exc
    text = redact(_describe(exc), secrets)
    if isinstance(exc, TRANSPORT_ERRORS) or _wraps_transport(exc):
        return TransientError(f"ADO unreachable: {text}")
    if last is not None and not 200 <= last.status < 300:
        return for_status(last.status, text, last.headers)
    if isinstance(exc, AzureDevOpsAuthenticationError):
        return PermanentError(f"HTTP 401: {text}")
    if isinstance(exc, ClientRequestError):
        # A request that failed without a reply we saw (msrest wraps requests' errors this way).
        return TransientError(f"ADO request failed: {text}")
    if isinstance(exc, ClientException):
        return PermanentError(f"ADO client error: {text}")
    return PermanentError(f"ADO call failed: {type(exc).__name__}: {text}")


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    return str(message) if isinstance(message, str) and message else str(exc) or type(exc).__name__


def _wraps_transport(exc: Exception) -> bool:
    inner = getattr(exc, "inner_exception", None) or exc.__cause__
    return isinstance(inner, TRANSPORT_ERRORS)


def guarded(fn: Callable[[], T], *, log: ResponseLog, secrets: list[str | None]) -> T:
    """Run one SDK or HTTP call, raising the bridge's error for whatever goes wrong."""
    log.clear()
    try:
        return fn()
    except Exception as exc:
        raise translate(exc, last=log.last, secrets=secrets) from None
