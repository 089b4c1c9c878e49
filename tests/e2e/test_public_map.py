"""身边事 (/r/map) in Chromium, signed out: markers coloured by public status, a description
holding markup shown as text (and never run), the filters changing the markers, the list under
the map, and no sideways scrolling on a 390 px phone; the same page on a PC."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect

from tests.e2e.conftest import Api, LiveServer, Visit, open_visit, sign_in
from tests.events.conftest import World

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PC: ViewportSize = {"width": 1440, "height": 900}
TOUCH: dict[str, Any] = {"has_touch": True, "is_mobile": True, "locale": "zh-CN"}
PAYLOAD = "<img src=x onerror=alert(1)><b>粗体</b>井盖破损"


def _open(
    browser: Browser, live_server: LiveServer, viewport: ViewportSize, **options: Any
) -> Visit:
    visit = open_visit(browser, live_server, viewport, **options)
    visit.page.goto(f"{live_server.base_url}/r/map")
    expect(visit.page.locator("#pm")).to_have_attribute("data-ready", "true", timeout=30_000)
    return visit


def _filed_with_markup(api: Api, world: World) -> dict[str, Any]:
    return api.file(world, description=PAYLOAD)


def _narrow_to(page: Page, category: str, status_word: str) -> None:
    page.locator("#pm-class").select_option(category)
    page.locator("#pm-status .pm-chip", has_text=status_word).click()
    # Each filter starts a load (the class's own may still be drawing): wait for the last one,
    # whose markers are the ones to count.
    expect(page.locator("#pm-loading")).to_be_hidden(timeout=20_000)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.evaluate("innerWidth"), f"the page is {width} px wide"


def test_a_phone_sees_reports_by_status_and_markup_as_text(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    _filed_with_markup(api, world)
    visit = _open(browser, live_server, PHONE_390, **TOUCH)
    page = visit.page
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    expect(page.locator("#login")).to_be_visible()  # nobody signed in
    # The district's last 90 days: clusters with counts, or points coloured by status.
    expect(page.locator(".pm-cluster, .pm-marker").first).to_be_attached()
    expect(page.locator("#pm-legend .pm-legend-item")).to_have_count(6)
    _no_sideways_scroll(page)
    visit.screenshot("pubmap-phone-district")

    _narrow_to(page, world.handler_category, "已提交")
    item = page.locator("#pm-list .pm-item", has_text="井盖破损").first
    expect(item).to_be_visible(timeout=20_000)
    markers = page.locator("path.pm-marker")
    expect(markers.first).to_be_attached()
    assert markers.count() == page.locator("path.pm-marker.pm-s-submitted").count()
    expect(page.locator(".pm-cluster")).to_have_count(0)
    # The markup is text, in the list and in the popup, and nothing of it ran.
    expect(item.locator(".pm-item-text")).to_have_text(PAYLOAD)
    expect(item.locator(".pm-badge")).to_have_text("已提交")
    item.click()
    popup = page.locator(".leaflet-popup .pm-card")
    expect(popup).to_be_visible()
    expect(popup.locator(".pm-card-text")).to_contain_text("<b>粗体</b>井盖破损")
    expect(popup.locator(".pm-badge")).to_have_text("已提交")
    assert page.locator(".leaflet-popup img, #pm-list img, .leaflet-popup b").count() == 0
    assert dialogs == []
    _no_sideways_scroll(page)
    visit.screenshot("pubmap-phone-popup")
    visit.assert_clean()
    page.context.close()


def test_filters_change_the_markers_on_a_pc(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    _filed_with_markup(api, world)
    visit = _open(browser, live_server, PC)
    page = visit.page
    total = page.locator("#pm-count").inner_text()
    _narrow_to(page, world.handler_category, "已提交")
    expect(page.locator("#pm-list .pm-item", has_text="井盖破损").first).to_be_visible(
        timeout=20_000
    )
    expect(page.locator("#pm-count")).not_to_have_text(total)
    submitted = page.locator("path.pm-marker.pm-s-submitted")
    expect(submitted.first).to_be_attached()
    # 已解决 instead of 已提交: the submitted markers go, only solved ones may stay.
    page.locator("#pm-status .pm-chip", has_text="已提交").click()
    page.locator("#pm-status .pm-chip", has_text="已解决").click()
    expect(page.locator("#pm-status .pm-chip[aria-pressed=true]")).to_have_text("已解决")
    expect(submitted).to_have_count(0)
    expect(page.locator("#pm-list .pm-item", has_text="井盖破损")).to_have_count(0)
    for badge in page.locator("#pm-list .pm-badge").all_inner_texts():
        assert badge == "已解决"
    visit.screenshot("pubmap-pc-filtered")
    # Every class again: the count comes back.
    page.locator("#pm-status .pm-chip", has_text="已解决").click()
    page.locator("#pm-class").select_option("")
    expect(page.locator("#pm-count")).to_have_text(total)
    _no_sideways_scroll(page)
    visit.assert_clean()
    page.context.close()


def test_signed_in_people_see_the_base_map_and_visitors_the_towns(
    browser: Browser, live_server: LiveServer
) -> None:
    for user, base_map in (("", False), ("demo_resident", True), ("demo_operator", True)):
        visit = open_visit(browser, live_server, PHONE_390, **TOUCH)
        if user:
            sign_in(visit, user, live_server.settings.demo_password, landing="/r/map")
        else:
            visit.page.goto(f"{live_server.base_url}/r/map")
        page = visit.page
        expect(page.locator("#pm")).to_have_attribute("data-ready", "true", timeout=30_000)
        expect(page.locator("#logout" if user else "#login")).to_be_visible()
        expect(page.locator("path.pm-area").first).to_be_attached()  # the towns' outlines
        if base_map:
            expect(page.locator("#pm-map")).to_have_attribute("data-basemap-state", "ready")
        else:
            expect(page.locator("#pm-map")).not_to_have_attribute("data-basemap-state", "ready")
        _no_sideways_scroll(page)
        visit.screenshot(f"pubmap-phone-signed-in-{user or 'nobody'}")
        visit.assert_clean()  # a page asks for nothing its reader may not read
        page.context.close()
