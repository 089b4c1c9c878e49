"""The grid worker's app on a phone in Chromium: offline reports that arrive exactly once, the
one-click alarm reaching the command room live, patrol tracks, messages and installability."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect

from fengqiao.db import Database
from fengqiao.worker import run_once
from tests.e2e.conftest import Api, LiveServer, Visit, World, desk_visit

pytestmark = pytest.mark.e2e


def pick_class(visit: Visit, code: str) -> None:
    visit.page.locator(f"#major-chips .chip[data-code='{code[:2]}']").click()
    visit.page.locator(f"#minor-chips .chip[data-code='{code}']").click()


def test_a_report_made_offline_arrives_once_when_back_online(
    worker_phone: Visit, world: World, api: Api
) -> None:
    page = worker_phone.page
    marker = f"离线上报-{uuid.uuid4().hex[:6]}"
    page.context.set_offline(True)
    expect(page.locator("#net-state")).to_have_text("离线")
    pick_class(worker_phone, world.handler_category)
    page.locator("#report-description").fill(marker + " 河边护栏损坏")
    page.locator("#report-submit").click()
    expect(page.locator("#queue-card")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("1")
    worker_phone.screenshot("worker-offline-queue")
    # The queue survives a reload of the app (it lives in IndexedDB, not in the page).
    assert api.get("demo_operator", "/events", q=marker)["items"] == []
    page.context.set_offline(False)
    expect(page.locator("#net-state")).to_have_text("在线")
    expect(page.locator("#queue-card")).to_be_hidden(timeout=15_000)
    expect(page.locator(".toast-ok", has_text="已上报").last).to_be_visible()
    # Going offline and online again sends nothing twice.
    page.context.set_offline(True)
    page.context.set_offline(False)
    page.wait_for_timeout(1500)
    assert len(api.get("demo_operator", "/events", q=marker)["items"]) == 1


def test_a_queued_report_survives_closing_the_app(
    browser: Browser, live_server: LiveServer, world: World, api: Api, worker_phone: Visit
) -> None:
    page = worker_phone.page
    marker = f"重启后发送-{uuid.uuid4().hex[:6]}"
    page.context.set_offline(True)
    pick_class(worker_phone, world.handler_category)
    page.locator("#report-description").fill(marker)
    page.locator("#report-submit").click()
    expect(page.locator("#queue-count")).to_have_text("1")
    page.context.set_offline(False)
    # Reopened before it could send (the same phone: same storage), the app sends it once.
    page.goto(live_server.base_url + "/m/")
    expect(page.locator("#queue-card")).to_be_hidden(timeout=15_000)
    page.wait_for_timeout(500)
    assert len(api.get("demo_operator", "/events", q=marker)["items"]) == 1


def test_a_report_without_a_class_says_so(worker_phone: Visit) -> None:
    page = worker_phone.page
    page.locator("#report-description").fill("没有选分类")
    page.locator("#report-submit").click()
    # No field code reaches the user (the form's own check names no field word).
    expect(page.locator("#report-form .form-error")).to_have_text("请选择事件分类；请选择小类")
    expect(page.locator("#queue-card")).to_be_hidden()


def test_the_alarm_reaches_the_operators_page_live(
    browser: Browser, live_server: LiveServer, world: World, api: Api, worker_phone: Visit
) -> None:
    operator = desk_visit(browser, live_server, "demo_operator", "/map")
    command = operator.page
    command.locator("#map[data-state=ready]").wait_for()
    expect(command.locator("#live-state.is-live")).to_be_visible(timeout=10_000)
    before = command.locator("#alarm-list li.alarm").count()

    phone = worker_phone.page
    phone.locator("#alarm-button").click()
    dialog = phone.locator("#alarm-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("[name=note]").fill("有人持械滋事")
    worker_phone.screenshot("worker-alarm")
    dialog.get_by_role("button", name="立即报警").click()
    expect(phone.locator(".toast-ok", has_text="报警已送达指挥室").last).to_be_visible()

    # Within a few seconds, without a reload: the alarm list, a toast and the map.
    alarms = command.locator("#alarm-list li.alarm")
    expect(alarms).to_have_count(before + 1, timeout=10_000)
    expect(alarms.first).to_contain_text("一键报警")
    expect(command.locator(".toast-alarm", has_text="紧急报警").last).to_be_visible()
    expect(
        command.locator("#today-cards .stat[data-key=urgent_open] .stat-value")
    ).not_to_have_text("0")
    operator.screenshot("onemap-alarm")
    # The alarm stands as a dialog over the page until the operator takes it (接警).
    dialog = command.locator("#alarm-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(".alarm-item", has_text="一键报警").first.locator(".alarm-take").click()
    expect(dialog).to_be_hidden(timeout=10_000)
    # The event is urgent, at the worker's position, and the command room was messaged.
    alarm_id = int(alarms.first.get_attribute("data-id") or 0)
    event = api.get("demo_operator", f"/events/{alarm_id}")
    lat, lng = world.grid_point
    assert event["urgent"] is True and event["title"] == "一键报警"
    assert abs(event["lat"] - lat) < 1e-6 and abs(event["lng"] - lng) < 1e-6
    assert "有人持械滋事" in event["description"]
    outbox = api.get("demo_operator", "/outbox", event_id=alarm_id)
    assert {m["template"] for m in outbox} == {"urgent"}
    assert {m["channel"] for m in outbox} == {"app", "sms"}
    assert str(world.ids["demo_operator"]) in {m["recipient"] for m in outbox}
    # Its card opens from the alarm list.
    alarms.first.locator("a").click()
    expect(command.locator("#event-card-title")).to_have_text("一键报警")
    expect(command.locator("#event-card .badge-urgent")).to_be_visible()
    operator.assert_clean()
    command.context.close()


def test_patrol_records_positions_and_shows_the_track(
    worker_phone: Visit, world: World, api: Api
) -> None:
    page = worker_phone.page
    page.locator(".tab-bar button[data-tab=patrol]").click()
    toggle = page.locator("#patrol-toggle")
    if toggle.inner_text() == "结束巡查":  # left open by the demo data
        toggle.click()
        expect(toggle).to_have_text("开始巡查")
    before = api.get("demo_grid_worker", "/me/patrol")["today"]
    toggle.click()
    expect(toggle).to_have_text("结束巡查")
    expect(page.locator(".toast-ok", has_text="巡查开始").last).to_be_visible()
    # Walk a few steps north-east: each move of more than 25 m is recorded.
    lat, lng = world.grid_point
    for step in range(1, 4):
        page.context.set_geolocation(
            {"latitude": lat + step * 0.0002, "longitude": lng + step * 0.0002, "accuracy": 8}
        )
        page.wait_for_timeout(1600)  # about 29 m each 1.6 s: quick, but no GPS jump
    toggle.click()
    expect(toggle).to_have_text("开始巡查")
    expect(page.locator(".toast-ok", has_text="巡查结束").last).to_be_visible()
    mine = api.get("demo_grid_worker", "/me/patrol")
    assert mine["open"] is None
    assert mine["today"]["points"] >= before["points"] + 4  # the start, three moves, the stop
    walked = mine["today"]["distance_m"] - before["distance_m"]
    assert 3 * 25 < walked < 3 * 35, walked
    expect(page.locator("#track-map path.leaflet-interactive").first).to_be_visible()
    worker_phone.screenshot("worker-patrol")


def test_the_app_is_installable(worker_phone: Visit, live_server: LiveServer, api: Api) -> None:
    page = worker_phone.page
    manifest = page.evaluate(
        "async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()"
    )
    assert manifest["start_url"] == "/m/" and manifest["display"] == "standalone"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    scope = page.evaluate(
        "async () => (await navigator.serviceWorker.ready).active && "
        "(await navigator.serviceWorker.getRegistration('/m/')).scope"
    )
    assert scope == live_server.base_url + "/m/"
    # The shell is cached: offline, the app still opens.
    page.wait_for_function("async () => (await caches.keys()).length > 0")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator(".app-title")).to_have_text("枫桥 · 网格员")
    page.context.set_offline(False)


def test_reading_a_message_takes_it_off_the_tab_badge(
    worker_phone: Visit, live_server: LiveServer, world: World, api: Api
) -> None:
    """消息's badge counts the unread messages and goes down as soon as one is read."""
    event = api.file(world, description="消息角标测试")
    api.act(event, "demo_operator", "accept")  # the reporter is told: 已受理
    database = Database(live_server.settings.database_url)
    run_once(database, live_server.settings, datetime.now(UTC), names=["outbox"])
    database.dispose()
    page = worker_phone.page
    page.reload()  # the app asks for its messages when it opens
    page.locator(".tab-bar button[data-tab=messages]").click()
    badge = page.locator("#messages-badge")
    expect(badge).to_be_visible()
    unread = api.get("demo_grid_worker", "/me/notifications", limit=1)["unread"]
    assert unread >= 1
    expect(badge).to_have_text(str(unread))
    item = page.locator("#message-list li.message", has_text=event["code"])
    expect(item).to_have_class(re.compile(r"\bis-unread\b"))

    def shows(count: int) -> None:
        if count:
            expect(badge).to_have_text(str(count))
        else:
            expect(badge).to_be_hidden()

    item.click()
    shows(unread - 1)
    item.click()  # read already: the count stays
    shows(unread - 1)
    deadline = time.monotonic() + 10  # the page marks it read on the server in the background
    while api.get("demo_grid_worker", "/me/notifications", limit=1)["unread"] != unread - 1:
        assert time.monotonic() < deadline, "the message was not marked read"
        page.wait_for_timeout(100)
