"""GitLab simulator: injected 429, 500, 503, dropped connections and latency, as python-gitlab meets them."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime
from typing import Any

import gitlab
import pytest
import requests


def _seed_firing_once(rate: float) -> int:
    """A seed whose first draw fires a fault of this rate and whose second does not."""
    for seed in range(1000):
        draws = random.Random(seed)
        if draws.random() < rate <= draws.random():
            return seed
    raise AssertionError("no seed found")


def _set(instance: Any, **faults: float) -> None:
    reply = requests.post(f"{instance.url}/_sim/faults", json=faults)
    assert reply.status_code == 200, reply.text


def _requests_made(instance: Any) -> int:
    return int(requests.get(f"{instance.url}/_sim/stats").json()["total"])


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits python-gitlab's Retry asks for, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("gitlab.utils.time.sleep", waited.append)
    return waited


def test_a_429_carries_gitlabs_rate_limit_headers(instance: Any, project: dict[str, Any]) -> None:
    _set(instance, rate_429=1, retry_after_s=7)
    before = int(time.time())
    reply = requests.get(instance.api("projects/1"), headers=instance.auth)
    assert (reply.status_code, reply.text) == (429, "Retry later\n")
    h = reply.headers
    assert h["Retry-After"] == "7"
    assert h["RateLimit-Name"] == "throttle_authenticated_api"
    assert int(h["RateLimit-Observed"]) > int(h["RateLimit-Limit"]) and h["RateLimit-Remaining"] == "0"
    assert before + 7 <= int(h["RateLimit-Reset"]) <= int(time.time()) + 7
    assert parsedate_to_datetime(h["RateLimit-ResetTime"]).timestamp() == int(h["RateLimit-Reset"])


def test_python_gitlab_waits_the_retry_after_and_succeeds(
    instance: Any, gl: gitlab.Gitlab, project: dict[str, Any], sleeps: list[float]
) -> None:
    _set(instance, rate_429=0.5, retry_after_s=3, seed=_seed_firing_once(0.5))
    assert gl.projects.get(1).path == "dip-platform"
    assert sleeps == [3]
    assert _requests_made(instance) == 2


def test_python_gitlab_gives_up_after_max_retries(
    instance: Any, project: dict[str, Any], sleeps: list[float]
) -> None:
    _set(instance, rate_429=1, retry_after_s=1)
    with pytest.raises(gitlab.GitlabGetError) as caught:
        instance.client().projects.get(1, max_retries=2)
    assert caught.value.response_code == 429
    assert _requests_made(instance) == 3
    assert sleeps == [1, 1]


@pytest.mark.parametrize(
    ("status", "body"), [(500, "500 Internal Server Error"), (503, "503 Service Unavailable")]
)
def test_a_server_error_fails_at_once_by_default(
    instance: Any, gl: gitlab.Gitlab, project: dict[str, Any], status: int, body: str
) -> None:
    _set(instance, **{f"rate_{status}": 1})
    raw = requests.get(instance.api("projects/1"), headers=instance.auth)
    assert (raw.status_code, raw.json()) == (status, {"message": body})
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.projects.get(1)
    assert (caught.value.response_code, caught.value.error_message) == (status, body)
    assert _requests_made(instance) == 2, "one raw request, one from the client: no retry"


def test_a_server_error_is_retried_with_retry_transient_errors(
    instance: Any, project: dict[str, Any], sleeps: list[float]
) -> None:
    _set(instance, rate_503=0.5, seed=_seed_firing_once(0.5))
    client = instance.client(retry_transient_errors=True)
    assert client.projects.get(1).id == 1
    assert _requests_made(instance) == 2
    assert sleeps == [0.1], "backoff 0.1 * 2^0: a 503 has no Retry-After"


def test_a_dropped_connection_raises_unless_transient_errors_are_retried(
    instance: Any, project: dict[str, Any], sleeps: list[float]
) -> None:
    seed = _seed_firing_once(0.5)
    _set(instance, rate_drop=0.5, seed=seed)
    with pytest.raises(requests.exceptions.RequestException):
        instance.client().projects.get(1)
    _set(instance, seed=seed)
    assert instance.client(retry_transient_errors=True).projects.get(1).id == 1


def test_latency_slows_every_api_request_but_not_the_controls(
    instance: Any, gl: gitlab.Gitlab, project: dict[str, Any]
) -> None:
    _set(instance, latency_ms=150)
    started = time.monotonic()
    gl.projects.get(1)
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    requests.get(f"{instance.url}/_sim/stats")
    assert time.monotonic() - started < 0.15
