"""The command room's one-map in Chromium: grids, events by light, today's situation, the
layers, the event card with the nearest workers and cameras; and the pages behind it
(supervision orders, the outbox's failures, messages)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from fengqiao.db import Database
from fengqiao.outbox.models import Outbox
from fengqiao.worker import run_once
from tests.e2e.conftest import Api, LiveServer, World, desk_visit, settle

pytestmark = pytest.mark.e2e

POLYGONS = "#map path.leaflet-interactive"


def open_map(browser: Browser, live_server: LiveServer, user: str = "demo_operator") -> Page:
    visit = desk_visit(browser, live_server, user, "/map")
    visit.page.locator("#map[data-state=ready]").wait_for()
    return visit.page


def test_the_operator_sees_grids_events_and_todays_situation(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    page = open_map(browser, live_server)
    expect(page.locator(POLYGONS)).to_have_count(25)
    points = api.get("demo_operator", "/command/events.geojson")["features"]
    assert points, "the demo town has open events"
    assert page.locator("#onemap").get_attribute("data-events") == str(len(points))
    situation = api.get("demo_operator", "/command/situation")
    for key in ("new", "closed", "open", "overdue", "urgent_open"):
        value = page.locator(f"#today-cards .stat[data-key={key}] .stat-value")
        expect(value).to_have_text(f"{situation['today'][key]:,}")
    expect(page.locator("#overdue-list li")).to_have_count(max(1, len(situation["overdue"])))
    expect(page.locator(".leaflet-control-layers-overlays label")).to_have_text(
        [re.compile(name) for name in ("网格", "事件", "网格员实时位置", "今日巡查轨迹", "医院",
                                       "学校", "应急资源", "企业", "视频监控", "物联设备",
                                       "道路水系")]
    )  # fmt: skip
    # The grids are coloured by light: red where an open event is overdue.
    fills = page.locator(POLYGONS).evaluate_all("ps => ps.map(p => p.getAttribute('fill'))")
    stats = api.get("demo_operator", "/command/grid-stats")["grids"]
    assert fills.count("#d93025") == sum(1 for s in stats.values() if s["red"])
    page.locator("#grid-colour").select_option("density")
    expect(page.locator("#legend")).to_contain_text("事件较多")
    page.locator("#grid-colour").select_option("light")
    settle(page)
    page.screenshot(path="test-artifacts/onemap.png")
    page.context.close()


def test_layers_load_when_switched_on(browser: Browser, live_server: LiveServer, api: Api) -> None:
    page = open_map(browser, live_server)
    cameras = api.get("demo_operator", "/layers/camera")["features"]
    assert cameras
    page.locator(".leaflet-control-layers-overlays label", has_text="视频监控").locator(
        "input"
    ).check()
    expect(page.locator("#map .poi-icon, #map .poi-cluster").first).to_be_visible()
    # Single cameras, and clusters (squares in the layer's colour) counting theirs.
    shown = page.evaluate(
        """() => [...document.querySelectorAll('#map .poi-cluster-camera b, #map .poi-icon')]
             .reduce((n, el) => n + (el.classList.contains('poi-icon') ? 1 : Number(el.textContent)), 0)"""
    )
    assert shown >= len(cameras)
    # Workers on duty: alone, or in clusters that count them.
    workers = api.get("demo_operator", "/positions/latest")["features"]
    expect(page.locator("#map .worker-icon, #map .worker-cluster").first).to_be_visible()
    on_map = page.evaluate(
        """() => [...document.querySelectorAll('#map .worker-icon, #map .worker-cluster b')]
             .reduce((n, el) => n + (el.tagName === 'B' ? Number(el.textContent) : 1), 0)"""
    )
    assert on_map == len(workers)
    tracks = page.locator(".leaflet-control-layers-overlays label", has_text="今日巡查轨迹")
    tracks.locator("input").check()
    lines = page.locator("#map path.leaflet-interactive[stroke='#1a73e8']")
    expect(lines.first).to_be_visible()
    drawn = api.get("demo_operator", "/tracks/geojson")["features"]
    expect(lines).to_have_count(len(drawn))
    lines.first.dispatch_event("click")
    gpx = page.locator(".track-popup a", has_text="GPX")
    href = gpx.get_attribute("href") or ""
    assert re.fullmatch(r"/api/v1/tracks/\d+/\d{4}-\d{2}-\d{2}\.gpx", href)
    exported = httpx.get(live_server.base_url + href, headers=api.headers("demo_operator"))
    assert exported.status_code == 200 and "<trkpt" in exported.text
    page.context.close()


def test_an_event_card_shows_the_trail_and_who_and_what_is_near(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, description="路口积水,井盖松动")
    # A link to the map with the event in its address opens the card over its place.
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    card = page.locator("#event-card")
    page.goto(f"{live_server.base_url}/map#event={event['id']}")
    page.locator("#map[data-state=ready]").wait_for()
    expect(card).to_be_visible()
    expect(page.locator("#event-card-title")).to_have_text(event["title"])
    expect(card.locator(".timeline li")).to_have_count(1)
    expect(card).to_contain_text("路口积水,井盖松动")
    workers = card.locator("#nearest-workers li")
    expect(workers.first).not_to_contain_text("查询中")
    nearest = api.get(
        "demo_operator", "/positions/nearest", lat=event["lat"], lng=event["lng"], limit=5
    )
    if nearest:
        expect(workers).to_have_count(len(nearest))
        call = workers.first.locator("a.call")
        expect(call).to_have_attribute("href", re.compile(r"^tel:\d+"))
    cameras = card.locator("#nearest-cameras li")
    expect(cameras.first).not_to_contain_text("查询中")
    # 播放 in the page (video.js), not a stream link no browser opens.
    expect(cameras.first.locator("button.play")).to_have_text("播放")
    expect(cameras.first.locator("a[href^='rtsp']")).to_have_count(0)
    page.screenshot(path="test-artifacts/onemap-card.png")
    page.context.close()


def test_a_town_leader_and_the_district_see_their_own_scope(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    page = open_map(browser, live_server, "demo_district_operator")
    grids = api.get("demo_district_operator", "/grids/geojson")["features"]
    expect(page.locator("#map-status")).to_have_text(f"共 {len(grids)} 个网格")
    page.context.close()


def test_supervision_orders_are_issued_listed_and_answered_in_pages(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, description="督办测试:占道经营屡教不改")
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    leader = desk_visit(browser, live_server, "demo_leader", f"/events/{event['id']}")
    page = leader.page
    page.locator("#action-tabs button[data-action='supervise']").click()
    form = page.locator(".action-form[data-action='supervise']")
    form.locator("[name=kind]").select_option("leader")
    form.locator("[name=requirement]").fill("三日内清理完毕并反馈")
    form.get_by_role("button", name="提交").click()
    expect(page.locator(".toast-ok", has_text="督办单已下发").last).to_be_visible()
    expect(page.locator("#event-trail")).to_contain_text("督办")
    page.goto(live_server.base_url + "/supervision?status=open")
    row = page.locator("#list-table tbody tr", has_text="三日内清理完毕并反馈")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("领导")
    leader.screenshot("supervision-list")
    leader.page.context.close()

    handler = desk_visit(browser, live_server, "demo_handler", "/supervision")
    row = handler.page.locator("#list-table tbody tr", has_text="三日内清理完毕并反馈")
    row.locator("textarea[name=reply]").fill("已安排人员清理")
    row.get_by_role("button", name="回复").click()
    expect(handler.page.locator(".toast-ok", has_text="已回复督办单").last).to_be_visible()
    expect(
        handler.page.locator("#list-table tbody tr", has_text="三日内清理完毕并反馈")
    ).to_contain_text("已安排人员清理")
    handler.assert_clean()
    handler.page.context.close()


def test_the_outbox_page_lists_failures_and_resends(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, urgent=True, title="紧急:发送失败演示")
    # The command room takes the alarm (接警), or its dialog would stand over the page.
    api.post("demo_operator", f"/command/alarms/{event['id']}/ack")
    outbox = api.get("demo_operator", "/outbox", event_id=event["id"])
    sms = next(m for m in outbox if m["channel"] == "sms")
    database = Database(live_server.settings.database_url)
    with database.transaction() as db:
        db.execute(
            update(Outbox)
            .where(Outbox.id == sms["id"])
            .values(status="dead", attempts=5, error="gateway 400: 号码无效")
        )
    database.dispose()
    visit = desk_visit(browser, live_server, "demo_operator", "/outbox")
    row = visit.page.locator(f"#list-table tbody tr[data-id='{sms['id']}']")
    expect(row).to_contain_text("发送失败")
    expect(row).to_contain_text("gateway 400: 号码无效")
    visit.screenshot("outbox")
    row.get_by_role("button", name="重新发送").click()
    expect(visit.page.locator(".toast-ok", has_text="已重新排队发送").last).to_be_visible()
    expect(visit.page.locator(f"#list-table tbody tr[data-id='{sms['id']}']")).to_have_count(0)
    again = next(
        m for m in api.get("demo_operator", "/outbox", event_id=event["id"]) if m["id"] == sms["id"]
    )
    assert again["status"] == "pending"
    visit.page.context.close()


def test_messages_arrive_live_in_the_inbox(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", "/messages")
    page = visit.page
    expect(page.locator("#unread-count")).not_to_have_text("")
    before = page.locator("#message-list li.message").count()
    event = api.file(world, urgent=True, title="紧急:消息演示")
    api.post("demo_operator", f"/command/alarms/{event['id']}/ack")
    expect(page.locator("#alarm-dialog")).to_be_hidden(timeout=10_000)  # its dialog closes
    # The worker delivers the queued messages; the open page receives its own at once.
    database = Database(live_server.settings.database_url)
    counts = run_once(database, live_server.settings, datetime.now(UTC), names=["outbox"])
    database.dispose()
    assert counts["outbox"]
    # Messages queued by earlier tests arrive too; ours is among them, once, unread.
    message = page.locator("#message-list li.message", has_text=event["code"])
    expect(message).to_have_count(1, timeout=10_000)
    expect(message).to_have_class(re.compile("is-unread"))
    assert page.locator("#message-list li.message").count() > before
    expect(page.locator("#unread-count")).to_contain_text("条未读")
    expect(page.locator(".toast", has_text="新消息").last).to_be_visible()
    visit.screenshot("messages")
    message.click()
    expect(message).not_to_have_class(re.compile("is-unread"))
    visit.assert_clean()
    page.context.close()
