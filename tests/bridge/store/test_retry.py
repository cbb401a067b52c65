"""The retry policy: jittered backoff within bounds, the system's own wait honoured, a limit to attempts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bridge.store.retry import (
    DEFAULT_MAX_ATTEMPTS,
    MAX_INBOX_BACKOFF,
    RETRY_BASE,
    RETRY_CAP,
    inbox_backoff,
    next_attempt_at,
    retry_delay,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts", [1, 2, 3, 7, 30, 500])
def test_the_backoff_is_jittered_below_a_doubling_ceiling_and_the_cap(attempts: int) -> None:
    ceiling = min(RETRY_BASE * 2 ** min(attempts - 1, 20), RETRY_CAP)
    rng = random.Random(attempts)
    delays = [retry_delay(attempts, rng) for _ in range(200)]
    assert all(timedelta(0) <= d <= ceiling for d in delays)
    assert len(set(delays)) > 100, "full jitter spreads the retries of many actions"


def test_a_system_asking_for_a_wait_gets_exactly_that_wait() -> None:
    assert next_attempt_at(1, T0, retry_after_s=42.0) == T0 + timedelta(seconds=42)


def test_an_action_is_given_up_after_its_attempts() -> None:
    assert next_attempt_at(DEFAULT_MAX_ATTEMPTS - 1, T0) is not None
    assert next_attempt_at(DEFAULT_MAX_ATTEMPTS, T0) is None
    assert next_attempt_at(2, T0, max_attempts=2, retry_after_s=1.0) is None


def test_an_inbox_row_waits_longer_after_each_failure_up_to_an_hour() -> None:
    waits = [inbox_backoff(n) for n in range(1, 30)]
    assert waits == sorted(waits)
    assert waits[0] == timedelta(seconds=2) and waits[-1] == MAX_INBOX_BACKOFF
