"""The one search box in Chromium: typed on the map, a suggestion picked, the map flies there;
in the event center, an event picked opens its page; and the worker's report form shows where
the phone is in words, on a small map whose marker corrects the point."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Api, LiveServer, Visit, desk_visit

pytestmark = pytest.mark.e2e

COORDINATES = re.compile(r"\d+\.\d{4,}")


def marker_offset(page: Page) -> float:
    """Pixels between the picked place's marker and the middle of the map."""
    return float(
        page.evaluate(
            """() => {
              const m = document.querySelector('#map').getBoundingClientRect();
              const p = document.querySelector('#map .place-search-mark').getBoundingClientRect();
              return Math.hypot(p.x + p.width / 2 - (m.x + m.width / 2),
                                p.y + p.height / 2 - (m.y + m.height / 2));
            }"""
        )
    )


def test_typing_on_the_map_and_picking_a_suggestion_flies_there(
    browser: Browser, live_server: LiveServer
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    page.locator("#map[data-state=ready]").wait_for()
    box = page.locator("#place-search")
    box.press_sequentially("柯桥中", delay=40)
    suggestions = page.locator(".place-search-list")
    expect(suggestions.locator(".place-search-group").first).to_have_text("地点")
    school = suggestions.locator(".place-search-item", has_text="柯桥中学").first
    expect(school).to_contain_text("学校")
    expect(school).to_contain_text("柯桥街道湖西路")
    visit.screenshot("place-search-suggestions")
    school.click()
    expect(suggestions).to_be_hidden()
    expect(page.locator("#map .leaflet-tooltip", has_text="柯桥中学")).to_be_visible()
    page.wait_for_timeout(900)  # the flight takes 0.6 s
    assert marker_offset(page) < 40
    visit.screenshot("place-search-picked")
    # From the keyboard: one character suggests by prefix; Enter takes the first.
    box.fill("")
    box.press_sequentially("柯", delay=40)
    first = suggestions.locator(".place-search-item").first.locator(".place-search-name")
    expect(first).to_have_text("柯桥街道")
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.locator("#map .leaflet-tooltip", has_text="柯桥街道")).to_be_visible()
    # A word nothing matches says so.
    box.fill("")
    box.press_sequentially("无此地名测试", delay=20)
    expect(suggestions.locator(".place-search-empty")).to_have_text(
        "没有找到相关的地点、单位或事件"
    )
    visit.assert_clean()
    page.context.close()


def test_the_event_center_box_opens_an_event(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    event = api.get("demo_operator", "/events", size=1)["items"][0]
    visit = desk_visit(browser, live_server, "demo_operator", "/events")
    page = visit.page
    page.locator("#place-search").press_sequentially(event["code"], delay=20)
    item = page.locator(".place-search-item[data-kind=event]").first
    expect(item).to_contain_text(event["code"])
    item.click()
    page.wait_for_url(f"**/events/{event['id']}")
    # A place opens the map there, marked.
    page.goto(live_server.base_url + "/events")
    page.locator("#place-search").press_sequentially("轻纺城", delay=20)
    page.locator(".place-search-item[data-kind=place]").first.click()
    page.wait_for_url("**/map#at=*")
    page.locator("#map[data-state=ready]").wait_for()
    expect(page.locator("#map .leaflet-tooltip", has_text="中国轻纺城")).to_be_visible()
    page.wait_for_timeout(900)
    assert marker_offset(page) < 40
    visit.assert_clean()
    page.context.close()


def test_the_report_form_says_where_in_words_and_takes_a_corrected_point(
    worker_phone: Visit, api: Api
) -> None:
    page = worker_phone.page
    text = page.locator("#gps-text")
    expect(text).to_contain_text("柯桥街道 ")
    expect(text).to_contain_text("网格")
    expect(text).not_to_have_text(COORDINATES)
    words = api.get(
        "demo_grid_worker", "/search/reverse",
        lat=page.evaluate("() => FQWorker.position().lat"),
        lng=page.evaluate("() => FQWorker.position().lng"),
    )["text"]  # fmt: skip
    expect(text).to_contain_text(words)
    worker_phone.screenshot("worker-report-place")
    # A tap on the small map moves the report's point there.
    page.locator("#report-map").scroll_into_view_if_needed()
    page.locator("#report-map").click(position={"x": 60, "y": 60})
    expect(text).to_contain_text("已手动校正")
    worker_phone.screenshot("worker-report-place-corrected")
    # 重新定位 gives the point back to the GPS; a second tap corrects it again.
    page.locator("#gps-refresh").click()
    expect(text).not_to_contain_text("已手动校正")
    assert page.evaluate("() => FQWorkerPlace.point()") is None
    page.locator("#report-map").click(position={"x": 60, "y": 60})
    expect(text).to_contain_text("已手动校正")
    chosen = page.evaluate("() => FQWorkerPlace.point()")
    assert chosen is not None
    marker = f"校正位置-{uuid.uuid4().hex[:6]}"
    page.locator("#major-chips .chip").first.click()
    page.locator("#minor-chips .chip").first.click()
    page.locator("#report-description").fill(marker)
    page.locator("#report-submit").click()
    expect(page.locator(".toast-ok", has_text="已上报").last).to_be_visible(timeout=15_000)
    filed = api.get("demo_operator", "/events", q=marker)["items"]
    if not filed:  # the grid worker's own view, if the point left the operator's town
        filed = api.get("demo_grid_worker", "/events", q=marker)["items"]
    assert len(filed) == 1
    assert (
        abs(filed[0]["lat"] - chosen["lat"]) < 1e-6 and abs(filed[0]["lng"] - chosen["lng"]) < 1e-6
    )
    worker_phone.assert_clean()
