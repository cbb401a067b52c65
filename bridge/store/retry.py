"""The retry policy: how long a failed action or inbox row waits before its next attempt, and when an
action is given up (dead, for an operator's retry). The outbox and the inbox keep the attempts; this
decides what each failure means."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

DEFAULT_MAX_ATTEMPTS = 8
# Backoff between attempts: base * 2^(attempts-1), capped, with full jitter (a bounded total).
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)

# A failed row waits 2^attempts seconds, at most this long, before it is offered again.
MAX_INBOX_BACKOFF = timedelta(hours=1)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter after `attempts` failed attempts."""
    ceiling = min(RETRY_BASE * (1 << min(max(attempts - 1, 0), 20)), RETRY_CAP)
    return ceiling * (rng or random.Random()).random()  # noqa: S311 - jitter, not security


def next_attempt_at(
    attempts: int,
    now: datetime,
    *,
    retry_after_s: float | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> datetime | None:
    """When an action that failed transiently `attempts` times is tried again: after the wait the system
    asked for (Retry-After), else after a jittered backoff; None once it has had `max_attempts`."""
    if attempts >= max_attempts:
        return None
    delay = timedelta(seconds=retry_after_s) if retry_after_s is not None else retry_delay(attempts)
    return now + delay


def inbox_backoff(attempts: int) -> timedelta:
    """How long a row that has failed `attempts` times waits before it is offered again."""
    return min(timedelta(seconds=2 ** min(attempts, 16)), MAX_INBOX_BACKOFF)
