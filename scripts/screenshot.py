"""Log in to a running Fengqiao with Debian's Chromium and save a screenshot of the home page.

    .venv/bin/python scripts/screenshot.py [BASE_URL] [--username NAME] [--password PW]
        [--output docs/img/home.png] [--no-click]

The browser tests (tests/e2e) drive the page with the helpers below, so this script keeps working.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Never a downloaded browser: Debian's Chromium, headless, with no traffic of its own.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
MISSING_CHROMIUM = (
    f"{CHROMIUM} not found: run `bash scripts/browser_deps.sh` to install Chromium and a CJK font "
    "(`make test` runs it)"
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
REPO = Path(__file__).resolve().parent.parent


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium under Playwright; FileNotFoundError says how to install it."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING_CHROMIUM)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))


def log_in(page: Page, username: str, password: str) -> None:
    """Fill in and submit the login form of the home page (already open)."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()


def wait_for_map(page: Page) -> None:
    """Wait until the grid layer is drawn and fitted."""
    page.locator("#map[data-state=ready]").wait_for()


def click_map_centre(page: Page) -> None:
    """Click the middle of the map: opens the popup of the grid there and locates the point."""
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#locate-result.is-found, #locate-result.is-error").wait_for()
    wait_for_popups(page)


def wait_for_popups(page: Page) -> None:
    """Leaflet fades a popup in: wait until every open one is opaque."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.leaflet-popup')]"
        ".every((p) => getComputedStyle(p).opacity === '1')"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="demo_operator")
    parser.add_argument(
        "--password", default=os.environ.get("FENGQIAO_DEMO_PASSWORD", "fengqiao-demo")
    )
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "img" / "home.png")
    parser.add_argument(
        "--no-click", action="store_true", help="Do not click the map before the screenshot."
    )
    args = parser.parse_args(argv)

    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except FileNotFoundError as error:
            print(f"screenshot.py: error: {error}", file=sys.stderr)
            return 1
        page = browser.new_page(viewport=DESKTOP)
        page.goto(args.base_url.rstrip("/") + "/")
        log_in(page, args.username, args.password)
        page.locator("#dashboard:visible, #login-error:visible").first.wait_for()
        if page.locator("#login-error").is_visible():
            print(f"screenshot.py: login failed: {page.locator('#login-error').inner_text()}")
            browser.close()
            return 1
        wait_for_map(page)
        if not args.no_click:
            click_map_centre(page)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output))
        browser.close()
    print(f"{args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
