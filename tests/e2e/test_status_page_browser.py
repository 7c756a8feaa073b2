"""The public status page in a real browser: Debian's Chromium driven by Playwright, with
JavaScript off and on, at a desktop and a phone's width, scanned by axe-core.

With UPMETR_SCREENSHOTS_DIR set, the page is also saved there as PNGs at 1280 and 390 px
wide (docs/images/ holds the ones the docs show).
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.incidents.models import Incident
from server.monitors.models import MaintenanceWindow, Monitor, MonitorRollup
from tests.conftest import World
from tests.server.api_calls import call

Client = TestClient  # type: ignore[type-arg]
CHROMIUM = "/usr/bin/chromium"  # Debian's package; nothing downloads a browser
WIDTHS = {"desktop": 1280, "phone": 390}
NAMES = ("Payments API", "Checkout", "Search", "Login", "Webhooks", "CDN", "Status API", "Mail")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            await launched.close()


async def arrange_history(db: AsyncSession, org_id: int) -> list[int]:
    """Eight monitors with 90 days of daily rollups, a few bad days, an incident, an
    upcoming maintenance window, and one monitor down now."""
    chance = random.Random(7)
    today = utcnow().date()
    async with db.begin():
        monitors = [
            Monitor(org_id=org_id, name=name, type="http", url="https://example.com/",
                    status="down" if name == "Search" else "up", interval_seconds=60)
            for name in NAMES
        ]  # fmt: skip
        db.add_all(monitors)
        await db.flush()
        for monitor in monitors:
            for days_ago in range(90):
                start = datetime.combine(today - timedelta(days=days_ago), time(), tzinfo=UTC)
                down = chance.choice([0] * 12 + [3, 40])
                db.add(MonitorRollup(monitor_id=monitor.id, period="day", bucket_start=start,
                                     up=1440 - down, down=down, measured=1440 - down,
                                     avg_ms=chance.uniform(80, 300)))  # fmt: skip
        search = monitors[2]
        opened = utcnow() - timedelta(minutes=25)
        db.add(Incident(org_id=org_id, title="Search is down", severity="critical",
                        trigger_type="monitor_down", target_type="monitor",
                        target_id=search.id, opened_at=opened))  # fmt: skip
        starts_at = utcnow().replace(microsecond=0) + timedelta(days=2)
        db.add(MaintenanceWindow(monitor_id=monitors[0].id, starts_at=starts_at,
                                 ends_at=starts_at + timedelta(hours=1),
                                 reason="Database upgrade"))  # fmt: skip
    return [monitor.id for monitor in monitors]


async def publish(client: Client, world: World, monitor_ids: list[int], **settings: object) -> dict:
    status, page = await call(client, world.alice, "PUT", "/status-pages/global",
                              {"enabled": True, "title": "Acme Status", "company_name": "Acme",
                               "monitor_ids": monitor_ids, **settings})  # fmt: skip
    assert status == 200, page
    status, _ = await call(client, world.alice, "POST", "/status-pages/announcements",
                           {"title": "Search is slow to index", "state": "identified",
                            "body": "A bad deploy; rolling back."})  # fmt: skip
    assert status == 201
    return dict(page)


async def open_page(browser: Browser, url: str, *, width: int, javascript: bool) -> Page:
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=javascript
    )
    page = await context.new_page()
    response = await page.goto(url)
    assert response is not None
    page.set_default_timeout(10_000)
    return page


def base_url(client: Client) -> str:
    return str(client.make_url("/"))


@pytest.mark.parametrize("javascript", [False, True], ids=["javascript-off", "javascript-on"])
async def test_the_page_shows_every_monitor_and_its_days_with_javascript_off_and_on(
    client: Client, world: World, db: AsyncSession, browser: Browser, javascript: bool
) -> None:
    ids = await arrange_history(db, world.org_a)
    await publish(client, world, ids)
    page = await open_page(browser, base_url(client) + "status/org-a", width=1280,
                           javascript=javascript)  # fmt: skip
    text = await page.inner_text("body")
    assert "Acme Status" in text and "Search is slow to index" in text
    for name in NAMES:
        assert name in text
    assert "Down" in text and "Operational" in text  # a word beside each colour
    assert await page.locator("h1").count() == 1
    # A bar of 90 days per monitor, each day with its own text: date, uptime and downtime.
    bars = page.locator("ol.b")
    assert await bars.count() == len(NAMES)
    days = await bars.first.locator("li").all_text_contents()
    assert len(days) == 90
    today = utcnow().date().isoformat()
    assert today in days[-1] and all("%" in day for day in days), days[-3:]
    assert "Database upgrade" in text
    await page.context.close()


async def test_a_token_page_refuses_a_browser_without_its_token(
    client: Client, world: World, db: AsyncSession, browser: Browser
) -> None:
    ids = await arrange_history(db, world.org_a)
    token = (await publish(client, world, ids, require_token=True))["token"]
    page = await open_page(browser, base_url(client) + "status/org-a", width=1280,
                           javascript=False)  # fmt: skip
    text = await page.inner_text("body")
    assert "needs its token" in text and "Payments API" not in text
    await page.goto(base_url(client) + f"status/org-a?token={token}")
    assert "Payments API" in await page.inner_text("body")
    await page.context.close()


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
async def test_axe_finds_no_accessibility_violation_at_a_desktop_and_a_phones_width(
    client: Client, world: World, db: AsyncSession, browser: Browser, width: int
) -> None:
    ids = await arrange_history(db, world.org_a)
    await publish(client, world, ids)
    page = await open_page(browser, base_url(client) + "status/org-a", width=width,
                           javascript=True)  # fmt: skip
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    layout_width = await page.evaluate("document.documentElement.scrollWidth")
    assert layout_width <= width, f"the page scrolls sideways: {layout_width} px at {width}"
    shots = os.environ.get("UPMETR_SCREENSHOTS_DIR")
    if shots:
        name = next(key for key, value in WIDTHS.items() if value == width)
        await page.screenshot(path=str(Path(shots) / f"status-page-{name}.png"), full_page=True)
    await page.context.close()
