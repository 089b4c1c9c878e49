"""One-click video call (issue 18, item 2) in Chromium with fake camera and microphone: the town
operator rings the nearest worker from the map's event card, the worker's phone rings full
screen, the worker answers, both pages play the other's video, hanging up ends both, and the
call is on the event's trail. A call to someone outside the operator's area is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from scripts.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import (
    PHONE,
    Api,
    LiveServer,
    Visit,
    World,
    desk_visit,
    open_visit,
    phone_context_options,
    sign_in,
)

# Chromium's fake camera (a moving test pattern) and microphone, allowed without a prompt; the
# callee's page plays the caller's sound without having been touched first.
MEDIA_ARGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
)


# The camera refused (as a user's "block" does), the microphone allowed.
VOICE_ONLY = """async () => {
  const devices = navigator.mediaDevices;
  const allowed = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (wanted) => wanted.video
    ? Promise.reject(new DOMException("Permission denied", "NotAllowedError")) : allowed(wanted);
  const media = await FQ.rtc.localMedia();
  devices.getUserMedia = allowed;
  const tracks = media.stream.getTracks().map((t) => t.kind);
  FQ.rtc.stop(media.stream);
  return {mode: media.mode, tracks: tracks};
}"""


@pytest.fixture(scope="module")
def media_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
    )
    yield browser
    browser.close()


def playing(page: Page, selector: str) -> None:
    """Wait until the video has a picture and its time advances."""
    page.wait_for_function(
        "s => { const v = document.querySelector(s); return v && v.videoWidth > 0 && v.currentTime > 0; }",
        arg=selector,
        timeout=10_000,
    )
    first = page.evaluate("s => document.querySelector(s).currentTime", selector)
    page.wait_for_function(
        "([s, t]) => document.querySelector(s).currentTime > t + 0.2",
        arg=[selector, first],
        timeout=5_000,
    )


def test_the_operator_video_calls_the_nearest_worker_from_the_event_card(
    media_browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    worker_id = world.ids["demo_grid_worker"]
    lat, lng = world.grid_point
    now = datetime.now(UTC).isoformat()
    # Standing 50 m north of the event, so the two markers do not cover each other.
    here = {"at": now, "lat": lat + 0.00045, "lng": lng}
    api.post("demo_grid_worker", "/me/positions", json={"points": [here]})
    worker_name = api.get("demo_grid_worker", "/users/me")["name"]
    event: dict[str, Any] = api.file(world, title="视频通话核实")
    phone = open_visit(media_browser, live_server, PHONE, **phone_context_options(world))
    desk: Visit | None = None
    try:
        sign_in(phone, "demo_grid_worker", live_server.settings.demo_password)
        phone.page.locator("#app[data-state=ready]").wait_for()
        phone.page.locator("body[data-call-ready]").wait_for()
        desk = desk_visit(media_browser, live_server, "demo_operator", f"/map#event={event['id']}")
        call = desk.page.locator(f"#nearest-workers button.call-video[data-callee='{worker_id}']")
        sheet = phone.page.locator("#call-incoming")
        # First from the worker's marker on the map, declined: the operator's window says so and
        # the page goes on working.
        desk.page.locator(f".worker-icon[title='{worker_name}']").dispatch_event("click")
        desk.page.locator(f".worker-popup button.call-video[data-callee='{worker_id}']").click()
        phone.page.locator("#call-decline").click()
        expect(desk.page.locator("#call-dialog[data-state=ended]")).to_contain_text("对方已拒绝")
        expect(sheet).to_have_count(0)
        call.click()
        expect(sheet).to_be_visible()
        expect(sheet).to_contain_text("视频通话来电")
        expect(sheet).to_contain_text(event["title"])
        expect(desk.page.locator("#call-dialog[data-state=ringing]")).to_contain_text(
            "等待对方接听"
        )
        phone.screenshot("call-phone-ringing")
        phone.page.locator("#call-accept").click()
        for page in (desk.page, phone.page):
            playing(page, "#call-remote")
            expect(page.locator("#call-dialog[data-state=active]")).to_contain_text("通话中")
        desk.screenshot("call-desk-active")
        phone.screenshot("call-phone-active")
        # Mute and camera off are the page's own; hanging up ends both sides.
        phone.page.locator("#call-mute").click()
        expect(phone.page.locator("#call-mute")).to_have_text("取消静音")
        desk.page.locator("#call-hangup").click()
        expect(phone.page.locator("#call-dialog[data-state=ended]")).to_contain_text("通话已结束")
        expect(desk.page.locator("#call-dialog")).to_have_count(0, timeout=5_000)
        expect(phone.page.locator("#call-dialog")).to_have_count(0, timeout=5_000)
        trail = api.get("demo_operator", f"/events/{event['id']}")["trail"]
        calls = [row for row in trail if row["action"] == "video_call"]
        # The card's call was placed from the event; the marker's was not.
        how = [row["note"].split("：")[1] for row in calls]
        assert len(how) == 1 and how[0].startswith("通话 ")
        desk.assert_clean()
        phone.assert_clean()
    finally:
        phone.page.context.close()
        if desk is not None:
            desk.page.context.close()


def test_a_call_outside_the_area_or_from_the_alarm_to_a_phone_not_open_says_why(
    media_browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    desk = desk_visit(media_browser, live_server, "demo_operator", "/map")
    try:
        page = desk.page
        page.locator("#map").wait_for()
        # The phone app of the district's leader is not open, and they work above this area.
        page.evaluate(
            "id => FQ.call.start(id, {name: '区领导'})", world.ids["demo_district_leader"]
        )
        refusal = page.locator("#call-dialog[data-state=ended]")
        expect(refusal).to_contain_text("对方不在您的管辖范围内")
        expect(page.locator("#call-dialog")).to_have_count(0, timeout=5_000)
        # An alarm from a worker whose app is not open: the dialog's 视频通话 says 对方不在线,
        # over the alarm dialog, which stays.
        alarm = api.file(world, urgent=True, title="一键报警")
        dialog = page.locator("#alarm-dialog")
        dialog.locator(f"li[data-id='{alarm['id']}'] button.call-video").click()
        expect(refusal).to_contain_text("对方不在线")
        desk.screenshot("call-offline-over-alarm")
        expect(page.locator("#call-dialog")).to_have_count(0, timeout=5_000)
        expect(dialog).to_be_visible()
        # A refused or missing camera: the call goes on as a voice call (FQ.rtc's fallback).
        kinds = page.evaluate(VOICE_ONLY)
        assert kinds == {"mode": "voice", "tracks": ["audio"]}
        # The two refusals are the only errors the browser noted (its own log of a 4xx).
        assert desk.errors == [
            "Failed to load resource: the server responded with a status of 403 (Forbidden)",
            "Failed to load resource: the server responded with a status of 409 (Conflict)",
        ]
        desk.errors.clear()
        desk.assert_clean()
    finally:
        desk.page.context.close()
