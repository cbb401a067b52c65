"""The outbox page and its retry of dead actions with the operator token, and the retry's JSON twin."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from bridge.domain.actions import MoveDefect
from bridge.domain.events import Source
from bridge.service.web.app import create_app
from bridge.service.web.pages import PageOptions
from bridge.service.worker.processor import Processor
from bridge.store.outbox import ActionStatus, Completion, OutboxRow
from tests.pages.conftest import Seeded

TOKEN = "outbox-test-operator-token"
ERROR = "400 the work item does not exist"
_defect_ids = itertools.count(900_001)


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def make_dead(processor: Processor) -> int:
    """A move of a defect ADO does not have, that failed for good; its id."""
    now = datetime.now(UTC)
    move = MoveDefect(next(_defect_ids), 1, "Fixed", "Ready for Retest", "comment", "deployment")
    with processor.store.transaction() as tx:
        tx.outbox.enqueue([move], cause="test", now=now)
        (row,) = [r for r in tx.outbox.claim_due(Source.ADO, 100, "test", now=now) if r.key == move.key]
        tx.outbox.complete(row.id, Completion.dead(ERROR), worker="test", now=now)
    return row.id


def action(processor: Processor, action_id: int) -> OutboxRow:
    with processor.store.transaction(readonly=True) as tx:
        row = tx.outbox.get(action_id)
    assert row is not None
    return row


def retry(client: TestClient, action_id: int, token: str | None) -> Response:
    form = {} if token is None else {"token": token}
    return client.post(f"/outbox/{action_id}/retry", data=form, follow_redirects=False)


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> TestClient:
    return TestClient(create_app(seeded.processor, pages=PageOptions(operator_token=SecretStr(TOKEN))))


@pytest.fixture(scope="module")
def tokenless(seeded: Seeded) -> TestClient:
    return TestClient(create_app(seeded.processor, pages=PageOptions()))


def test_the_page_lists_dead_actions_with_their_last_error_counts_and_a_retry_form(
    seeded: Seeded, client: TestClient
) -> None:
    dead = make_dead(seeded.processor)
    page = client.get("/outbox")
    assert page.status_code == 200
    html = page.text
    row = re.search(rf'<tr id="action-{dead}">.*?</tr>', html, re.S)
    assert row, "the dead action is listed"
    assert ERROR in row.group(
        0
    ) and f"move_defect:{dead_defect(seeded, dead)}:1:Ready for Retest" in row.group(0)
    form = f'<form class="retry" method="post" action="/outbox/{dead}/retry">'
    assert form in row.group(0)
    assert f'<label for="token-{dead}">Operator token</label>' in row.group(0)
    assert f'<input type="password" id="token-{dead}" name="token"' in row.group(0)
    counts = client.get("/api/outbox/counts").json()
    assert f"<li><strong>{counts['dead']}</strong>dead</li>" in html
    assert f'<h2 id="dead">Dead: failed for good, waiting for an operator ({counts["dead"]})</h2>' in html
    assert '<h2 id="retry">' in html and '<h2 id="pending">' in html
    assert '<a href="/outbox" aria-current="page">Outbox</a>' in html
    assert TOKEN not in html


def dead_defect(seeded: Seeded, action_id: int) -> int:
    return int(action(seeded.processor, action_id).payload["defect_id"])


def test_the_right_token_revives_a_dead_action(seeded: Seeded, client: TestClient) -> None:
    dead = make_dead(seeded.processor)
    answer = retry(client, dead, TOKEN)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/outbox?retried={dead}#dead"
    revived = action(seeded.processor, dead)
    assert (revived.status, revived.attempts, revived.last_error) == (ActionStatus.PENDING, 0, ERROR)
    assert revived.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=1)
    shown = client.get(answer.headers["location"]).text
    assert f"Action {dead} is queued again with a fresh budget of attempts." in shown
    assert f'<tr id="action-{dead}">' in shown.split('<h2 id="pending">')[1], "now pending"
    assert TOKEN not in answer.text + shown

    # It is no longer dead: a second retry is refused and changes nothing.
    again = retry(client, dead, TOKEN)
    assert again.status_code == 409 and "is pending, not dead" in again.text
    assert action(seeded.processor, dead) == revived


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (None, "No operator token was given, so nothing was retried."),
        ("", "No operator token was given, so nothing was retried."),
        ("not-the-token", "That is not the operator token, so nothing was retried."),
        (TOKEN + "x", "That is not the operator token, so nothing was retried."),
    ],
)
def test_a_wrong_or_missing_token_is_refused_and_nothing_changes(
    seeded: Seeded, client: TestClient, token: str | None, words: str
) -> None:
    dead = make_dead(seeded.processor)
    before = action(seeded.processor, dead)
    answer = retry(client, dead, token)
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert words in answer.text and 'role="alert"' in answer.text
    assert action(seeded.processor, dead) == before
    assert TOKEN not in answer.text
    if token:
        assert token not in answer.text, "the token given is not echoed either"
    # Retrying all of them is refused the same way.
    every = client.post("/outbox/retry-dead", data={} if token is None else {"token": token})
    assert every.status_code == 403 and action(seeded.processor, dead) == before


def test_without_a_configured_token_retrying_from_the_pages_is_refused(
    seeded: Seeded, tokenless: TestClient
) -> None:
    dead = make_dead(seeded.processor)
    page = tokenless.get("/outbox").text
    assert "Retrying from the pages is turned off: no operator token is configured." in page
    assert "BRIDGE_SERVICE__OPERATOR_TOKEN" in page and "service.operator_token" in page
    assert f'action="/outbox/{dead}/retry"' not in page, "no form that cannot work"
    before = action(seeded.processor, dead)
    for token in (None, "", "anything"):
        answer = retry(tokenless, dead, token)
        assert answer.status_code == 403
        assert "no operator token is configured" in answer.text
        assert action(seeded.processor, dead) == before
    api = tokenless.post(f"/api/outbox/{dead}/retry", headers={"Authorization": "Bearer anything"})
    assert api.status_code == 403 and "BRIDGE_SERVICE__OPERATOR_TOKEN" in api.json()["detail"]


def test_unknown_actions_are_404_and_retry_all_revives_every_dead_one(
    seeded: Seeded, client: TestClient
) -> None:
    unknown = retry(client, 987_654_321, TOKEN)
    assert unknown.status_code == 404 and "There is no action 987654321 in the outbox." in unknown.text
    assert retry(client, 0, TOKEN).status_code == 422

    dead = [make_dead(seeded.processor) for _ in range(2)]
    answer = client.post("/outbox/retry-dead", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/outbox?revived=")
    assert int(answer.headers["location"].split("=")[1].split("#")[0]) >= 2
    assert {action(seeded.processor, i).status for i in dead} == {ActionStatus.PENDING}
    assert client.get("/api/outbox/counts").json()["dead"] == 0
    assert "None." in client.get("/outbox").text.split('<h2 id="dead">')[1].split("<h2")[0]


def test_the_json_twin_retries_with_a_bearer_token(seeded: Seeded, client: TestClient) -> None:
    dead = make_dead(seeded.processor)
    url = f"/api/outbox/{dead}/retry"
    missing = client.post(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json() == {"detail": "that is not the operator token"}
    basic = client.post(url, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert action(seeded.processor, dead).status is ActionStatus.DEAD

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    done = client.post(url, headers=bearer)
    assert done.status_code == 200
    assert (done.json()["id"], done.json()["status"], done.json()["attempts"]) == (dead, "pending", 0)
    assert action(seeded.processor, dead).status is ActionStatus.PENDING
    conflict = client.post(url, headers=bearer)
    assert conflict.status_code == 409 and "pending, not dead" in conflict.json()["detail"]
    assert client.post("/api/outbox/987654321/retry", headers=bearer).status_code == 404
    assert "/api/outbox/{action_id}/retry" in client.get("/openapi.json").json()["paths"]
    for answer in (missing, wrong, basic, done, conflict):
        assert TOKEN not in answer.text
