"""/environments in Chromium, served by a running bridge after an RFC deployed a release: the matrix
drills down to a pair's history, with the keyboard and with the mouse."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import Screenshot
from tests.pages.conftest import RFC, RunningBridge, deployed, wait_for

# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _sit_b_runs_helix_1100(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/api/environments", timeout=5) as answer:
        environments = {e["name"]: e["components"] for e in json.load(answer)}
    return any(
        (c["component"], c["version"]) == ("helix-settlement", "1.1.0.0") for c in environments["SIT-B"]
    )


def test_a_cell_of_the_matrix_drills_down_to_its_history(
    page: Page, screenshot: Screenshot, running_bridge: RunningBridge
) -> None:
    box = running_bridge.box
    deployed(running_bridge)
    wait_for(lambda: _sit_b_runs_helix_1100(running_bridge.url), "SIT-B to run helix-settlement 1.1.0.0")
    rfc = box.seeded.rfcs[RFC]

    page.goto(f"{running_bridge.url}/environments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Environments")
    matrix = page.get_by_role("table", name="Deployed now, by environment and component")
    sit_b = matrix.get_by_role("row").filter(has=page.get_by_role("rowheader", name="SIT-B"))
    expect(sit_b).to_contain_text("1.1.0.0")
    expect(sit_b).to_contain_text(f"RFC {rfc}")
    expect(matrix.get_by_role("columnheader", name="helix-settlement")).to_contain_text(
        "newest release: 1.1.0.0"
    )
    # The stylesheet applied: the matrix's header cells are ruled.
    assert page.evaluate("getComputedStyle(document.querySelector('thead th')).borderBottomStyle") == "solid"
    screenshot(page, "matrix")

    # With the keyboard: tab to the cell's link (its name says which pair it is), then Enter.
    cell = page.get_by_role("link", name="1.1.0.0 of helix-settlement in SIT-B: history")
    target = "/environments/SIT-B/helix-settlement"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target:
            break
    expect(cell).to_be_focused()
    # Where the focus is shows: the focus ring is drawn.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    screenshot(page, "matrix-focus")
    page.keyboard.press("Enter")
    page.wait_for_url("**/environments/SIT-B/helix-settlement")

    expect(page.get_by_role("heading", level=1)).to_have_text("helix-settlement in SIT-B")
    history = page.get_by_role("table", name="History of helix-settlement in SIT-B")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("1.1.0.0")
    expect(rows.nth(0)).to_contain_text(rfc)
    expect(rows.nth(0)).to_contain_text("current")
    expect(rows.nth(1)).to_contain_text("1.0.0.0")
    expect(rows.nth(1)).to_contain_text("replaced")
    screenshot(page, "history")

    # With the mouse: back to the matrix by its link, and an empty cell leads to an empty history.
    page.get_by_role("link", name="All environments").click()
    page.wait_for_url("**/environments")
    page.get_by_role("link", name="helix-settlement not deployed in UIT: history").click()
    page.wait_for_url("**/environments/UIT/helix-settlement")
    expect(page.locator("main")).to_contain_text("No version of helix-settlement has been deployed to UIT.")

    # On paper the navigation goes; the history stays.
    page.goto(f"{running_bridge.url}/environments/SIT-B/helix-settlement")
    page.emulate_media(media="print")
    expect(page.locator("nav")).to_be_hidden()
    expect(page.get_by_role("table")).to_be_visible()
    screenshot(page, "history-print")
