"""Errors grouped by what to do about them; every connector's HTTP outcomes map onto these."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of the errors a connector raises to the dispatcher and pollers."""


class TransientError(BridgeError):
    """Try again later: a timeout, a dropped connection, a 5xx, a 429 (with the server's Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConflictError(BridgeError):
    """Someone else changed the record first: re-read it and decide again, never overwrite."""


class PermanentError(BridgeError):
    """Will not succeed if repeated: a refused state, a missing record, bad credentials."""


class SkippableError(BridgeError):
    """Nothing to do: the effect is already there, or the target no longer wants it."""
