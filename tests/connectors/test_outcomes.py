"""Shared HTTP outcomes: status classification, Retry-After, bounded retries with backoff, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.errors import ConflictError, PermanentError, TransientError
from connectors.outcomes import (
    DEFAULT_STATUSES,
    Outcome,
    RetryPolicy,
    classify,
    error_for,
    redact,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (204, Outcome.OK),
        (400, Outcome.FAIL),
        (401, Outcome.FAIL),
        (404, Outcome.GONE),
        (409, Outcome.CONFLICT),
        (412, Outcome.CONFLICT),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (599, Outcome.RETRY),
    ],
)
def test_statuses_are_classified_by_the_table(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_a_system_overrides_the_table_for_its_quirks() -> None:
    table = {**DEFAULT_STATUSES, 400: Outcome.CONFLICT}
    assert classify(400, table) is Outcome.CONFLICT
    assert isinstance(error_for(400, "TF26071", table=table), ConflictError)


def test_errors_carry_the_message_and_the_wait() -> None:
    error = error_for(429, "Retry later", retry_after_s=2)
    assert isinstance(error, TransientError) and error.retry_after_s == 2
    assert str(error) == "HTTP 429: Retry later"
    assert isinstance(error_for(400, "TF401320: Rule Error for field State"), PermanentError)


def test_retry_after_in_seconds_as_a_date_or_from_the_reset_header() -> None:
    now = datetime(2024, 3, 4, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "2"}, now=now) == 2
    assert retry_after_seconds({"retry-after": "Mon, 04 Mar 2024 09:00:05 GMT"}, now=now) == 5
    assert retry_after_seconds({"RateLimit-Reset": str(int(now.timestamp()) + 7)}, now=now) == 7
    assert retry_after_seconds({"X-RateLimit-Reset": "3"}, now=now) == 3
    assert retry_after_seconds({}, now=now) is None
    assert retry_after_seconds({"Retry-After": "soon"}, now=now) is None


class _Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_a_transient_error_is_retried_waiting_at_least_the_servers_retry_after() -> None:
    waits: list[float] = []
    flaky = _Flaky([TransientError("429", retry_after_s=2), TransientError("503")])
    assert RetryPolicy(total_s=60, sleep=waits.append).call(flaky) == "done"
    assert flaky.calls == 3
    assert waits[0] >= 2
    assert 0 <= waits[1] <= 30


def test_a_permanent_error_is_not_retried() -> None:
    waits: list[float] = []
    flaky = _Flaky([PermanentError("400 refused state")])
    with pytest.raises(PermanentError):
        RetryPolicy(sleep=waits.append).call(flaky)
    assert flaky.calls == 1 and waits == []


def test_retries_stop_before_a_wait_would_pass_the_total() -> None:
    waits: list[float] = []
    flaky = _Flaky([TransientError("429", retry_after_s=100)] * 5)
    with pytest.raises(TransientError) as error:
        RetryPolicy(total_s=10, sleep=waits.append).call(flaky)
    assert error.value.retry_after_s == 100  # the outbox schedules the next attempt from it
    assert flaky.calls == 1 and waits == []


def test_secrets_are_redacted() -> None:
    assert redact("token glpat-abcdef rejected", ["glpat-abcdef", None, ""]) == "token *** rejected"
