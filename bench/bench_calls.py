"""Figures of the one-click video call: Chromium with fake camera and microphone on loopback.

    .venv/bin/python bench/bench_calls.py [--runs 11] [--smoke]

The small demo district is served by uvicorn (uvloop, httptools, one process, as `fengqiao
serve`). The town operator's page (`/events`) and demo_grid_worker's phone app (`/m/`) are
open in two contexts of one browser; each run:

1. Call set-up: from the operator pressing 呼叫 (`FQ.call.start`, what the 视频通话 button
   calls) to the worker's phone showing the incoming-call sheet (the sheet's `data-ring-at`),
   both read from `Date.now()` of the same machine. Target p50 <= 500 ms. Bare limit, in the
   same run: one message relayed between two pages by a plain WebSocket relay (Python
   `websockets`, no app, no authentication, no database): what any signalling costs.
2. Media established after accept: from the worker pressing 接听 to both pages playing the other
   side's video (the first `playing` of each page's remote video; the later of the two). Target
   p50 <= 2 s. Bare limit: one page opens the fake camera and connects two RTCPeerConnections to
   each other, from getUserMedia to the remote video playing: WebRTC's own set-up with no
   signalling in between.

Then the operator hangs up and both windows close before the next run. The first run of each
is a warm-up and not counted. `--smoke`: one timed run each (checks the script runs; its figures
mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_onemap import FENGQIAO, free_port, serve  # noqa: E402

from scripts.screenshot import CHROMIUM, CHROMIUM_ARGS, log_in  # noqa: E402

PASSWORD = "bench-calls-password"
MEDIA_ARGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
)
PHONE = {"width": 375, "height": 812}

BARE_MEDIA = """async () => {
  const started = performance.now();
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const video = document.createElement("video");
  video.autoplay = true; video.muted = true; document.body.append(video);
  const playing = new Promise((resolve) => video.addEventListener("playing", resolve, {once: true}));
  b.ontrack = (e) => { video.srcObject = e.streams[0]; };
  stream.getTracks().forEach((t) => a.addTrack(t, stream));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await playing;
  const ms = performance.now() - started;
  a.close(); b.close(); stream.getTracks().forEach((t) => t.stop()); video.remove();
  return ms;
}"""


def relay_server() -> tuple[int, threading.Event]:
    """A WebSocket relay on loopback: every message goes to every other connected client."""
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    port = free_port()
    clients: set[ServerConnection] = set()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def handler(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            async for message in connection:
                for other in list(clients):
                    if other is not connection:
                        await other.send(message)
        finally:
            clients.discard(connection)

    stop = threading.Event()

    async def main() -> None:
        async with ws_serve(handler, "127.0.0.1", port):
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    return port, stop


def bare_signalling(browser: Browser, port: int, runs: int) -> list[float]:
    """Milliseconds for one message from one page to another through the relay."""
    context = browser.new_context()
    sender, receiver = context.new_page(), context.new_page()
    opened = "u => new Promise(r => { window.ws = new WebSocket(u); window.ws.onopen = r; })"
    for page in (sender, receiver):
        page.evaluate(opened, f"ws://127.0.0.1:{port}/")
    times: list[float] = []
    for run in range(runs + 1):
        receiver.evaluate(
            "() => { window.got = new Promise(r => { window.ws.onmessage = () => r(Date.now()); }); }"
        )
        sent = sender.evaluate("() => { const t = Date.now(); window.ws.send('ring'); return t; }")
        got = receiver.evaluate("() => window.got")
        if run:
            times.append(float(got - sent))
    context.close()
    return times


def bare_media(browser: Browser, base: str, runs: int) -> list[float]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/healthz")  # a page of 127.0.0.1: a secure context, with mediaDevices
    times = [float(page.evaluate(BARE_MEDIA)) for _ in range(runs + 1)][1:]
    context.close()
    return times


def signed_in(browser: Browser, base: str, user: str, landing: str, **options: Any) -> Page:
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{base}/login?next={landing}")
    log_in(page, user, PASSWORD)
    return page


def call_times(
    desk: Page, phone: Page, worker_id: int, runs: int
) -> tuple[list[float], list[float]]:
    """(set-up, media) milliseconds of each run after the warm-up."""
    setups: list[float] = []
    medias: list[float] = []
    for run in range(runs + 1):
        pressed = desk.evaluate(
            "id => { const t = Date.now(); FQ.call.start(id, {name: '网格员'}); return t; }",
            worker_id,
        )
        phone.locator("#call-incoming").wait_for()
        rang = int(phone.locator("#call-incoming").get_attribute("data-ring-at") or 0)
        accepted = phone.evaluate(
            "() => { const t = Date.now(); document.getElementById('call-accept').click(); return t; }"
        )
        played = []
        for page in (desk, phone):
            page.locator("#call-dialog[data-media-at]").wait_for(timeout=20_000)
            played.append(int(page.locator("#call-dialog").get_attribute("data-media-at") or 0))
        desk.locator("#call-dialog[data-state=active]").wait_for(timeout=20_000)
        desk.locator("#call-hangup").click()
        for page in (desk, phone):
            page.locator("#call-dialog").wait_for(state="detached", timeout=20_000)
        if run:
            setups.append(float(rang - pressed))
            medias.append(float(max(played) - accepted))
    return setups, medias


def line(name: str, times: list[float], target: str = "") -> str:
    p50 = statistics.median(times)
    spread = f"min {min(times):.0f}, max {max(times):.0f}, {len(times)} runs"
    return f"{name}: p50 {p50:.0f} ms ({spread}){', target ' + target if target else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--smoke", action="store_true", help="one timed run: checks the script runs"
    )
    args = parser.parse_args()
    if args.smoke:
        print("# smoke mode: one timed run each; the figures below mean nothing")
        args.runs = 1
    with tempfile.TemporaryDirectory(prefix="fq-calls-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, data: Path) -> None:
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{data / 'calls.db'}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-calls-not-secret-0123456789abcdef",
        "FENGQIAO_RATE_LIMIT_LOGIN": "10000/minute",
    }
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    seed = [FENGQIAO, "seed", "--scale", "small"]
    subprocess.run(seed, env=env, check=True, capture_output=True)
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    relay_port, relay_stop = relay_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
            )
            phone = signed_in(browser, base, "demo_grid_worker", "/m/", viewport=PHONE)
            phone.locator("body[data-call-ready]").wait_for(timeout=30_000)
            worker_id = int(phone.locator("#app").get_attribute("data-user-id") or 0)
            desk = signed_in(browser, base, "demo_operator", "/events")
            desk.wait_for_function("() => !!(window.FQ && FQ.call)")
            setups, medias = call_times(desk, phone, worker_id, args.runs)
            signalling = bare_signalling(browser, relay_port, args.runs)
            media_limit = bare_media(browser, base, args.runs)
            browser.close()
        print(line("call set-up (呼叫 pressed -> the phone rings)", setups, "<= 500 ms"))
        print(line("bare WebSocket relay, page to page", signalling))
        print(f"  ratio {statistics.median(setups) / max(statistics.median(signalling), 1):.1f}x")
        print(line("media established after 接听 (both sides playing)", medias, "<= 2000 ms"))
        print(
            line(
                "bare RTCPeerConnection loopback in one page (getUserMedia to playing)", media_limit
            )
        )
        print(f"  ratio {statistics.median(medias) / statistics.median(media_limit):.2f}x")
    finally:
        relay_stop.set()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a signalling socket still open
            server.kill()


if __name__ == "__main__":
    main()
