"""The ops dashboard in a real (system) Chromium, headless: every chart drawn with data, a filter,
a customer's 360; screenshots go to test-artifacts/."""
from __future__ import annotations

import shutil

import pytest

from tests.support.fixtures import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CHARTS = ("chart-funnel", "chart-grades", "chart-daily", "chart-overdue", "chart-complaints", "chart-pyramid",
          "chart-pareto")

playwright_api = pytest.importorskip("playwright.async_api")


async def chart_points(page) -> dict[str, int]:
    await page.wait_for_function("window.dashboard && window.dashboard.loaded === true", timeout=20_000)
    return await page.evaluate("({...window.dashboard.points})")


async def test_dashboard_charts_filter_and_360(api, demo_data):
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.skip("system Chromium not installed (scripts/bootstrap installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = api.url("analytics", "")
    token = api.token()
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/dashboard?token={token}")
            points = await chart_points(page)
            assert {c: points.get(c, 0) > 0 for c in CHARTS} == dict.fromkeys(CHARTS, True), points
            assert await page.evaluate("typeof Chart") == "function"  # served by the service itself
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            await page.click("#lang")
            points = await chart_points(page)
            assert await page.inner_text("h1") == "CRM ops dashboard"

            await page.fill("#consultant", "c-001")
            await page.fill("#from", "2026-03-01")
            await page.fill("#to", "2026-07-31")
            await page.click("#apply")
            filtered = await chart_points(page)
            assert filtered["chart-funnel"] > 0 and filtered["chart-pareto"] > 0
            assert "consultant=c-001" in page.url
            workload = await page.evaluate("window.dashboard.points['chart-overdue']")
            assert workload >= 1
            await page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)

            link = page.locator("#top-customers a").first
            customer_id = (await link.get_attribute("href")).split("/")[-1].split("?")[0]
            messages: list[str] = []
            page.on("console", lambda m: messages.append(m.text))
            await link.click()
            try:
                await page.wait_for_selector("body[data-loaded=true]", state="attached", timeout=15_000)
            except playwright_api.TimeoutError:
                raise AssertionError(f"360 page: {await page.inner_text('#status')} {messages} {errors}") from None
            assert customer_id in await page.inner_text("#profile")
            assert await page.locator("#deals tr").count() >= 2  # header + at least one deal
            await page.screenshot(path=str(ARTIFACTS / "customer-360.png"), full_page=True)
            assert errors == []
        finally:
            await browser.close()
