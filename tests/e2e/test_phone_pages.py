"""Desk pages on a phone, and the header on a laptop: 办事指南 at 390 px opens a tapped item's
guide where the finger is (not thousands of pixels below) with its table as cards; 代办 at
375 px cuts nothing off; a leader's 分析研判 fits 390 px; none scrolls sideways. The header of
the role with the most pages (an administrator's) stays on one line at 1366 and 1280 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.conftest import LiveServer, Visit, open_visit, sign_in

pytestmark = pytest.mark.e2e

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PHONE_375: ViewportSize = {"width": 375, "height": 812}
TOUCH: dict[str, Any] = {"has_touch": True, "is_mobile": True, "locale": "zh-CN"}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.evaluate("innerWidth"), f"the page is {width} px wide"


def in_view(page: Page, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " height: innerHeight, width: innerWidth}; }",
        selector,
    )
    return box


def phone(browser: Browser, live_server: LiveServer, viewport: ViewportSize) -> Visit:
    return open_visit(browser, live_server, viewport, **TOUCH)


def test_the_guide_opens_where_the_finger_is(browser: Browser, live_server: LiveServer) -> None:
    visit = phone(browser, live_server, PHONE_390)
    page = visit.page
    page.goto(f"{live_server.base_url}/services")
    rows = page.locator("#service-table tbody tr[data-id]")
    expect(rows).to_have_count(50)
    # The table reads as cards: no head row, each cell says its column.
    expect(page.locator("#service-table thead")).to_be_hidden()
    expect(rows.first.locator("td").nth(3)).to_have_attribute("data-label", "办理时限")
    expect(page.locator("#service-sheet")).to_be_hidden()  # no "click on the left" card
    no_sideways_scroll(page)

    row = rows.nth(20)
    name = row.locator("td strong").inner_text()
    row.scroll_into_view_if_needed()
    scrolled = page.evaluate("scrollY")
    assert scrolled > 1500  # far down the list
    row.tap()
    guide = page.locator("#service-guide")
    expect(guide.locator("h2")).to_have_text(name)
    box = in_view(page, "#service-guide")
    assert 0 <= box["top"] < box["height"] * 0.5, box  # in the upper half of the screen
    expect(page.locator("#service-sheet .sheet-close")).to_be_in_viewport()
    no_sideways_scroll(page)
    visit.screenshot("phone-services-guide")

    page.locator("#service-sheet .sheet-close").tap()
    expect(page.locator("#service-sheet")).to_be_hidden()
    assert page.evaluate("scrollY") == scrolled  # back where the finger was
    visit.assert_clean()
    page.context.close()


def test_proxy_on_a_phone_cuts_nothing_off(browser: Browser, live_server: LiveServer) -> None:
    visit = phone(browser, live_server, PHONE_375)
    sign_in(visit, "demo_operator", live_server.settings.demo_password, landing="/proxy")
    page = visit.page
    expect(page.locator("#sum-open")).to_have_text(re.compile(r"^\d+$"))
    for stat in page.locator("#proxy-summary .stat").all():
        box = stat.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        label = stat.locator(".stat-label")
        assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth"), label.inner_text()
    expect(page.locator("#proxy-detail")).not_to_contain_text("左侧")
    no_sideways_scroll(page)

    row = page.locator("#proxy-table tbody tr[data-id]").nth(12)
    code = row.locator("td").first.inner_text()
    row.scroll_into_view_if_needed()
    row.tap()
    expect(page.locator("#proxy-card")).to_contain_text(code)
    card = in_view(page, "#proxy-card")
    assert 0 <= card["top"] < card["height"] * 0.5, card
    no_sideways_scroll(page)
    visit.screenshot("phone-proxy-request")
    visit.assert_clean()
    page.context.close()


def test_a_leaders_analysis_fits_a_phone(browser: Browser, live_server: LiveServer) -> None:
    visit = phone(browser, live_server, PHONE_390)
    sign_in(visit, "demo_leader", live_server.settings.demo_password, landing="/analytics")
    page = visit.page
    page.locator("#analytics[data-ready=true]").wait_for()
    no_sideways_scroll(page)
    for card in page.locator(".chart-card").all():
        box = card.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
    visit.screenshot("phone-analytics")
    visit.assert_clean()
    page.context.close()


@pytest.mark.parametrize("width", [1366, 1280])
def test_the_admin_header_stays_on_one_line(
    browser: Browser, live_server: LiveServer, width: int
) -> None:
    visit = open_visit(browser, live_server, {"width": width, "height": 768}, locale="zh-CN")
    sign_in(visit, "admin", live_server.settings.demo_password, landing="/admin/grids")
    page = visit.page
    expect(page.locator(".main-nav a")).to_have_count(11)
    nav = page.locator(".main-nav").bounding_box()
    bar = page.locator(".user-bar").bounding_box()
    header = page.locator(".site-header").bounding_box()
    assert nav and bar and header
    assert abs(bar["y"] - nav["y"]) < 8, (nav, bar)  # the user bar beside the pages, not below
    assert header["height"] < 70, header
    no_sideways_scroll(page)
    visit.screenshot(f"admin-header-{width}")
    page.context.close()
