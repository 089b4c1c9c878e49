"""Cameras in Chromium: the one-map's camera layer coloured by status with 播放 in its
popup (the camera plays in the page), and 附近视频 with status on the one-map's event card and
on the event page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import Api, LiveServer, World, desk_visit

pytestmark = pytest.mark.e2e

COLOURS = {
    "online": "rgb(0, 131, 143)",
    "offline": "rgb(154, 160, 166)",
    "fault": "rgb(74, 20, 140)",
}
WORDS = {"online": "在线", "offline": "离线", "fault": "故障"}


def test_the_camera_layer_shows_status_colours_and_the_stream(
    browser: Browser, live_server: LiveServer
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    page.locator("#map[data-state=ready]").wait_for()
    page.locator(".leaflet-control-layers-overlays label", has_text="视频监控").locator(
        "input"
    ).check()
    icons = page.locator(".poi-icon[class*='cam-']")
    # Zoom in on the middle of the map until single cameras come out of their clusters.
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    for _ in range(12):
        if icons.count() >= 3:
            break
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(400)
    assert icons.count() >= 1
    shown = icons.evaluate_all(
        """els => els.map(el => [el.className.match(/cam-(\\w+)/)[1],
                                  getComputedStyle(el.querySelector('span')).backgroundColor])"""
    )
    assert shown and all(colour == COLOURS[status] for status, colour in shown)
    popup = page.locator(".poi-popup")
    # The wheel zoom animates and the clusters re-form after it: a click during that lands on
    # a marker that is being replaced. Wait until the map stands still, and click again if the
    # popup still did not open (a late re-clustering swallowed the click).
    for _ in range(3):
        page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')")
        page.wait_for_timeout(300)
        # A camera the pointer can reach: not under the layer switch or another control.
        index = icons.evaluate_all(
            """els => els.findIndex(el => {
                 const r = el.getBoundingClientRect();
                 const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                 return hit !== null && el.contains(hit);
               })"""
        )
        icon = icons.nth(max(index, 0))
        status = icon.evaluate("el => el.className.match(/cam-(\\w+)/)[1]")
        icon.click()
        try:
            popup.wait_for(state="visible", timeout=2000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(popup).to_be_visible()
    expect(popup.locator(".cam-status")).to_have_text(WORDS[status])
    expect(popup.locator("code")).to_have_text(re.compile(r"^\d{20}$"))
    # No rtsp:// link no browser opens: 播放 plays it in the page, from the gateway.
    expect(popup.locator("a", has_text="查看视频流")).to_have_count(0)
    assert live_server.stream is not None
    live_server.stream.render()
    popup.locator("button.play", has_text="播放").click()
    tile = page.locator("#video-dock.is-floating .video-tile")
    expect(tile).to_have_count(1)
    expect(tile).to_have_attribute("data-state", "playing", timeout=15_000)
    assert tile.locator("video").evaluate("v => v.videoWidth") > 0
    visit.assert_clean()
    page.screenshot(path="test-artifacts/cameras-layer.png")
    page.context.close()


def test_nearby_cameras_with_status_on_the_card_and_the_event_page(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, description="桥下有人钓鱼,疑似落水隐患")
    near = api.get(
        "demo_operator", "/layers/cameras/nearest", lat=event["lat"], lng=event["lng"], limit=5,
        radius_m=1000,
    )  # fmt: skip
    assert near, "the demo town has cameras within 1 km of its grids"
    # The video platform reports the nearest one broken.
    pushed = api.post(
        "demo_operator",
        "/cameras/status",
        json={"cameras": [{"code": near[0]["code"], "status": "fault"}]},
    )
    assert pushed["refused"] == []

    visit = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = visit.page
    page.locator("#event-page[data-state=ready]").wait_for()
    section = page.locator("#event-cameras")
    expect(section).to_be_visible()
    items = section.locator("#nearest-cameras li")
    expect(items).to_have_count(len(near))
    expect(items.first.locator(".cam-status")).to_have_text("故障")
    expect(items.first).to_contain_text(near[0]["name"])
    expect(items.first).to_contain_text(f"{round(near[0]['distance_m'])} 米")
    for item, camera in zip(items.all(), near, strict=True):
        assert item.get_attribute("data-code") == camera["code"]
    expect(items.first.locator("button.play")).to_have_text("播放")
    # Drawn on the event's small map too, coloured by status.
    expect(page.locator("#event-map path.leaflet-interactive[fill='#4a148c']")).not_to_have_count(0)
    visit.assert_clean()
    section.scroll_into_view_if_needed()
    page.locator(".detail-main .detail-card").first.screenshot(
        path="test-artifacts/event-cameras.png"
    )

    page.goto(f"{live_server.base_url}/map#event={event['id']}")
    page.locator("#map[data-state=ready]").wait_for()
    card = page.locator("#event-card #nearest-cameras li")
    expect(card).to_have_count(len(near))
    expect(card.first.locator(".cam-status")).to_have_text("故障")
    # 全部播放 on the card: the nearest four play in the map's floating video panel.
    assert live_server.stream is not None
    live_server.stream.render()
    page.locator("#event-card .video-play-all").click()
    tiles = page.locator("#video-dock.is-floating .video-tile")
    expect(tiles).to_have_count(min(4, len(near)))
    expect(tiles.first.locator(".video-distance")).to_have_text(
        f"{round(near[0]['distance_m'])} 米"
    )
    expect(tiles.first).to_have_attribute("data-state", "playing", timeout=15_000)
    page.screenshot(path="test-artifacts/onemap-card-video.png")
    page.locator("#video-dock .video-close-all").click()
    expect(tiles).to_have_count(0)
    expect(page.locator("#video-dock")).to_be_hidden()
    page.locator("#event-card").screenshot(path="test-artifacts/onemap-card-cameras.png")
    page.context.close()


def test_a_resident_sees_no_camera_section(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, user="demo_resident", source="resident", description="楼道堆放杂物")
    visit = desk_visit(browser, live_server, "demo_resident", f"/events/{event['id']}")
    visit.page.locator("#event-page[data-state=ready]").wait_for()
    expect(visit.page.locator("#event-cameras")).to_be_hidden()
    visit.assert_clean()  # not even a refused request
    visit.page.context.close()
