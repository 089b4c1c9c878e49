"""The command wall (驾驶舱, issue 18 item 6) in Chromium at 1920×1080: every panel on one screen
without scroll bars, today's figures, an alarm arriving live, a network drop shown and recovered
by itself, each of the six screens of a 3×2 wall, a town leader's wall of their town, and the
403 page for roles without a command room."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.conftest import Api, LiveServer, Visit, World, open_visit, sign_in

pytestmark = pytest.mark.e2e

SCREEN: ViewportSize = {"width": 1920, "height": 1080}
READY = "#wall[data-state=ready]"
PANELS = {1: "panel-map", 2: "panel-today", 3: "panel-overdue", 4: "panel-warnings",
          5: "panel-charts", 6: "panel-cameras"}  # fmt: skip


def open_wall(browser: Browser, live_server: LiveServer, user: str, path: str = "/wall") -> Visit:
    visit = open_visit(browser, live_server, SCREEN, locale="zh-CN")
    sign_in(visit, user, live_server.settings.demo_password, landing=path)
    visit.page.locator(READY).wait_for()
    return visit


def assert_no_scroll_bars(page: Page) -> None:
    size = page.evaluate(
        "[document.documentElement.scrollHeight, innerHeight,"
        " document.documentElement.scrollWidth, innerWidth]"
    )
    assert size[0] <= size[1] and size[2] <= size[3], size


def figure(page: Page, key: str) -> str:
    return page.locator(f"#wall-figures .figure[data-key='{key}'] b").inner_text()


def test_the_district_wall_fits_1920_by_1080_shows_todays_figures_and_an_alarm_live(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    assert live_server.stream is not None
    live_server.stream.render()  # the loopback gateway's segments, for the camera panel
    wall = open_wall(browser, live_server, "demo_district_leader")
    page = wall.page
    situation = api.get("demo_district_leader", "/command/situation")
    for key in ("new", "closed", "open", "overdue", "urgent_open"):
        expect(page.locator(f"#wall-figures .figure[data-key='{key}'] b")).to_have_text(
            f"{situation['today'][key]:,}"
        )
    for css in PANELS.values():
        expect(page.locator(f".{css}")).to_be_visible()
    points = api.get("demo_district_leader", "/command/events.geojson")["features"]
    assert page.locator("#wall").get_attribute("data-events") == str(len(points))
    expect(page.locator("#chart-a[data-chart]")).to_be_attached(timeout=10_000)
    expect(page.locator("#chart-b[data-chart] canvas")).to_be_attached()
    expect(page.locator("#wall-warnings li").first).to_be_visible()
    assert_no_scroll_bars(page)

    alarm = api.file(world, urgent=True, title="驾驶舱一键报警", description="驾驶舱实时报警测试")
    item = page.locator(f"#wall-alarms li[data-id='{alarm['id']}']")
    expect(item).to_contain_text("驾驶舱一键报警", timeout=15_000)
    # Announced by the stream's alarm frame, not only found by the wall's own 10 s read.
    expect(item).to_have_attribute("data-via", "stream", timeout=5_000)
    expect(page.locator("#camera-alarm")).to_contain_text("驾驶舱一键报警")
    # The cameras nearest the alarm play on the wall (the loopback test stream, video.js).
    cameras = page.locator("#wall-cameras .video-tile")
    expect(cameras.first).to_be_visible(timeout=15_000)
    expect(cameras.first).to_have_attribute("data-state", "playing", timeout=15_000)
    expect(cameras.first.locator(".video-message")).to_be_hidden()  # no 正在连接 over the picture
    # Taken elsewhere: the wall strikes it through.
    api.post("demo_district_operator", f"/command/alarms/{alarm['id']}/ack")
    expect(item).to_have_class(re.compile(r"\bis-taken\b"), timeout=15_000)
    assert_no_scroll_bars(page)
    wall.screenshot("wall")
    wall.assert_clean()
    page.context.close()


def test_a_network_drop_shows_the_reconnect_state_and_the_wall_recovers_by_itself(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    wall = open_wall(browser, live_server, "demo_operator")
    page = wall.page
    expect(page.locator("#wall-conn")).to_be_hidden()
    before = api.get("demo_operator", "/command/situation")["today"]["new"]
    page.context.set_offline(True)
    expect(page.locator("#wall-conn")).to_be_visible(timeout=10_000)
    expect(page.locator("#wall-conn")).to_have_text("连接中断，正在重连")
    wall.screenshot("wall-reconnecting")
    api.file(world, title="断网期间上报的事件")  # filed while the wall is cut off
    page.context.set_offline(False)
    expect(page.locator("#wall-conn")).to_be_hidden(timeout=15_000)
    expect(page.locator("#wall")).to_have_attribute("data-recovered", "1")
    expect(page.locator("#wall-figures .figure[data-key='new'] b")).to_have_text(
        f"{before + 1:,}", timeout=15_000
    )
    # The console's "failed to load" lines of the requests refused while offline are expected.
    assert all("ERR_INTERNET_DISCONNECTED" in e or "Failed to load" in e for e in wall.errors)
    page.context.close()


def test_a_stream_blip_does_not_flash_the_notice_but_a_lasting_drop_does(
    browser: Browser, live_server: LiveServer
) -> None:
    wall = open_wall(browser, live_server, "demo_operator")
    page = wall.page
    expect(page.locator("#wall")).to_have_attribute("data-stream", "live", timeout=10_000)
    # The stream drops and the browser reopens it 2 s later: no notice, nothing re-read.
    page.evaluate("FQ.wall.feed('state', false)")
    page.wait_for_timeout(2_000)
    expect(page.locator("#wall-conn")).to_be_hidden()
    page.evaluate("FQ.wall.feed('state', true)")
    page.wait_for_timeout(7_000)  # past the moment the first drop would have counted
    expect(page.locator("#wall-conn")).to_be_hidden()
    expect(page.locator("#wall")).not_to_have_attribute("data-recovered", "1")
    # A drop that lasts is said, and the wall comes back when the stream does.
    page.evaluate("FQ.wall.feed('state', false)")
    expect(page.locator("#wall-conn")).to_be_visible(timeout=12_000)
    page.evaluate("FQ.wall.feed('state', true)")
    expect(page.locator("#wall-conn")).to_be_hidden(timeout=5_000)
    expect(page.locator("#wall")).to_have_attribute("data-recovered", "1")
    wall.assert_clean()
    page.context.close()


def test_each_screen_of_the_three_by_two_wall_shows_its_panel(
    browser: Browser, live_server: LiveServer
) -> None:
    wall = open_wall(browser, live_server, "demo_district_leader", "/wall?panel=1")
    page = wall.page
    for number, css in PANELS.items():
        if number > 1:
            page.goto(f"{live_server.base_url}/wall?panel={number}")
            page.locator(READY).wait_for()
        expect(page.locator(f".{css}")).to_be_visible()
        for other in PANELS.values():
            if other != css:
                expect(page.locator(f".{other}")).to_be_hidden()
        box = page.locator(f".{css}").bounding_box()
        assert box and box["width"] > 1800 and box["height"] > 900, box
        assert_no_scroll_bars(page)
        if number == 1:
            expect(page.locator("#wall-map canvas").first).to_be_attached()
        if number == 2:
            assert figure(page, "open") != "—"
        if number == 3:
            expect(page.locator("#wall-overdue li").first).not_to_have_text("加载中…")
        if number == 4:
            expect(page.locator("#wall-warnings li").first).not_to_have_text("加载中…")
        if number == 5:
            expect(page.locator("#chart-a[data-chart] canvas")).to_be_attached(timeout=10_000)
        wall.screenshot(f"wall-panel-{number}")
    wall.assert_clean()
    # A seventh screen is no panel: the 404 page, not an empty wall.
    page.goto(f"{live_server.base_url}/wall?panel=7")
    expect(page.locator("#page-error[data-status='404']")).to_be_visible()
    page.context.close()


def file_in_another_town(api: Api, world: World) -> dict[str, Any]:
    """A second town of the district (齐贤街道, one grid) and a hotline event the district's
    operator files there."""
    west, south = 120.40, 29.96  # beside test_loop.py's 安昌街道, inside the district
    square = [[west, south], [west + 0.03, south], [west + 0.03, south + 0.03],
              [west, south + 0.03], [west, south]]  # fmt: skip
    places: list[tuple[str, str, dict[str, Any]]] = [
        ("330603010", "齐贤街道", {"area_type": "rural"}),
        ("330603010001", "齐贤村", {"village_type": "village"}),
        ("330603010001001", "齐贤村第1网格", {"households": 100, "population": 300}),
    ]
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name, **props},
         "geometry": {"type": "Polygon", "coordinates": [square]}}
        for code, name, props in places
    ]  # fmt: skip
    api.post("admin", "/org/import", json={"type": "FeatureCollection", "features": features})
    body = {"source": "hotline", "category": world.handler_category, "lat": south + 0.015,
            "lng": west + 0.015, "description": "齐贤村的事件", "title": "外镇事件"}  # fmt: skip
    created: dict[str, Any] = api.post("demo_district_operator", "/events", expect=201, json=body)
    return created


def test_a_town_leader_sees_their_town_and_other_roles_get_the_403_page(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    outside = file_in_another_town(api, world)
    assert outside["town"]["name"] != "柯桥街道"
    wall = open_wall(browser, live_server, "demo_leader")
    page = wall.page
    expect(page.locator("#wall-scope")).to_have_text("柯桥街道")
    town = api.get("demo_leader", "/command/situation")["today"]
    district = api.get("demo_district_leader", "/command/situation")["today"]
    assert town["open"] < district["open"]
    expect(page.locator("#wall-figures .figure[data-key='open'] b")).to_have_text(
        f"{town['open']:,}"
    )
    town_points = api.get("demo_leader", "/command/events.geojson")["features"]
    assert outside["id"] not in {p["properties"]["id"] for p in town_points}
    assert page.locator("#wall").get_attribute("data-events") == str(len(town_points))
    wall.assert_clean()
    page.context.close()
    for user in ("demo_grid_worker", "demo_handler", "demo_resident"):
        refused = open_visit(browser, live_server, SCREEN, locale="zh-CN")
        sign_in(refused, user, live_server.settings.demo_password, landing="/wall")
        expect(refused.page.locator("#page-error[data-status='403']")).to_contain_text("无权操作")
        refused.page.context.close()
