"""The home page in a real browser: login, summary cards, the grid map, locate, logout."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from scripts.screenshot import log_in, wait_for_map, wait_for_popups
from tests.e2e.conftest import LiveServer, Visit

pytestmark = pytest.mark.e2e

POLYGONS = "#map path.leaflet-interactive"
# Unnamed groups: Playwright hands the pattern to JavaScript, which has no (?P<name>...).
GRID_CODE = re.compile(r"^所在网格: (.+) \((\d{15})\) · (.+) · 柯桥街道$")

# A point inside a Leaflet SVG polygon, in viewport pixels: the mean of its vertices (the demo
# grids are convex, so the mean lies inside), mapped through the SVG's transform to the screen.
INSIDE_POINT = """(path) => {
  const numbers = (path.getAttribute("d").match(/-?\\d+(?:\\.\\d+)?/g) || []).map(Number);
  let x = 0, y = 0;
  for (let i = 0; i < numbers.length; i += 2) { x += numbers[i]; y += numbers[i + 1]; }
  const point = path.ownerSVGElement.createSVGPoint();
  point.x = x / (numbers.length / 2);
  point.y = y / (numbers.length / 2);
  const screen = point.matrixTransform(path.getScreenCTM());
  return {x: screen.x, y: screen.y, hit: document.elementFromPoint(screen.x, screen.y) === path};
}"""


def login_and_wait(visit: Visit, username: str, password: str) -> None:
    log_in(visit.page, username, password)
    expect(visit.page.locator("#dashboard")).to_be_visible()
    wait_for_map(visit.page)


def card(page: Page, key: str) -> Locator:
    return page.locator(f".stat[data-key={key}] .stat-value")


def click_inside(page: Page, polygon: Locator) -> None:
    point: dict[str, Any] = polygon.evaluate(INSIDE_POINT)
    assert point["hit"], "the chosen point is not on the polygon"
    page.mouse.click(point["x"], point["y"])


def grids_by_code(live_server: LiveServer, username: str) -> dict[str, str]:
    """code → name of the grids a user sees, straight from the API."""
    base = live_server.base_url
    form = {"username": username, "password": live_server.settings.demo_password}
    token = httpx.post(f"{base}/api/v1/auth/token", data=form).json()["access_token"]
    response = httpx.get(
        f"{base}/api/v1/grids/geojson", headers={"Authorization": f"Bearer {token}"}
    )
    return {f["properties"]["code"]: f["properties"]["name"] for f in response.json()["features"]}


def test_home_page_loads_offline_without_errors(visit: Visit) -> None:
    page = visit.page
    expect(page).to_have_title(re.compile("枫桥"))
    expect(page.locator(".brand-name")).to_have_text("枫桥 · 基层智慧治理平台")
    expect(page.locator(".brand-sub")).to_have_text("四个平台 · 全科网格 · 一张图")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator(".site-footer a[href='/docs']")).to_have_text("API 文档")
    expect(page.locator(".site-footer a[href='/healthz']")).to_be_visible()
    page.wait_for_load_state("networkidle")
    visit.screenshot("home-login")
    visit.assert_clean()


def test_wrong_password_shows_the_chinese_error(visit: Visit) -> None:
    log_in(visit.page, "demo_operator", "not-the-password")
    error = visit.page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("用户名或密码错误")
    expect(visit.page.locator("#dashboard")).to_be_hidden()
    visit.screenshot("home-login-error")
    # The 401 of the login itself is logged by Chromium as a failed resource, nothing else.
    assert all("401" in message for message in visit.errors), visit.errors
    assert visit.foreign_requests == []


def test_operator_sees_the_summary_and_the_grid_map(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    login_and_wait(visit, "demo_operator", live_server.settings.demo_password)
    expect(page.locator("#user-roles")).to_have_text("指挥室操作员")
    expect(page.locator("#user-home")).to_contain_text("柯桥街道")
    expect(card(page, "towns")).to_have_text("1")
    expect(card(page, "villages")).to_have_text("5")
    expect(card(page, "grids")).to_have_text("25")
    expect(card(page, "grid_workers")).to_have_text("100")
    expect(page.locator(".stat-label")).to_have_text(
        ["镇街", "村社", "网格", "专属网格", "网格员", "责任单位", "用户"]
    )
    expect(page.locator(POLYGONS)).to_have_count(25)
    assert page.evaluate("sessionStorage.getItem('fengqiao.token')")
    visit.screenshot("home-operator")
    visit.assert_clean()


def test_clicking_a_grid_opens_its_popup_and_locates_it(
    visit: Visit, live_server: LiveServer
) -> None:
    page = visit.page
    login_and_wait(visit, "demo_operator", live_server.settings.demo_password)
    grids = grids_by_code(live_server, "demo_operator")
    click_inside(page, page.locator(POLYGONS).nth(12))

    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_be_visible()
    popup_name = popup.locator("strong").inner_text()
    popup_code = popup.locator("code").inner_text()
    assert grids[popup_code] == popup_name
    expect(popup).to_contain_text("户数")
    expect(popup).to_contain_text("人口")

    result = page.locator("#locate-result.is-found")
    expect(result).to_have_text(GRID_CODE)
    found = GRID_CODE.match(result.inner_text())
    assert found is not None
    assert (found[1], found[2]) == (popup_name, popup_code)
    wait_for_popups(page)
    visit.screenshot("home-popup")
    visit.assert_clean()


def test_clicking_outside_the_district_says_so(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    login_and_wait(visit, "demo_operator", live_server.settings.demo_password)
    for _ in range(2):
        page.locator(".leaflet-control-zoom-out").click()
    # Wait until the zoomed-out grids leave the map's left edge free.
    page.wait_for_function(
        """() => {
          const map = document.getElementById("map").getBoundingClientRect();
          const lefts = [...document.querySelectorAll("#map path.leaflet-interactive")]
            .map((p) => p.getBoundingClientRect().left);
          return Math.min(...lefts) > map.left + map.width / 5;
        }"""
    )
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + box["height"] / 2)
    expect(page.locator("#locate-result.is-error")).to_contain_text("不在本辖区")
    # The 422 is logged by Chromium as a failed resource; nothing else may fail.
    assert all("422" in message for message in visit.errors), visit.errors
    assert visit.foreign_requests == []


def test_grid_worker_sees_exactly_one_grid(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    login_and_wait(visit, "demo_grid_worker", live_server.settings.demo_password)
    expect(page.locator("#user-roles")).to_have_text("网格员")
    expect(card(page, "grids")).to_have_text("1")
    expect(page.locator(POLYGONS)).to_have_count(1)
    visit.screenshot("home-grid-worker")
    visit.assert_clean()


def test_logout_returns_to_the_login_form(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    login_and_wait(visit, "demo_operator", live_server.settings.demo_password)
    page.get_by_role("button", name="退出").click()
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#user-bar")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('fengqiao.token')") is None
    page.reload()
    expect(page.locator("#login-form")).to_be_visible()
    visit.assert_clean()


def test_a_reload_keeps_the_session(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    login_and_wait(visit, "demo_operator", live_server.settings.demo_password)
    page.reload()
    wait_for_map(page)
    expect(page.locator("#login-view")).to_be_hidden()
    expect(page.locator(POLYGONS)).to_have_count(25)
    visit.assert_clean()


def test_phone_width_wraps_the_cards_and_puts_the_map_below(
    phone_visit: Visit, live_server: LiveServer
) -> None:
    page = phone_visit.page
    expect(page.locator("#login-form")).to_be_visible()
    phone_visit.screenshot("home-phone-login")
    login_and_wait(phone_visit, "demo_operator", live_server.settings.demo_password)
    tops = {
        round(box["y"]) for box in (s.bounding_box() for s in page.locator(".stat").all()) if box
    }
    assert len(tops) > 1, "the summary cards should wrap onto several rows"
    cards = page.locator("#summary-cards").bounding_box()
    map_box = page.locator("#map").bounding_box()
    assert cards is not None and map_box is not None
    assert map_box["y"] >= cards["y"] + cards["height"], "the map should sit below the cards"
    assert map_box["width"] > 300
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
    phone_visit.screenshot("home-phone")
    phone_visit.assert_clean()


class _Links(HTMLParser):
    """Every src= and href= value of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_use_only_local_assets(live_server: LiveServer, path: str) -> None:
    response = httpx.get(live_server.base_url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _Links()
    parser.feed(response.text)
    assert parser.urls, "the page links nothing?"
    external = [u for u in parser.urls if re.match(r"(https?:)?//", u)]
    assert external == []
    static = [u for u in parser.urls if u.startswith("/static/")]
    assert static
    for url in static:
        assert httpx.get(live_server.base_url + url).status_code == 200, url
