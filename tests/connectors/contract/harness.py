"""What the connector contract needs of each connector: a harness on its simulator, and stubs of its HTTP.

A connector joins the contract with a module supplying both (see `gitlab_harness.py` and its two
neighbours), its fixtures registered in `conftest.py`, and a test class that inherits the suite
(`test_contract.py`). Nothing here knows a system's wire format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import requests
import responses

from bridge.connector import Connector
from bridge.domain.actions import Action
from bridge.domain.events import RecordRef, Source
from connectors.outcomes import RetryPolicy


@dataclass(frozen=True)
class Hook:
    """One webhook delivery as the bridge's endpoint receives it."""

    headers: Mapping[str, str]
    body: bytes


def with_header(headers: Mapping[str, str], name: str, value: str | None) -> dict[str, str]:
    """The headers with `name` (in any case) set to `value`, or left out when `value` is None."""
    kept = {k: v for k, v in headers.items() if k.lower() != name.lower()}
    return kept if value is None else {**kept, name: value}


class Harness(Protocol):
    """A connector on its running simulator, and what a person does there."""

    source: Source
    kind: str  # the RecordRef kind of the records the connector reads: release, change, defect
    connector: Connector
    simulator_url: str  # serves the `/_sim/` controls every simulator shares (connectors/simulation.py)
    secret: str  # the webhook credential, which no refusal may repeat

    def now(self) -> datetime:
        """The `now` a poll is given: the simulator's present."""
        ...

    def seed(self) -> set[str]:
        """Put a few records in the simulator; their record keys."""
        ...

    def change(self) -> str:
        """Change one seeded record as a person would (a new revision of it); its record key."""
        ...

    def listen(self) -> None:
        """Have the simulator send its webhooks for changes from now on, with the right credentials."""
        ...

    def received(self) -> list[Hook]:
        """Every webhook delivered so far, in the order received (after the simulator's flush)."""
        ...

    def refused(self, hook: Hook) -> dict[str, Hook]:
        """The delivery resent with credentials the connector must refuse, by what is wrong with them."""
        ...


@dataclass(frozen=True)
class Reply:
    """What a stubbed request gets: a status with headers, or a failure before any reply."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: type[requests.RequestException] | None = None

    def __str__(self) -> str:
        if self.failure is not None:
            return self.failure.__name__
        extra = "".join(f" {k}: {v}" for k, v in self.headers.items())
        return f"{self.status}{extra}"


OK = Reply(200)


def answer(
    http: responses.RequestsMock,
    method: str,
    url: Any,
    replies: Sequence[Reply],
    *,
    ok: Any,
    error: Callable[[int], Any],
) -> None:
    """Register the replies of one request, in order (the last one repeats): `ok` is the body of a 2xx,
    `error(status)` the system's error body for any other status."""
    for reply in replies:
        if reply.failure is not None:
            http.add(method, url, body=reply.failure(f"stubbed {reply.failure.__name__}"))
        else:
            body = ok if 200 <= reply.status < 300 else error(reply.status)
            http.add(method, url, status=reply.status, headers=dict(reply.headers), json=body)


class Stubs(Protocol):
    """A connector to a made-up address whose every reply `responses` gives; the replies under test go
    to one request of each operation, every other request succeeds."""

    # Whether the action apply() is given writes. A conflict while an action only reads (GitLab's
    # check_ancestry) is a busy record, to be read again later, not a change of ours that lost.
    writes: bool

    def connector(self, retry: RetryPolicy) -> Connector: ...

    def stub_poll(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> None:
        """poll(None) meets `replies` (in order) on its first request."""
        ...

    def stub_fetch(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> RecordRef:
        """fetch() of the returned ref meets `replies` on its read of the record."""
        ...

    def stub_apply(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> Action:
        """apply() of the returned action meets `replies` on its write (its read for a read-only action)."""
        ...

    def target(self, action: Action) -> str:
        """The record key of what the action targets (what a conflict hands back)."""
        ...
