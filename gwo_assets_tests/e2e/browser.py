"""Headless Chromium for the e2e walk-through: screenshots of the Dagster UI as test artifacts.

The browser is Debian's Chromium (``apt-get install -y chromium``; ``make test-e2e`` installs
it when it is missing and it runs as root), driven by the ``playwright`` package (dev extra)
with ``executable_path``: Playwright's own browser download needs the internet. The
screenshots are evidence for a reader, never asserted on: the tests assert on GraphQL
answers and only check that each page shows what it is about (check names, partition keys).
"""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from gwo_assets_tests.e2e.conftest import REPO

# Overridable for a developer whose Chromium lives elsewhere (e.g. GWO_CHROMIUM=chromium-browser).
CHROMIUM = os.environ.get("GWO_CHROMIUM", "/usr/bin/chromium")
# Gitignored; emptied of an earlier run's PNGs when a browser starts. A failure leaves the
# screenshots taken so far and failed-page.png, the page the test gave up on.
ARTIFACTS = REPO / "test-artifacts" / "ui"
INSTALL_HINT = ("install it with `apt-get install -y chromium` (as root; `make test-e2e` does it "
                "when it runs as root) or point GWO_CHROMIUM at a Chromium binary")
# Long enough for a busy 2-core machine: the asset pages run several GraphQL queries.
RENDER_TIMEOUT_MS = 90_000


def chromium_executable() -> str:
    """The Chromium to drive; fails the test (never skips it) when there is none."""
    found = shutil.which(CHROMIUM)
    if not found:
        pytest.fail(f"Chromium not found at {CHROMIUM!r} (needed for the UI screenshots): "
                    f"{INSTALL_HINT}", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the `playwright` package is missing: pip install -e '.[dev]'", pytrace=False)
    return found


@pytest.fixture
def chromium() -> str:
    """Checked before the slow part of a test, so a missing browser fails it at once."""
    return chromium_executable()


@contextmanager
def browser_page(executable: str, width: int = 1600, height: int = 1000):
    from playwright.sync_api import sync_playwright

    for earlier in ARTIFACTS.glob("*.png"):  # an earlier run's, failed-page.png included
        earlier.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            # The UI's "Join the Dagster community" dialog, shown once per browser on
            # localhost, would cover the page: as if dismissed before.
            page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
            page.set_default_timeout(RENDER_TIMEOUT_MS)
            try:
                yield page
            except BaseException:  # what the page showed when the test gave up on it
                page.set_default_timeout(10_000)
                try:
                    screenshot(page, "failed-page")
                except Exception as error:  # the test's own failure is the one to report
                    print("no screenshot of the failed page:", error)
                raise
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """A PNG of the page as it is now, under ``test-artifacts/ui/``; its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    print("screenshot:", path)
    return path
