"""Live video in Chromium: nearby cameras play on the event page from the loopback HLS test
stream (Debian's ffmpeg, scripts/hls_stream.py), four at most in a grid, and a camera that does
not play says why in Chinese while the page goes on working."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Route, expect

from tests.e2e.conftest import Api, LiveServer, World, desk_visit

pytestmark = pytest.mark.e2e

# What Chromium logs for the stream the gateway does not have: the only console error allowed.
MISSING_STREAM = "the server responded with a status of 404"


def advancing(tile: Locator) -> tuple[float, float, int]:
    """The video's time, again 1.5 s later, and its frame width."""
    video = tile.locator("video")
    before = video.evaluate("v => v.currentTime")
    tile.page.wait_for_timeout(1500)
    after, width = video.evaluate("v => [v.currentTime, v.videoWidth]")
    return before, after, width


def test_nearby_cameras_play_on_the_event_page(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world, description="河边护栏损坏,有人员落水风险")
    near = api.get(
        "demo_operator", "/layers/cameras/nearest", lat=event["lat"], lng=event["lng"], limit=5,
        radius_m=1000,
    )  # fmt: skip
    assert len(near) >= 2, "the demo town has cameras within 1 km of its grids"
    stream = live_server.stream
    assert stream is not None
    assert near[0]["playback_url"] == stream.template.replace("{gb_id}", near[0]["code"])
    assert near[0]["playback_kind"] == "hls"
    stream.render()
    stream.missing.add(near[1]["code"])  # the gateway has no stream for the second nearest
    try:
        played_with_one_missing(browser, live_server, event, near)
    finally:
        stream.missing.discard(near[1]["code"])


