"""The one-map as a working surface: an event is accepted and dispatched from its card without
leaving the map; workers and point layers cluster in colours of their own, and the legend names
every glyph the map draws."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Api, LiveServer, World, desk_visit

pytestmark = pytest.mark.e2e

LIGHTS = {"rgb(217, 48, 37)", "rgb(242, 166, 0)", "rgb(52, 168, 83)"}


def test_accept_and_dispatch_from_the_card_in_one_step(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, description="地图上受理并交办:店外占道经营")
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    # A link to the event followed on the open map (as the alarm dialog's 在地图上定位 is): only
    # the hash changes, yet the card opens, however far the map had got with starting.
    page.locator("#map[data-state=ready]").wait_for()
    page.goto(f"{live_server.base_url}/map#event={event['id']}")
    form = page.locator("#event-card #card-actions")
    expect(form).to_be_visible()
    expect(form.locator("#card-unit option").first).to_contain_text("系统建议")
    form.locator("button", has_text="受理并交办").click()
    expect(page.locator("#event-card .card-head")).to_contain_text("已交办")
    moved = api.get("demo_operator", f"/events/{event['id']}")
    assert moved["status"] == "dispatched"
    assert [r["action"] for r in moved["trail"]][-2:] == ["accept", "dispatch"]
    # Once dispatched the card offers nothing more to the command room.
    expect(page.locator("#event-card #card-actions")).to_have_count(0)
    page.locator("#event-card").screenshot(path="test-artifacts/onemap-card-dispatched.png")

    # Accepting alone, then dispatching to another unit, needs a reason: said on the card.
    # A map opened afresh at a link to the event opens its card too.
    other = api.file(world, description="地图上先受理后交办")
    page.goto(f"{live_server.base_url}/map#event={other['id']}")
    page.reload()
    page.locator("#map[data-state=ready]").wait_for()
    form = page.locator("#event-card #card-actions")
    form.locator("button", has_text="受理").first.click()
    expect(page.locator("#event-card .card-head")).to_contain_text("已受理")
    form = page.locator("#event-card #card-actions")
    expect(form.locator("button", has_text="交办")).to_be_visible()
    options = form.locator("#card-unit option")
    expect(options.nth(1)).to_be_attached()
    form.locator("#card-unit").select_option(index=1)
    form.locator("button", has_text="交办").click()
    expect(form.locator(".form-error")).to_be_visible()
    expect(form.locator(".field-error")).to_contain_text("理由")
    assert api.get("demo_operator", f"/events/{other['id']}")["status"] == "accepted"
    assert visit.foreign_requests == []
    page.context.close()


def test_workers_and_points_cluster_in_their_own_colours_with_a_legend(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    page = desk_visit(browser, live_server, "demo_district_operator", "/map").page
    page.locator("#map[data-state=ready]").wait_for()
    workers = api.get("demo_district_operator", "/positions/latest")["features"]
    assert len(workers) > 1
    # At the whole district's view the workers gather into counted clusters.
    expect(page.locator("#map .worker-cluster").first).to_be_visible()
    counted = page.evaluate(
        """() => [...document.querySelectorAll('#map .worker-icon, #map .worker-cluster b')]
             .reduce((n, el) => n + (el.tagName === 'B' ? Number(el.textContent) : 1), 0)"""
    )
    assert counted == len(workers)
    assert page.locator("#map .worker-icon").count() < len(workers)
    # Point layers cluster as squares in their own colour, never a light's red/yellow/green.
    for label in ("医院", "视频监控"):
        page.locator(".leaflet-control-layers-overlays label", has_text=label).locator(
            "input"
        ).check()
    expect(page.locator("#map .poi-cluster span").first).to_be_visible()
    colours = page.locator("#map .poi-cluster span, #map .poi-icon span").evaluate_all(
        "els => els.map(el => getComputedStyle(el).backgroundColor)"
    )
    assert colours and not LIGHTS & set(colours), colours
    # The legend explains each kind of glyph on the map.
    legend = page.locator("#legend")
    for text in ("红灯", "黄灯", "绿灯", "紧急事件", "多个事件", "网格员（巡查中）", "多名网格员",
                 "今日巡查轨迹", "医院", "学校", "应急资源", "企业", "物联设备", "视频监控",
                 "同类点位聚合"):  # fmt: skip
        expect(legend).to_contain_text(text)
    page.locator("#situation").screenshot(path="test-artifacts/onemap-legend.png")
    page.screenshot(path="test-artifacts/onemap-district.png")
    page.context.close()
