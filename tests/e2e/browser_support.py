"""Playwright driving Debian's Chromium headless, with axe-core injected into every page.

Nothing is downloaded: the browser is ``/usr/bin/chromium`` (``scripts/install-test-deps.sh``
installs it) and axe-core comes from ``node_modules`` (``make test`` runs ``npm ci``). A missing
one fails the test with the command that fixes it, never skips it, so a machine without a browser
cannot turn the accessibility checks silently green. A failing test leaves a full-page screenshot
and the page's HTML in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=360, height=740)
# WCAG 2.x A and AA, plus axe's best practices; only serious and critical findings fail a test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")


# Fixtures carry their name in the decorator so that test modules can import them without the
# import clashing with the test functions' parameters.
@pytest.fixture(name="chromium")
async def chromium_fixture() -> AsyncIterator[Browser]:
    """One headless Chromium per test. The async API, because the tests' own database helpers
    are asyncio code and Playwright's sync API would hold an event loop open around them."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-test-deps.sh", pytrace=False)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)", pytrace=False)
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


OFF_LOOPBACK = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])[a-z]+://")


class Screenshots:
    """Opens browser contexts for a test; on failure, saves what each page showed."""

    def __init__(self, browser: Browser, name: str) -> None:
        self.browser = browser
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        self.contexts: list[BrowserContext] = []

    async def new_page(self, *, phone: bool = False) -> Page:
        context = await self.browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            locale="en-GB",
        )
        # Init scripts run before the page's own, and CSP does not apply to them.
        await context.add_init_script(path=str(AXE))
        context.set_default_timeout(15_000)
        # This machine has no internet: a request off loopback (Office.js from Microsoft's CDN)
        # fails at once instead of hanging on the network. Tests route what they need later,
        # and later routes take precedence.
        await context.route(OFF_LOOPBACK, lambda route: route.abort())
        self.contexts.append(context)
        return await context.new_page()

    async def save(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for n, context in enumerate(self.contexts):
            for m, page in enumerate(context.pages):
                stem = ARTIFACTS / f"{self.name}-{n}-{m}"
                try:
                    await page.screenshot(path=f"{stem}.png", full_page=True)
                    Path(f"{stem}.html").write_text(await page.content())
                except Exception as exc:  # a crashed page must not hide the real failure
                    print(f"could not save {stem}: {exc}")
                else:
                    print(f"saved {stem}.png ({page.url})")

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture(name="pages")
async def pages_fixture(
    chromium: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Screenshots]:
    failed_before = request.session.testsfailed
    shots = Screenshots(chromium, request.node.name)
    yield shots
    # The call phase has been reported by now, so a failure of this test is already counted.
    if request.session.testsfailed > failed_before:
        await shots.save()
    await shots.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page once it has loaded."""
    # A click that submits a form returns once the new document's DOM is there, possibly before
    # its stylesheet: axe would then judge unstyled links (a CI run failed on target-size so).
    await page.wait_for_load_state("load")
    result = await page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
            });
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        AXE_TAGS,
    )
    assert isinstance(result, list)
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


async def assert_accessible(page: Page) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
    )


async def assert_fits_the_screen(page: Page) -> None:
    """Nothing makes the whole page scroll sideways (tables scroll inside their own region)."""
    await page.wait_for_load_state("load")
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"