def played_with_one_missing(
    browser: Browser, live_server: LiveServer, event: dict[str, Any], near: list[dict[str, Any]]
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = visit.page
    page.locator("#event-page[data-state=ready]").wait_for()
    page.locator("#event-cameras .video-play-all", has_text="全部播放").click()
    tiles = page.locator("#video-dock .video-tile")
    expect(tiles).to_have_count(min(4, len(near)))
    first = tiles.nth(0)
    expect(first.locator(".video-name")).to_have_text(near[0]["name"])
    expect(first.locator(".video-distance")).to_have_text(f"{round(near[0]['distance_m'])} 米")
    expect(first).to_have_attribute("data-state", "playing", timeout=15_000)
    before, after, width = advancing(first)
    assert after > before, "the video's currentTime advances"
    assert width > 0, "a frame has a size"

    broken = tiles.nth(1)
    expect(broken).to_have_attribute("data-state", "error", timeout=15_000)
    expect(broken.locator(".video-message")).to_have_text("无法连接：网关上没有这路视频")
    # The page goes on working: the first camera still plays, a tile closes.
    before, after, _width = advancing(first)
    assert after > before
    page.locator("#event-cameras").screenshot(path="test-artifacts/event-video.png")
    broken.locator(".video-close").click()
    expect(tiles).to_have_count(min(4, len(near)) - 1)
    assert all(MISSING_STREAM in error for error in visit.errors), visit.errors
    visit.errors.clear()
    visit.assert_clean()
    page.context.close()


def test_the_grid_says_why_a_camera_does_not_play(
    browser: Browser, live_server: LiveServer, world: World
) -> None:
    """FQ.video.grid(container, cameras, {max: 4}) as the command wall calls it, with cameras
    that cannot play: no address, a format the page does not play, a gateway that is down."""
    stream = live_server.stream
    assert stream is not None
    stream.render()
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    page.locator("#map[data-state=ready]").wait_for()
    playing = stream.template.replace("{gb_id}", "33060300001320000099")
    page.evaluate(
        """([playing]) => {
          const box = FQ.h("div", { id: "wall-grid", style: { position: "fixed", right: "0",
            bottom: "0", width: "640px", zIndex: "2000" } });
          document.body.append(box);
          FQ.video.grid(box, [
            { code: "1", name: "桥头", status: "online", playback_url: playing, playback_kind: "hls" },
            { code: "2", name: "无地址", status: "offline", playback_url: null },
            { code: "3", name: "流媒体", status: "online", playback_url: "http://127.0.0.1:9/a.flv",
              playback_kind: "flv" },
            { code: "4", name: "网关停机", status: "fault",
              playback_url: "http://127.0.0.1:9/live/4/index.m3u8", playback_kind: "hls" },
            { code: "5", name: "第五路", status: "online", playback_url: playing, playback_kind: "hls" },
          ], { max: 4 });
        }""",
        [playing],
    )
    tiles = page.locator("#wall-grid .video-tile")
    expect(tiles).to_have_count(4)  # four at once: the fifth is not played
    expect(tiles.nth(0)).to_have_attribute("data-state", "playing", timeout=15_000)
    expect(tiles.nth(1).locator(".video-message")).to_have_text("未配置播放地址")
    expect(tiles.nth(2).locator(".video-message")).to_have_text("格式不支持")
    # Nothing listens on port 9, and the page's policy does not name it either: 无法连接.
    expect(tiles.nth(3)).to_have_attribute("data-reason", "unreachable", timeout=15_000)
    expect(tiles.nth(3).locator(".video-message")).to_have_text("无法连接：网关无应答")
    expect(tiles.nth(1).locator(".cam-status")).to_have_text("离线")
    page.locator("#wall-grid").screenshot(path="test-artifacts/video-grid-reasons.png")
    # WebRTC (WHEP): the offer is posted to the gateway, which has no such stream.
    whep = f"{stream.base_url}/live/33060300001320000098/whep"
    page.evaluate(
        """([whep]) => {
          const box = FQ.h("div", { id: "whep-grid", style: { position: "fixed", left: "0",
            bottom: "0", width: "320px", zIndex: "2000" } });
          document.body.append(box);
          FQ.video.grid(box, [{ code: "6", name: "实时通道", status: "online",
                                playback_url: whep, playback_kind: "whep" }], { max: 4 });
        }""",
        [whep],
    )
    expect(page.locator("#whep-grid .video-message")).to_have_text(
        "无法连接：网关上没有这路视频", timeout=15_000
    )
    tiles.nth(1).locator(".video-close").click()
    expect(tiles).to_have_count(3)
    # The map still answers.
    page.locator(".leaflet-control-zoom-in").click()
    allowed = ("127.0.0.1:9", "Content Security Policy", MISSING_STREAM)
    assert all(any(a in error for a in allowed) for error in visit.errors), visit.errors
    page.context.close()


# The gateway's WebRTC side, played by a second page: it answers a WHEP offer with a moving
# canvas as its video track, as a gateway answers with a camera's.
ANSWER_WITH_CANVAS = """async (offer) => {
  const canvas = document.createElement("canvas");
  canvas.width = 320;
  canvas.height = 240;
  const ctx = canvas.getContext("2d");
  let n = 0;
  setInterval(() => { ctx.fillStyle = "hsl(" + (n++ % 360) + ",80%,50%)"; ctx.fillRect(0, 0, 320, 240); }, 40);
  const pc = new RTCPeerConnection();
  window.sender = pc;
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  const video = pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
  video.direction = "sendonly";
  await video.sender.replaceTrack(canvas.captureStream(25).getVideoTracks()[0]);
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise((done) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
    setTimeout(done, 2000);
  });
  return pc.localDescription.sdp;
}"""


def test_a_whep_camera_plays_over_webrtc(
    browser: Browser, live_server: LiveServer, world: World
) -> None:
    """A camera whose playback kind is WHEP: the player posts its offer to the gateway's WHEP
    URL, plays the answer's video, and ends the session with DELETE when its tile closes."""
    stream = live_server.stream
    assert stream is not None
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    page.locator("#map[data-state=ready]").wait_for()
    gateway = page.context.new_page()
    gateway.goto("about:blank")
    seen: list[str] = []

    def whep(route: Route) -> None:
        request = route.request
        seen.append(request.method)
        cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location"}
        if request.method == "POST":
            assert request.headers["content-type"] == "application/sdp"
            answer = gateway.evaluate(ANSWER_WITH_CANVAS, request.post_data)
            route.fulfill(status=201, body=answer, headers=cors | {
                "Content-Type": "application/sdp", "Location": "/whep/session/1"})  # fmt: skip
        else:
            route.fulfill(status=200, body="", headers=cors)

    page.route(f"{stream.base_url}/whep/**", whep)
    page.evaluate(
        """([url]) => {
          const box = FQ.h("div", { id: "whep-grid", style: { position: "fixed", left: "0",
            bottom: "0", width: "320px", zIndex: "2000" } });
          document.body.append(box);
          FQ.video.grid(box, [{ code: "7", name: "实时通道", status: "online", distance_m: 1520,
                                playback_url: url, playback_kind: "whep" }], { max: 4 });
        }""",
        [f"{stream.base_url}/whep/33060300001320000097"],
    )
    tile = page.locator("#whep-grid .video-tile")
    expect(tile.locator(".video-distance")).to_have_text("1.5 公里")
    expect(tile).to_have_attribute("data-state", "playing", timeout=15_000)
    before, after, width = advancing(tile)
    assert after > before and width == 320
    tile.locator(".video-close").click()
    expect(tile).to_have_count(0)
    page.wait_for_timeout(300)
    assert seen[0] == "POST" and "DELETE" in seen, seen  # the session is ended at the gateway
    visit.assert_clean()
    page.context.close()
