"""/report in Chromium, served by a running bridge on the sandbox after an RFC deployed a release."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import Screenshot
from tests.pages.conftest import (
    MOVED,
    SINCE,
    RunningBridge,
    deployed,
)

# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def test_the_report_shows_the_defects_the_deployment_moved(
    page: Page, screenshot: Screenshot, running_bridge: RunningBridge
) -> None:
    box = running_bridge.box
    deployed(running_bridge)

    page.goto(f"{running_bridge.url}/report?since={SINCE}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Readiness report")
    moved = box.seeded.defects[MOVED]
    moves = page.locator("h2#moves + table")
    row = moves.get_by_role("row").filter(has=page.get_by_role("cell", name=str(moved), exact=True))
    expect(row).to_contain_text("helix-settlement 1.1.0.0")
    expect(row).to_contain_text("SIT-B")
    expect(row).to_contain_text("Ready for Retest")
    # The stylesheet is the bridge's own and it applied.
    assert page.evaluate("getComputedStyle(document.querySelector('thead th')).borderBottomStyle") == "solid"
    shot = screenshot(page, "report")
    assert shot.stat().st_size > 10_000

    # The keyboard's first stop is the skip link, and it lands on the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # The period can be changed from the page, with the keyboard alone.
    page.locator("#since").focus()
    page.keyboard.type("01012099")
    page.get_by_role("button", name="Show the period").press("Enter")
    page.wait_for_url("**/report?since=2099-01-01")
    # A period that starts after today is refused, not shown empty.
    expect(page.locator("body")).to_contain_text("since is after today")

    page.goto(f"{running_bridge.url}/report?since={SINCE}")
    page.emulate_media(media="print")
    expect(page.locator("nav")).to_be_hidden()
    screenshot(page, "report-print")
