"""The releases pages in Chromium, served by a running bridge on the sandbox after a deployment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import Screenshot
from tests.pages.conftest import MOVED, RFC, RunningBridge, deployed

# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def test_the_release_page_shows_the_moved_defect_and_the_rfc(
    page: Page, screenshot: Screenshot, running_bridge: RunningBridge
) -> None:
    box = running_bridge.box
    deployed(running_bridge)
    moved = box.seeded.defects[MOVED]
    rfc = box.seeded.rfcs[RFC]
    # Anything the security policy blocks is reported on the console: the pages must need none of it.
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    # The releases list: the release with its RFC and one defect moved, filtered by environment.
    answer = page.goto(f"{running_bridge.url}/")
    assert answer is not None and "style-src 'self'" in answer.headers["content-security-policy"]
    # The bridge's own stylesheet applies under the policy (the skip link waits above the page).
    assert page.evaluate("getComputedStyle(document.querySelector('.skip-link')).position") == "absolute"
    expect(page.get_by_role("heading", level=1)).to_have_text("Releases")
    page.get_by_label("Deployed to").select_option("SIT-B")
    page.get_by_role("button", name="Show releases").click()
    page.wait_for_url(re.compile(r".*environment=SIT-B.*"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="helix-settlement 1.1.0.0"))
    expect(row).to_contain_text(rfc)
    expect(row.get_by_text("1 moved")).to_be_visible()
    screenshot(page, "releases")

    # Open the release with the keyboard.
    link = page.get_by_role("link", name="helix-settlement 1.1.0.0")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/releases/helix-settlement/1.1.0.0")
    expect(page.get_by_role("heading", level=1)).to_have_text("helix-settlement 1.1.0.0")

    rfcs = page.locator("h2#rfcs + table")
    rfc_link = rfcs.get_by_role("link", name=rfc)
    expect(rfc_link).to_have_attribute(
        "href", re.compile(rf"change_request\.do\?sys_id={box.seeded.rfc_sys_ids[RFC]}")
    )
    expect(rfcs).to_contain_text("Review")

    defects = page.locator("table.defects")
    defect_row = defects.get_by_role("row").filter(has=page.get_by_role("link", name=str(moved), exact=True))
    expect(defect_row).to_contain_text("Ready for Retest")
    expect(defect_row).to_contain_text(f"moved to Ready for Retest for the deployment to SIT-B under {rfc}")
    expect(defect_row).to_contain_text("Fixed → Ready for Retest, done")
    expect(defect_row.get_by_role("link", name=str(moved), exact=True)).to_have_attribute(
        "href", re.compile(rf"/_workitems/edit/{moved}$")
    )
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("deployed to SIT-B under " + rfc)
    expect(timeline).to_contain_text(f"defect {moved} moved from Fixed to Ready for Retest")
    screenshot(page, "release")

    # On paper: no navigation, the tables kept.
    page.emulate_media(media="print")
    expect(page.locator("header nav")).to_be_hidden()
    expect(defects).to_be_visible()
    screenshot(page, "release-print")
    assert blocked == []
