"""Fixtures for the GitLab connector tests: a connector on the simulator, request counts, a fake sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from bridge.config import GitLabProject, GitLabSettings
from connectors.gitlab.connector import GitLabConnector
from connectors.outcomes import RetryPolicy

TOKEN = "glpat-sim-3xampl3t0k3n"  # the simulator's token (conftest.TOKEN)
SECRET = "hook-s3cret-f0r-bridge"
PROJECT = "mhhs/dip-platform"
COMPONENT = "dip-platform"
OTHER = "mhhs/helix-settlement"


class FakeSleep:
    """Stands in for time.sleep in RetryPolicy: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings_for(
    url: str, *, projects: tuple[str, ...] = (PROJECT,), secret: str | None = SECRET, token: str = TOKEN
) -> GitLabSettings:
    return GitLabSettings.model_validate(
        {
            "url": url,
            "token": token,
            "webhook_secret": secret,
            "projects": [GitLabProject(path=p, component=p.rsplit("/", 1)[-1]) for p in projects],
        }
    )


def requests_made(instance: Any) -> dict[str, int]:
    """Requests the simulator served since the last reset, by route."""
    counted: dict[str, int] = requests.get(f"{instance.url}/_sim/stats", timeout=5).json()["requests"]
    return counted


def reset_requests(instance: Any) -> None:
    requests.post(f"{instance.url}/_sim/stats/reset", timeout=5).raise_for_status()


Connect = Callable[..., GitLabConnector]


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def connect(instance: Any, sleep: FakeSleep) -> Connect:
    """Builds a connector on the running simulator; keyword arguments go to settings_for()."""

    def build(**options: Any) -> GitLabConnector:
        extra = {k: options.pop(k) for k in ("sweep_every", "max_webhook_bytes") if k in options}
        return GitLabConnector(
            settings_for(instance.url, **options),
            retry=RetryPolicy(total_s=5, initial_s=0.01, sleep=sleep),
            clock=instance.clock,
            **extra,
        )

    return build


@pytest.fixture
def connector(connect: Connect) -> GitLabConnector:
    return connect()
