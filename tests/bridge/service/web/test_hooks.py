"""The webhook intake on its own: deliveries that arrive together are stored in one transaction, and yet
each is answered for itself (stored, a duplicate, refused, or not stored at all)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bridge.connector import WebhookRejectedError
from bridge.domain.events import Source
from bridge.service.runtime.metrics import ServiceMetrics
from bridge.service.web.hooks import MAX_GROUP, WebhookIntake
from bridge.store import Store
from bridge.store.inbox import Delivery, InboxKind


@dataclass
class Intake:
    """Takes a JSON body {"key": ..., "value": ...}; refuses one whose token header is not "right"."""

    store: Store
    connectors: frozenset[Source] = frozenset({Source.GITLAB, Source.ADO})
    verified: int = 0
    woken: list[Source] = field(default_factory=list)

    def verify_webhook(self, source: Source, headers: Mapping[str, str], body: bytes) -> Delivery:
        self.verified += 1
        if headers.get("x-token") != "right":
            raise WebhookRejectedError(401, "the X-Token header does not match")
        if body == b"fault":
            raise KeyError("a fault of the parser's")
        data = json.loads(body)
        return Delivery(source, data["key"], InboxKind.WEBHOOK, {"value": data["value"]})


def _commits(store: Store) -> list[int]:
    """A list that grows by one at each commit on the store."""
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _connection: commits.append(1))
    return commits


async def _post_all(
    app: WebhookIntake, bodies: list[tuple[str, dict[str, Any], str]]
) -> list[httpx.Response]:
    """Every (system, body, token) posted at once, as many senders would."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        return await asyncio.gather(
            *(
                client.post(f"/hooks/{system}", json=body, headers={"X-Token": token})
                for system, body, token in bodies
            )
        )


def _stored(store: Store) -> dict[str, Any]:
    with store.transaction(readonly=True) as tx:
        rows = [tx.inbox.get(n) for n in range(1, 1000)]
    return {row.delivery_key: row.payload["value"] for row in rows if row is not None}


def test_deliveries_arriving_together_share_a_commit_and_each_gets_its_own_answer(store: Store) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store), on_accepted=intake.woken.append)
    commits = _commits(store)
    senders = [("gitlab", {"key": f"k{n}", "value": n}, "right") for n in range(60)]
    answers = asyncio.run(_post_all(app, senders))
    assert [a.status_code for a in answers] == [202] * 60
    ids = [a.json()["inbox_id"] for a in answers]
    assert len(set(ids)) == 60
    assert _stored(store) == {f"k{n}": n for n in range(60)}
    assert len(commits) < 10, f"{len(commits)} commits for 60 deliveries sent together"
    # The worker is woken once per group, not once per delivery.
    assert 1 <= len(intake.woken) <= len(commits) and set(intake.woken) == {Source.GITLAB}


def test_in_one_group_refused_duplicate_and_new_deliveries_are_answered_each_for_itself(store: Store) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store))
    asyncio.run(_post_all(app, [("ado", {"key": "old", "value": 0}, "right")]))
    senders = [
        ("gitlab", {"key": "a", "value": 1}, "right"),
        ("ado", {"key": "old", "value": 99}, "right"),  # sent again: stored once, as it was
        ("gitlab", {"key": "b", "value": 2}, "wrong"),
        ("gitlab", {"key": "a", "value": 1}, "right"),  # twice in one group
        ("servicenow", {"key": "c", "value": 3}, "right"),  # not configured on this bridge
        ("ado", {"key": "d", "value": 4}, "right"),
    ]
    answers = asyncio.run(_post_all(app, senders))
    assert [a.status_code for a in answers] == [202, 200, 401, 200, 404, 202]
    assert answers[0].json()["inbox_id"] == answers[3].json()["inbox_id"]
    assert answers[1].json() == {"stored": True, "duplicate": True, "inbox_id": 1}
    assert "X-Token" in answers[2].json()["error"]
    assert "servicenow is not configured" in answers[4].json()["error"]
    assert _stored(store) == {"old": 0, "a": 1, "d": 4}


