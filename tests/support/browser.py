"""The dashboard in a real (system) Chromium: launch options and the sign-in step."""
from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


async def sign_in(page, base: str, token: str) -> None:
    """Sign in as a person would: the sign-in page, the token pasted, the form sent; on the dashboard after."""
    await page.goto(f"{base}/dashboard/sign-in")
    await page.fill("#token", token)
    async with page.expect_navigation():
        await page.click("#submit")
    if not page.url.split("?")[0].endswith("/dashboard"):
        raise AssertionError(f"sign-in failed: {page.url} {await page.inner_text('#note')}")
