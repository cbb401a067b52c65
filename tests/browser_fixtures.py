"""Browser fixtures: Debian's Chromium driven by Playwright, and screenshots kept for a person to look at.

Use from a test folder's conftest.py with `from tests.browser_fixtures import *`.

- `browser_context`: one headless Chromium for the session, with a fresh profile.
- `page`: a new tab per test, closed after it.
- `screenshot`: `screenshot(page, "name")` saves a full-page PNG under the artifacts folder.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium (BRIDGE_CHROMIUM
names another). When Chromium is absent the browser tests skip, unless BRIDGE_REQUIRE_BROWSER=1 (CI),
when they fail. Screenshots go to $BRIDGE_TEST_ARTIFACTS/screenshots, default var/test-artifacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Error, Page, sync_playwright

__all__ = ["artifacts_dir", "browser_context", "page", "screenshot"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# What Chromium needs on these machines: root without a sandbox, no GPU, and no calls home
# (QUIC, sync, component updates and background fetches would wait on a network that is not there).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}

Screenshot = Callable[[Page, str], Path]


def chromium_path() -> Path:
    return Path(os.environ.get("BRIDGE_CHROMIUM", DEFAULT_CHROMIUM))


def _unavailable(reason: str) -> None:
    if os.environ.get("BRIDGE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (BRIDGE_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where test outputs a person may want to see are kept (not under a temporary folder)."""
    folder = Path(os.environ.get("BRIDGE_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile, for the whole session."""
    executable = chromium_path()
    if not executable.exists():
        _unavailable(f"Chromium not found at {executable} (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        try:
            # A persistent context is how Playwright takes a profile folder (--user-data-dir).
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(executable),
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport=VIEWPORT,
                timeout=30_000,
            )
        except Error as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc}")
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A new tab, closed after the test."""
    tab = browser_context.new_page()
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture
def screenshot(artifacts_dir: Path, request: pytest.FixtureRequest) -> Screenshot:
    """Save a full-page PNG named after the test and `name`; returns its path."""
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    def take(tab: Page, name: str) -> Path:
        path = folder / f"{test}-{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take
