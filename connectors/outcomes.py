"""HTTP outcomes and retries shared by the connectors: what a status means, and how long to wait.

Each connector classifies a reply with `classify()` over its own table (this module's default plus that
system's quirks) and raises the bridge's error for it; `call_with_retries()` retries transient errors
within one attempt (tenacity: exponential backoff with jitter, the server's `Retry-After` honoured, a
bounded total). Anything longer is the outbox's business: a later attempt, never a long sleep here.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_random_exponential,
)

from bridge.errors import BridgeError, ConflictError, PermanentError, SkippableError, TransientError

T = TypeVar("T")


class Outcome(StrEnum):
    """What a reply means for the caller."""

    OK = "ok"
    RETRY = "retry"  # transient: timeouts, throttling, server errors
    CONFLICT = "conflict"  # someone else changed the record first
    GONE = "gone"  # the record does not exist (any more)
    FAIL = "fail"  # will not succeed if repeated


# The common reading of HTTP statuses; a connector overrides entries for its system's quirks.
DEFAULT_STATUSES: Mapping[int, Outcome] = {
    408: Outcome.RETRY,
    409: Outcome.CONFLICT,
    412: Outcome.CONFLICT,
    404: Outcome.GONE,
    410: Outcome.GONE,
    425: Outcome.RETRY,
    429: Outcome.RETRY,
    500: Outcome.RETRY,
    502: Outcome.RETRY,
    503: Outcome.RETRY,
    504: Outcome.RETRY,
}


def classify(status: int, table: Mapping[int, Outcome] = DEFAULT_STATUSES) -> Outcome:
    if 200 <= status < 300:
        return Outcome.OK
    if status in table:
        return table[status]
    return Outcome.RETRY if status >= 500 else Outcome.FAIL


def error_for(
    status: int,
    message: str,
    *,
    retry_after_s: float | None = None,
    table: Mapping[int, Outcome] = DEFAULT_STATUSES,
) -> BridgeError:
    """The bridge error for a failed reply, carrying the system's own message."""
    outcome = classify(status, table)
    text = f"HTTP {status}: {message}"
    if outcome is Outcome.RETRY:
        return TransientError(text, retry_after_s=retry_after_s)
    if outcome is Outcome.CONFLICT:
        return ConflictError(text)
    if outcome is Outcome.GONE:
        return PermanentError(text)
    if outcome is Outcome.OK:
        return SkippableError(text)
    return PermanentError(text)


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait a reply asks for: `Retry-After` in seconds or as an HTTP date, else `RateLimit-Reset`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = _http_date(value)
            if parsed is not None:
                return max(0.0, (parsed - (now or datetime.now(UTC))).total_seconds())
    reset = lowered.get("ratelimit-reset") or lowered.get("x-ratelimit-reset")
    if reset:
        try:
            epoch = float(reset)
        except ValueError:
            return None
        current = (now or datetime.now(UTC)).timestamp()
        # Some systems send seconds to wait, others the Unix time of the reset.
        return max(0.0, epoch - current) if epoch > 1_000_000_000 else max(0.0, epoch)
    return None


def _http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class RetryPolicy:
    """How long one call may keep trying: exponential backoff with jitter, capped, within a total."""

    def __init__(
        self,
        *,
        total_s: float = 120.0,
        max_backoff_s: float = 30.0,
        initial_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.total_s = total_s
        self.max_backoff_s = max_backoff_s
        self.initial_s = initial_s
        self.sleep = sleep

    def wait_s(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=self.initial_s, max=self.max_backoff_s)(state)
        error = state.outcome.exception() if state.outcome is not None else None
        asked = error.retry_after_s if isinstance(error, TransientError) and error.retry_after_s else 0.0
        # The server's Retry-After is a floor, never shortened by our own backoff.
        return max(backoff, asked)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying TransientError until it succeeds or the total time is spent."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self.wait_s,
            # Stop before a wait would end past the total: the outbox schedules the rest.
            stop=stop_before_delay(self.total_s),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)


def redact(text: str, secrets: list[str | None]) -> str:
    """The text with every secret replaced by ***, for logs and error messages."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
