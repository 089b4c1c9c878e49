"""Meeting rooms (issue 18, item 3) in Chromium with fake cameras and microphones: the district
opens a session in its 社会治理中心 about an event, inviting the demo town, whose open page rings; three
parties join and each page plays the two others; a canvas stands in for a shared screen (headless
Chromium has no screen to pick, so the track replacement path is what is shown); one party
leaves and the others' tile for it goes, it comes back with no devices and watches only, one
drops; the record lists the three with their join times; the session closes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    Api,
    LiveServer,
    Visit,
    World,
    desk_visit,
    open_visit,
    sign_in,
)
from tests.e2e.test_calls import media_browser

__all__ = ["media_browser"]

# Each remote tile of the page has a picture whose time advances.
REMOTES_PLAYING = """n => {
  const videos = [...document.querySelectorAll('.room-tile:not(.room-local):not([data-state]) video')];
  return videos.length === n && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0);
}"""
REMOTE_TIMES = """() => [...document.querySelectorAll('.room-tile:not(.room-local) video')]
  .map((v) => v.currentTime)"""
# A 320x240 canvas that keeps drawing: what getDisplayMedia would give, sent in the camera's place.
SHARE_CANVAS = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  const ctx = canvas.getContext('2d');
  let frame = 0;
  setInterval(() => { ctx.fillStyle = frame++ % 2 ? '#2a6' : '#26a'; ctx.fillRect(0, 0, 320, 240); }, 50);
  await FQ.rooms.share(canvas.captureStream(10).getVideoTracks()[0]);
}"""
# Keep the page's sockets where the test can close them, as a lost network would.
KEEP_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.openSockets = [];
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    window.openSockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  window.WebSocket.OPEN = Native.OPEN;
})()"""
NO_DEVICES = """() => {
  navigator.mediaDevices.getUserMedia = () =>
    Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));
}"""


def sees_both(page: Page, n: int = 2) -> None:
    page.wait_for_function(REMOTES_PLAYING, arg=n, timeout=15_000)
    before = page.evaluate(REMOTE_TIMES)
    page.wait_for_function(
        "before => [...document.querySelectorAll('.room-tile:not(.room-local) video')]"
        ".every((v, i) => v.currentTime > before[i] + 0.2)",
        arg=before,
        timeout=5_000,
    )


def join(page: Page) -> None:
    page.locator("#room-join-button").click()
    page.locator("#room-meeting:not([hidden])").wait_for()


def test_three_parties_meet_see_each_other_and_the_record_keeps_them(
    media_browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    rooms: list[dict[str, Any]] = api.get("demo_district_operator", "/rooms")
    district = next(r for r in rooms if r["kind"] == "district")
    town = api.get("demo_operator", "/rooms")[0]
    assert town["kind"] == "town"
    visits: list[Visit] = []
    try:
        guest = desk_visit(media_browser, live_server, "demo_operator", "/rooms")
        visits.append(guest)
        guest.page.locator("body[data-call-ready]").wait_for()
        # Opened from an event (?event=ID): the session will be about it.
        event = api.file(world, title="汛情会商事件")
        host = desk_visit(
            media_browser, live_server, "demo_district_operator",
            f"/rooms/{district['org_id']}?event={event['id']}",
        )  # fmt: skip
        expect(host.page.locator("#room-links a")).to_have_attribute(
            "href", f"/events/{event['id']}"
        )
        visits.append(host)
        # The district opens the session from its room, inviting the demo town.
        form = host.page.locator("#room-open")
        form.locator("input[name=title]").fill("汛情研判会商")
        form.locator(f"input[name=invite][value='{town['org_id']}']").check()
        form.locator("#room-open-submit").click()
        expect(host.page.locator("#room-title")).to_have_text("会商：汛情研判会商")
        # The town's open page rings at once, with the way in.
        invite = guest.page.locator("#room-invite-dialog")
        expect(invite).to_contain_text("汛情研判会商")
        guest.screenshot("rooms-invitation")
        leader = open_visit(media_browser, live_server, DESKTOP, locale="zh-CN")
        visits.append(leader)
        leader.page.context.add_init_script(KEEP_SOCKETS)
        sign_in(leader, "demo_district_leader", live_server.settings.demo_password,
                landing=f"/rooms/{district['org_id']}")  # fmt: skip
        invite.locator("#room-invite-join").click()
        guest.page.wait_for_url(f"**/rooms/{district['org_id']}")
        for visit in (host, leader, guest):
            join(visit.page)
        for visit in (host, leader, guest):
            sees_both(visit.page)
            expect(visit.page.locator(".room-tile")).to_have_count(3)
        # Three parties: each up-link is held to 600 kbit/s.
        assert host.page.locator("#room-grid").get_attribute("data-bitrate") == "600000"
        host.screenshot("rooms-three-parties")
        # The district shares a "screen": the others get its 320-pixel picture.
        host.page.evaluate(SHARE_CANVAS)
        me = host.page.locator("#room-meeting").get_attribute("data-me")
        for visit in (leader, guest):
            visit.page.wait_for_function(
                "p => { const v = document.querySelector(`.room-tile[data-party='${p}'] video`);"
                " return v && v.videoWidth === 320; }",
                arg=me,
                timeout=10_000,
            )
        expect(host.page.locator("#room-share")).to_have_text("停止共享")
        # The town leaves: its tile says so on the others' pages, then goes.
        guest.page.locator("#room-leave").click()
        expect(guest.page.locator("#room-status")).to_have_text("您已离开会商")
        expect(host.page.locator(".room-tile[data-state=left]")).to_contain_text("已离开")
        for visit in (host, leader):
            expect(visit.page.locator(".room-tile")).to_have_count(2, timeout=5_000)
        # Back without camera or microphone: it watches only, and sees both.
        guest.page.evaluate(NO_DEVICES)
        join(guest.page)
        expect(guest.page.locator("#room-status")).to_have_text("未检测到摄像头或麦克风，仅观看")
        sees_both(guest.page)
        guest.screenshot("rooms-receive-only")
        # The leader's connection is lost (no goodbye): the others' tile says 已掉线 and goes, and
        # the leader's page says so.
        leader.page.evaluate("() => window.openSockets.forEach((s) => s.close())")
        expect(leader.page.locator("#room-status")).to_contain_text("连接已中断")
        expect(host.page.locator(".room-tile[data-state=dropped]")).to_contain_text("已掉线")
        host.screenshot("rooms-dropped")
        for visit in (host, guest):
            expect(visit.page.locator(".room-tile")).to_have_count(2, timeout=5_000)
        # The record: the three, with their join times (the town twice).
        session_id = api.get("demo_district_operator", f"/rooms/{district['org_id']}")["session"][
            "id"
        ]
        record = api.get("demo_district_operator", f"/rooms/sessions/{session_id}")
        names = [p["user"]["id"] for p in record["participants"]]
        assert set(names) == {
            world.ids["demo_district_operator"], world.ids["demo_district_leader"],
            world.ids["demo_operator"],
        }  # fmt: skip
        assert all(p["joined_at"] for p in record["participants"])
        assert [p["left_how"] for p in record["participants"]].count("left") == 1
        assert record["event_ids"] == [event["id"]]
        # The district ends it: the town's page says so and the room can open anew.
        host.page.locator("#room-close").click()
        expect(guest.page.locator("#room-status")).to_have_text("会商已结束")
        expect(host.page.locator("#room-open")).to_be_visible()
        for visit in visits:
            # A read or a leave still on its way when the district closed the meeting is answered
            # 409 `session-closed` (Chromium logs it), as the page then says 会商已结束; any other
            # console error still fails.
            visit.errors[:] = [e for e in visit.errors if "status of 409 (Conflict)" not in e]
            visit.assert_clean()
    finally:
        for visit in visits:
            visit.page.context.close()
