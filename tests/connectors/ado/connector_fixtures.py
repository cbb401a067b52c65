"""Fixtures for the ADO connector tests: a connector on the simulator, request counts, a fake sleep."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.config import AdoSettings, PolicySettings
from connectors.ado.connector import AdoConnector
from connectors.outcomes import RetryPolicy

PAT = "pat-for-tests"  # the simulator's PAT (conftest.PAT)
ORG = "mhhs"
PROJECT = "Programme"
HOOK_USER = "bridge-hooks"
HOOK_PASSWORD = "hook-pa55word-for-tests"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ado"
POLICY = PolicySettings(eligible_states=("Fixed",))


class FakeSleep:
    """Stands in for time.sleep in RetryPolicy: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings_for(
    url: str,
    *,
    pat: str = PAT,
    webhook_header: str | None = None,
    webhook_password: str | None = HOOK_PASSWORD,
    parallel_requests: int = 4,
) -> AdoSettings:
    return AdoSettings.model_validate(
        {
            "organization_url": f"{url}/{ORG}",
            "project": PROJECT,
            "pat": pat,
            "work_item_type": "Defect",
            "webhook_user": HOOK_USER,
            "webhook_password": webhook_password,
            "webhook_header": webhook_header,
            "parallel_requests": parallel_requests,
        }
    )


DISCOVERY = "OPTIONS /{org}/_apis"


def requests_made(url: str, *, discovery: bool = False) -> dict[str, int]:
    """Requests the simulator served since the last reset, by route template.

    The SDK asks for the resource locations once per process and URL (api-contracts.md 2.2); that
    first-contact OPTIONS is left out unless asked for, so counts do not depend on test order.
    """
    counted: dict[str, int] = requests.get(f"{url}/_sim/stats", timeout=5).json()["requests"]
    return {k: v for k, v in counted.items() if discovery or k != DISCOVERY}


def reset_requests(url: str) -> None:
    requests.post(f"{url}/_sim/stats/reset", timeout=5).raise_for_status()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def later(seconds: float = 5) -> datetime:
    """A poll's `now` a little after the simulator's own clock."""
    return datetime.now(UTC) + timedelta(seconds=seconds)


Connect = Callable[..., AdoConnector]


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def connect(ado: Any, sleep: FakeSleep) -> Connect:
    """Builds a connector on the running simulator; keywords go to settings_for() or the constructor."""

    def build(**options: Any) -> AdoConnector:
        extra = {
            k: options.pop(k) for k in ("max_webhook_bytes", "overlap", "page_size", "clock") if k in options
        }
        return AdoConnector(
            settings_for(ado.url, **options),
            retry=RetryPolicy(total_s=5, initial_s=0.01, sleep=sleep),
            policy=POLICY,
            **extra,
        )

    return build


@pytest.fixture
def connector(connect: Connect) -> AdoConnector:
    return connect()
