"""The ops dashboard in a real (system) Chromium, headless: sign-in to a session cookie with no token
in any URL, link or history entry; the security headers; every chart drawn with data; labels, names
and local dates instead of codes, ids and ISO timestamps; a readable message for a bad filter; a
customer's 360; sign-out. Screenshots go to test-artifacts/."""
from __future__ import annotations

import asyncio
import contextlib
import re
import shutil

import pytest

from shared.auth import SESSION_COOKIE
from shared.events.enums import Role
from tests.support.browser import ARGS, CHROMIUM, sign_in
from tests.support.fixtures import ARTIFACTS

CHARTS = ("chart-funnel", "chart-grades", "chart-daily", "chart-overdue", "chart-complaints", "chart-pyramid",
          "chart-pareto")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
CODES = ("after_sales_service", "walk_in", "not_yet_valued", "volume_halved", "overdue_purchase", "first_contact")
UUID_PREFIX = re.compile(r"^[0-9a-f]{8}…$")
NO_NAME = ("（未留姓名）", "(no name given)")  # a customer who gave none: nothing to mask


def without(text: str, stored: list[str]) -> str:
    """The page's text without what customers' rows hold as stored: on the shared test stack other
    tests' customers and events carry fuzzed text (dates, codes) that the page must show as typed."""
    for value in sorted(stored, key=len, reverse=True):
        if value:
            text = text.replace(value, "")
    return text


playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not shutil.os.path.exists(CHROMIUM), reason="system Chromium not installed")


async def chart_points(page, timeout: float = 20) -> dict[str, int]:
    # polled from here: page.wait_for_function evaluates its predicate with eval, which the CSP forbids
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate("window.dashboard !== undefined && window.dashboard.loaded === true"):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"dashboard not loaded: {await page.inner_text('#status')}")
        await asyncio.sleep(0.1)
    return await page.evaluate("({...window.dashboard.points})")


async def chart_labels(page, chart: str) -> list[str]:
    return await page.evaluate(f"Chart.getChart('{chart}').data.labels.map(String)")


async def history_urls(page) -> list[str]:
    cdp = await page.context.new_cdp_session(page)
    entries = (await cdp.send("Page.getNavigationHistory"))["entries"]
    return [e["url"] for e in entries]


def assert_page_headers(response) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, headers
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp, csp
    assert headers.get("referrer-policy") == "no-referrer", headers
    assert headers.get("x-content-type-options") == "nosniff", headers


@contextlib.asynccontextmanager
async def watched_page(watched: dict[str, list[str]]):
    """A Chromium page whose script errors, requests and console lines land in `watched`."""
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1800})
            page.on("pageerror", lambda exc: watched["errors"].append(str(exc)))
            page.on("request", lambda req: watched["requests"].append(req.url))
            page.on("console", lambda m: watched["console"].append(m.text))
            yield page
        finally:
            await browser.close()