def test_a_delivery_the_bridge_fails_to_read_is_answered_500_alone(store: Store) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store))

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
            good = [
                client.post("/hooks/gitlab", json={"key": f"k{n}", "value": n}, headers={"X-Token": "right"})
                for n in range(3)
            ]
            bad = client.post("/hooks/gitlab", content=b"fault", headers={"X-Token": "right"})
            return await asyncio.gather(good[0], bad, good[1], good[2])

    answers = asyncio.run(send_all())
    assert [a.status_code for a in answers] == [202, 500, 202, 202]
    assert "log" in answers[1].json()["error"]
    assert _stored(store) == {"k0": 0, "k1": 1, "k2": 2}


def test_more_deliveries_than_a_group_takes_are_all_stored(store: Store) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store))
    count = MAX_GROUP * 2 + 7
    answers = asyncio.run(
        _post_all(app, [("gitlab", {"key": f"k{n}", "value": n}, "right") for n in range(count)])
    )
    assert [a.status_code for a in answers] == [202] * count
    assert len(_stored(store)) == count


def test_a_store_that_fails_answers_every_delivery_of_the_group_503_with_retry_after(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store), on_accepted=intake.woken.append)

    def unavailable(**_: Any) -> Any:
        raise OperationalError("BEGIN", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "transaction", unavailable)
    answers = asyncio.run(
        _post_all(app, [("gitlab", {"key": f"k{n}", "value": n}, "right") for n in range(5)])
    )
    assert [a.status_code for a in answers] == [503] * 5
    assert all(a.headers["retry-after"] == "5" and "unavailable" in a.json()["error"] for a in answers)
    assert intake.woken == []
    monkeypatch.undo()
    assert _stored(store) == {}
    # Sent again once the store is back, they are stored.
    answers = asyncio.run(
        _post_all(app, [("gitlab", {"key": f"k{n}", "value": n}, "right") for n in range(5)])
    )
    assert [a.status_code for a in answers] == [202] * 5


def test_a_delivery_the_store_cannot_hold_is_refused_alone(store: Store, store_backend: str) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store))
    senders = [("gitlab", {"key": f"k{n}", "value": "fine"}, "right") for n in range(4)]
    senders.insert(2, ("gitlab", {"key": "nul", "value": "a\u0000b"}, "right"))
    answers = asyncio.run(_post_all(app, senders))
    if store_backend == "postgresql":  # its text and JSONB cannot hold a NUL character
        assert [a.status_code for a in answers] == [202, 202, 422, 202, 202]
        assert "NUL" in answers[2].json()["error"]
        assert set(_stored(store)) == {"k0", "k1", "k2", "k3"}
    else:
        assert [a.status_code for a in answers] == [202] * 5
        assert _stored(store)["nul"] == "a\u0000b"


def test_other_methods_sizes_and_draining(store: Store) -> None:
    intake = Intake(store)
    draining = False
    app = WebhookIntake(intake, ServiceMetrics(store), max_webhook_bytes=100, accepting=lambda: not draining)
    client = TestClient(app)
    got = client.get("/hooks/gitlab")
    assert got.status_code == 405 and got.headers["allow"] == "POST"
    assert client.post("/hooks/jira", json={}).status_code == 404
    big = client.post("/hooks/gitlab", json={"key": "k", "value": "x" * 200}, headers={"X-Token": "right"})
    assert big.status_code == 413 and "100 bytes" in big.json()["error"]
    answer = client.post("/hooks/gitlab", json={"key": "k", "value": 1}, headers={"X-Token": "right"})
    # The answers carry the service's security headers like every other.
    assert answer.status_code == 202 and answer.headers["x-content-type-options"] == "nosniff"
    draining = True
    refused = client.post("/hooks/gitlab", json={"key": "j", "value": 1}, headers={"X-Token": "right"})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert intake.verified == 1 and _stored(store) == {"k": 1}


def test_a_sender_gone_before_its_body_is_whole_is_neither_stored_nor_answered(store: Store) -> None:
    intake = Intake(store)
    app = WebhookIntake(intake, ServiceMetrics(store))
    messages = [
        {"type": "http.request", "body": b'{"key": "k", ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/hooks/gitlab",
        "headers": [(b"x-token", b"right")],
        "scheme": "http",
    }
    asyncio.run(app(scope, receive, send))
    assert sent == [] and intake.verified == 0 and _stored(store) == {}
