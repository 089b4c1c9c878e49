"""Log in to a running Fengqiao with Debian's Chromium and save a screenshot of the one-map.

    .venv/bin/python scripts/screenshot.py [BASE_URL] [--username NAME] [--password PW]
        [--output docs/img/onemap.png] [--no-click] [--event ID]
    .venv/bin/python scripts/screenshot.py --worker [--output docs/img/worker-app.png]
    .venv/bin/python scripts/screenshot.py --username demo_district_leader \
        --page "/analytics?from=2025-12-01" --ready "#analytics[data-ready=true]" \
        --output docs/img/analytics.png
    .venv/bin/python scripts/screenshot.py --username demo_district_leader --page /wall \
        --ready "#wall[data-state=ready]" --width 1920 --height 1080 --output docs/img/wall.png

The browser tests (tests/e2e) drive the page with the helpers below, so this script keeps working.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Never a downloaded browser: Debian's Chromium, headless, with no traffic of its own.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--lang=zh-CN",  # the browser's own words (date fields' 年/月/日) in Chinese, as a user's
)  # fmt: skip
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
    """Fill in and submit the login form (already open) and wait for the next page."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#login-submit").click()


def wait_for_map(page: Page) -> None:
    """Wait until the grid layer is drawn and fitted."""
    page.locator("#map[data-state=ready]").wait_for()


def click_map_centre(page: Page) -> None:
    """Click the middle of the map: opens the popup of the grid there."""
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(".leaflet-popup").first.wait_for()
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
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--no-click", action="store_true", help="Do not click the map before the screenshot."
    )
    parser.add_argument("--event", type=int, help="Open this event's card on the map.")
    parser.add_argument(
        "--worker", action="store_true", help="demo_grid_worker's app on a phone instead."
    )
    parser.add_argument("--page", help="Another page instead of the map, e.g. /analytics.")
    parser.add_argument(
        "--ready", default="body", help="With --page: a selector that is there once it is drawn."
    )
    parser.add_argument("--height", type=int, default=900, help="Window height in pixels.")
    parser.add_argument("--width", type=int, default=1440, help="Window width in pixels.")
    parser.add_argument("--click", help="With --page: click this selector (first match) first.")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = REPO / "docs" / "img" / ("worker-app.png" if args.worker else "onemap.png")
    if args.worker:
        return _worker(args)

    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except FileNotFoundError as error:
            print(f"screenshot.py: error: {error}", file=sys.stderr)
            return 1
        page = browser.new_page(
            viewport={"width": args.width, "height": args.height}, locale="zh-CN"
        )
        target = "/map" + (f"%23event={args.event}" if args.event else "")
        if args.page:
            target = quote(args.page, safe="/")
        page.goto(args.base_url.rstrip("/") + "/login?next=" + target)
        log_in(page, args.username, args.password)
        if page.locator("#login-error").is_visible():
            print(f"screenshot.py: login failed: {page.locator('#login-error').inner_text()}")
            browser.close()
            return 1
        if args.page:
            page.locator(args.ready).first.wait_for(timeout=60000)
            if args.click:
                page.locator(args.click).first.click()
            page.wait_for_timeout(1500)  # charts finish their animation
        else:
            wait_for_map(page)
        if args.page:
            pass
        elif args.event:
            page.locator("#nearest-cameras li a").first.wait_for()
            page.wait_for_timeout(1000)  # the fly to the event
        elif not args.no_click:
            click_map_centre(page)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output))
        browser.close()
    print(f"{args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """The app on a 390 px phone standing in the worker's grid, a class picked, a photo taken."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
            has_touch=True, locale="zh-CN", permissions=["geolocation"],
            geolocation={"latitude": 30.0, "longitude": 120.5, "accuracy": 12},
        )  # fmt: skip
        page = context.new_page()
        page.goto(args.base_url.rstrip("/") + "/login?next=/m/")
        log_in(page, "demo_grid_worker", args.password)
        page.locator("#app[data-state=ready]").wait_for()
        grid = page.evaluate(
            "async () => (await FQ.api('/grids/geojson')).features[0].geometry.coordinates[0]"
        )
        lng = sum(p[0] for p in grid[:-1]) / (len(grid) - 1)
        lat = sum(p[1] for p in grid[:-1]) / (len(grid) - 1)
        context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 12})
        page.locator("#major-chips .chip").nth(6).click()
        page.locator("#minor-chips .chip").first.click()
        page.locator("#report-description").fill("东街菜场门口流动摊贩占道经营，影响通行")
        page.wait_for_timeout(1500)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output))
        browser.close()
    print(f"{args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