async def test_dashboard_sign_in_charts_labels_names_filter_360_and_sign_out(api, demo_data):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = api.url("analytics", "")
    token = api.token()
    watched: dict[str, list[str]] = {"errors": [], "requests": [], "console": []}
    async with watched_page(watched) as page:
        # not signed in: the dashboard sends the browser to the sign-in page, which has the headers too
        await page.goto(f"{base}/dashboard")
        assert page.url == f"{base}/dashboard/sign-in?note=expired"
        assert_page_headers(await page.goto(f"{base}/dashboard/sign-in"))
        await sign_in(page, base, token)
        assert page.url == f"{base}/dashboard"

        cookies = {c["name"]: c for c in await page.context.cookies()}
        session = cookies[SESSION_COOKIE]
        assert session["httpOnly"] is True and session["sameSite"] == "Strict", session
        assert session["path"] == "/dashboard" and session["expires"] == -1, session  # ends with the browser session
        assert await page.evaluate("document.cookie") == ""  # no script can read it
        assert token not in await page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")

        points = await chart_points(page)
        assert {c: points.get(c, 0) > 0 for c in CHARTS} == dict.fromkeys(CHARTS, True), points
        assert await page.evaluate("typeof Chart") == "function"  # served by the service itself
        assert_page_headers(await page.reload())
        await chart_points(page)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        # labels, not codes; local dates, not ISO; names, not UUID prefixes
        complaints = await chart_labels(page, "chart-complaints")
        assert complaints and not any("/" in c or "_" in c for c in complaints), complaints
        assert "钢铁" in await chart_labels(page, "chart-pyramid")
        assert not any(ISO_DAY.fullmatch(d) for d in await chart_labels(page, "chart-daily"))
        names = await page.locator("#top-customers a").all_inner_texts()
        assert len(names) >= 5 and not any(UUID_PREFIX.match(n) for n in names), names
        assert any(re.fullmatch(r"[\u4e00-\u9fff0-9]+", n) for n in names), names  # a head of sales sees names
        rows = [await page.inner_text(t) for t in ("#top-customers", "#decline-customers")]
        text = without(await page.inner_text("main"), rows)  # rows hold what people typed: anything
        assert not [c for c in CODES if c in text] and not ISO_INSTANT.search(text)

        await page.click("#lang")
        await chart_points(page)
        assert await page.inner_text("h1") == "CRM ops dashboard"
        assert "Iron" in await chart_labels(page, "chart-pyramid")
        assert not any("_" in c for c in await chart_labels(page, "chart-complaints"))

        await page.fill("#consultant", "c-001")
        await page.fill("#from", "2026-03-01")
        await page.fill("#to", "2026-07-31")
        await page.click("#apply")
        filtered = await chart_points(page)
        assert filtered["chart-funnel"] > 0 and filtered["chart-pareto"] > 0
        assert "consultant=c-001" in page.url and token not in page.url
        assert await page.evaluate("window.dashboard.points['chart-overdue']") >= 1
        await page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)

        # a bad filter: a message naming the field by its label on the page, not "HTTP 422"
        await page.fill("#from", "2026-07-31")
        await page.fill("#to", "2026-03-01")
        await page.click("#apply")
        await page.wait_for_selector("#status.problem", timeout=10_000)
        message = await page.inner_text("#status")
        assert message.startswith("From: ") and "422" not in message and "Error" not in message, message
        await page.screenshot(path=str(ARTIFACTS / "dashboard-bad-filter.png"), full_page=True)
        await page.fill("#from", "2026-03-01")
        await page.fill("#to", "2026-07-31")
        await page.click("#apply")
        await chart_points(page)

        hrefs = await page.eval_on_selector_all("[href], [src], [action]", "els => els.map(e => "
                                                "e.getAttribute('href') || e.getAttribute('src') || "
                                                "e.getAttribute('action'))")
        assert hrefs and not [h for h in hrefs if "token" in h or token in h], hrefs

        # a customer of the demo (a plain name), not one with fuzzed fields from other tests
        link = page.locator("#top-customers a").filter(has_text=re.compile(r"^[\u4e00-\u9fff]{2,4}$")).first
        customer_id, name = await link.get_attribute("data-customer"), await link.inner_text()
        assert await link.get_attribute("href") == f"/dashboard/customers/{customer_id}"
        await link.click()
        try:
            await page.wait_for_selector("body[data-loaded=true]", state="attached", timeout=15_000)
        except playwright_api.TimeoutError:
            raise AssertionError(f"360 page: {await page.inner_text('#status')} {watched}") from None
        assert_page_headers(await page.reload())
        await page.wait_for_selector("body[data-loaded=true]", state="attached", timeout=15_000)
        profile = await page.inner_text("#profile")
        assert customer_id in profile
        assert await page.locator("#deals tr").count() >= 2  # header + at least one deal
        text = without(await page.inner_text("main"), [name])
        assert not ISO_INSTANT.search(text) and not re.search(r"\d{2}:\d{2}:\d{2}\.\d", text), text[:500]
        assert not [c for c in CODES if c in text], text[:500]
        await page.screenshot(path=str(ARTIFACTS / "customer-360.png"), full_page=True)

        # no token anywhere: the address bar, any request, the history
        urls = [page.url, *watched["requests"], *await history_urls(page)]
        assert not [u for u in urls if "token=" in u or token in u], urls
        assert not [m for m in watched["console"] if "Content Security Policy" in m], watched["console"]

        # sign out: the cookie is gone and the dashboard asks to sign in again
        await page.click("#sign-out button")
        await page.wait_for_url(f"{base}/dashboard/sign-in?note=signed-out")
        assert SESSION_COOKIE not in {c["name"] for c in await page.context.cookies()}
        await page.goto(f"{base}/dashboard")
        assert page.url.startswith(f"{base}/dashboard/sign-in")
        assert watched["errors"] == []


async def test_a_token_in_a_link_does_not_sign_in_and_leaves_the_address_bar(api, demo_data):
    base = api.url("analytics", "")
    token = api.token()
    watched: dict[str, list[str]] = {"errors": [], "requests": [], "console": []}
    async with watched_page(watched) as page:
        for path in ("/dashboard", "/dashboard/customers/00000000-0000-4000-8000-000000000001"):
            await page.goto(f"{base}{path}?token={token}")
            assert page.url == f"{base}/dashboard/sign-in?note=token-in-link"
            assert "Tokens in links are no longer accepted" in await page.inner_text("#note")
            assert await page.context.cookies() == []
            assert not [u for u in await history_urls(page) if token in u]
        # a bad token at the sign-in form: refused, no cookie
        await page.fill("#token", token[:-4] + "AAAA")
        async with page.expect_navigation():
            await page.click("#submit")
        assert "invalid" in await page.inner_text("#note") and await page.context.cookies() == []


async def test_an_ops_viewer_sees_names_masked(api, demo_data):
    """Operations may read every report but no customer's personal data (shared.access): the names in
    the top customers come masked by the one masking (surname kept)."""
    base = api.url("analytics", "")
    watched: dict[str, list[str]] = {"errors": [], "requests": [], "console": []}
    async with watched_page(watched) as page:
        await sign_in(page, base, api.token(Role.OPS))
        await chart_points(page)
        names = [n for n in await page.locator("#top-customers a").all_inner_texts() if n not in NO_NAME]
        assert names and all("*" in n for n in names), names  # masked by the one masking (shared.masking)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-ops-masked.png"), full_page=True)
