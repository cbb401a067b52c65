"""/outbox in Chromium, served by a running bridge after a deployment: a dead action is refused a retry
without the operator token and queued again with it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from bridge.domain.actions import MoveDefect
from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from bridge.store.outbox import ActionStatus
from bridge.store.schema import outbox
from tests.browser_fixtures import Screenshot
from tests.pages.conftest import MOVED, RunningBridge, deployed, wait_for

ERROR = "gave up after 8 attempts: 503 Service Unavailable"
DEAD = "Dead: failed for good, waiting for an operator ({})"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def write_dead_action(box: Sandbox) -> int:
    """A move that failed for good, written into the running bridge's store (the test owns its file).

    The defect has moved on since (the move expects revision 1), so a retry ends without writing: ADO's
    revision test fails and the bridge leaves the defect to its engine.
    """
    move = MoveDefect(box.seeded.defects[MOVED], 1, "Fixed", "Ready for Retest", "Fixed in a test", "test")
    store = Store.from_url(f"sqlite:///{(box.work_dir / 'bridge.db').as_posix()}")
    try:
        with store.transaction() as tx:
            tx.outbox.enqueue([move], cause="test")
            # Dead in the same transaction, so no dispatcher ever sees it pending.
            tx.connection.execute(
                update(outbox)
                .where(outbox.c.key == move.key)
                .values(status=ActionStatus.DEAD.value, attempts=8, last_error=ERROR)
            )
            row = tx.outbox.by_key(move.key)
        assert row is not None
        return row.id
    finally:
        store.close()


def test_a_dead_action_is_retried_with_the_token_and_refused_without_it(
    page: Page, screenshot: Screenshot, running_bridge: RunningBridge
) -> None:
    box, url = running_bridge.box, running_bridge.url
    deployed(running_bridge)
    dead = write_dead_action(box)
    token = box.secrets.operator_token

    page.goto(f"{url}/outbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    row = page.locator(f"#action-{dead}")
    expect(row).to_contain_text(ERROR)
    expect(page.get_by_role("heading", name=DEAD.format(1))).to_be_visible()
    screenshot(page, "dead")

    # Without a token the form is not sent at all (the field is required)...
    field = row.get_by_label("Operator token")
    field.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/outbox")
    assert page.evaluate("document.activeElement.validity.valueMissing") is True
    # ... and with a wrong one the bridge refuses and changes nothing.
    field.fill("not-the-operator-token")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/outbox/{dead}/retry")
    expect(page.get_by_role("alert")).to_have_text(
        "That is not the operator token, so nothing was retried. Nothing has changed."
    )
    assert "not-the-operator-token" not in page.content()
    assert _json(f"{url}/api/outbox/dead")["items"][0]["id"] == dead
    screenshot(page, "refused")

    # With the operator token, typed into the field and sent with the keyboard, it is queued again.
    field = page.locator(f"#action-{dead}").get_by_label("Operator token")
    field.focus()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/outbox?retried={dead}#dead")
    expect(page.get_by_role("status").first).to_have_text(
        f"Action {dead} is queued again with a fresh budget of attempts."
    )
    assert token not in page.content()
    expect(page.get_by_role("heading", name=DEAD.format(0))).to_be_visible()
    screenshot(page, "retried")

    # The bridge takes it up again: its writer finds the defect moved on, and the action is finished.
    def finished() -> bool:
        actions = _json(f"{url}/api/outbox?limit=500")["items"]
        return [a["status"] for a in actions if a["id"] == dead] in (["skipped"], ["done"])

    wait_for(finished, "the retried action to be taken up and finished", timeout=60)
    assert _json(f"{url}/api/outbox/counts")["dead"] == 0
