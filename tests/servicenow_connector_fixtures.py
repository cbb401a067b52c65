"""Fixtures for the ServiceNow connector tests: an instance with the mapped fields, and connectors to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from bridge.config import ServiceNowSettings
from bridge.mappings import ServiceNowMapping, servicenow_mapping
from connectors.outcomes import RetryPolicy
from connectors.servicenow.connector import ServiceNowConnector
from connectors.servicenow.simulator import ServiceNowSimulator
from connectors.simulation import RunningServer

USER, PASSWORD, SECRET = "bridge.integration", "s3cret-pw", "bridge-shared-key"
FIELDS = {"environment": "u_environment", "release": "u_release", "governance": "u_governance_approval"}
EXTRA_FIELDS = tuple(FIELDS.values())


def change_row(sys_id: str, **fields: str) -> dict[str, str]:
    """A change_request row as the Table API returns it (stored values), the mapped fields empty unless
    `fields` sets them."""
    return {
        "sys_id": sys_id,
        "number": "CHG0000001",
        "sys_mod_count": "4",
        "sys_updated_on": "2024-05-01 10:00:00",
        "state": "-2",
        "type": "normal",
        "approval": "approved",
        "close_code": "",
        "close_notes": "",
        "start_date": "2024-05-02 08:00:00",
        "end_date": "2024-05-02 10:00:00",
        "cab_date": "2024-05-01",
        "short_description": "Deploy dip-platform 1.0.2.0",
        "description": "",
        "correlation_id": "",
        "correlation_display": "",
        **dict.fromkeys(EXTRA_FIELDS, ""),
        **fields,
    }


@dataclass
class Sleeps:
    """A sleep that records the waits it was asked for and returns at once."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings_for(url: str, **overrides: Any) -> ServiceNowSettings:
    values: dict[str, Any] = {
        "url": url,
        "user": USER,
        "password": PASSWORD,
        "webhook_secret": SECRET,
        "fields": FIELDS,
    }
    values.update(overrides)
    return ServiceNowSettings(**values)


@pytest.fixture
def snow_mapping() -> ServiceNowMapping:
    return servicenow_mapping()


@pytest.fixture
def snow_sleeps() -> Sleeps:
    return Sleeps()


@dataclass(frozen=True)
class Snow:
    """A simulated instance on loopback with the mapped fields, and its clock."""

    sim: ServiceNowSimulator
    server: RunningServer
    clock: Any

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, path: str) -> str:
        return f"{self.server.url}/api/now{path}"

    def stats(self) -> dict[str, int]:
        """Requests served since the counters were last reset, by route (GET /_sim/stats)."""
        reply = requests.get(f"{self.url}/_sim/stats", timeout=5)
        by_route: dict[str, int] = reply.json()["requests"]
        return by_route

    def reset_stats(self) -> None:
        self.sim.stats.reset()


@pytest.fixture
def snow(clock: Any, receiver: Any, _switched: Any) -> Iterator[Snow]:
    """A simulated instance with the mapped fields, posting signed change events to the receiver."""
    switch, server = _switched
    sim = ServiceNowSimulator(
        user=USER,
        password=PASSWORD,
        extra_fields=EXTRA_FIELDS,
        event_url=receiver.url,
        event_secret=SECRET,
        clock=clock,
    )
    switch.app = sim.app
    yield Snow(sim, server, clock)
    switch.app = None
    sim.close()


@pytest.fixture
def make_snow_connector(
    snow_mapping: ServiceNowMapping, snow_sleeps: Sleeps
) -> Callable[..., ServiceNowConnector]:
    """Builds a connector to a URL; fake sleeps, a short retry total, any settings overridden."""

    def make(url: str, *, total_s: float = 5.0, **options: Any) -> ServiceNowConnector:
        settings_options = {k: options.pop(k) for k in list(options) if k in ServiceNowSettings.model_fields}
        retry = RetryPolicy(total_s=total_s, max_backoff_s=1.0, initial_s=0.01, sleep=snow_sleeps)
        return ServiceNowConnector(
            settings_for(url, **settings_options), snow_mapping, retry=retry, **options
        )

    return make


@pytest.fixture
def snow_connector(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> ServiceNowConnector:
    return make_snow_connector(snow.url)
