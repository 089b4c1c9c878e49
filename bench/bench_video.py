"""Time from pressing 播放 to the first frame of a camera, in headless Chromium on loopback.

    .venv/bin/python bench/bench_video.py [--runs 10] [--smoke]

The small demo district is seeded into a temporary folder and served with
`FENGQIAO_VIDEO_PLAYBACK_TEMPLATE` pointing at the loopback HLS test stream
(scripts/hls_stream.py: Debian's ffmpeg, 1-second H.264 baseline + AAC segments, a live window
of three). On an event page with cameras nearby, the operator presses a camera's 播放; the
figure is the time from the click handler to the first decoded frame with a size (the tile's
`data-first-frame-ms`, taken with `requestVideoFrameCallback`), median of `--runs` presses after
one warm-up, each after closing the previous tile. Its bare limit, in the same run: a static page
with nothing but hls.js playing the same stream into a <video> on a button press, timed the same
way, pressed again in the same page — what any HLS player costs before Fengqiao adds a thing.

`--smoke`: two presses each (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.hls_stream import HlsStream  # noqa: E402
from scripts.screenshot import launch_chromium, log_in  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
PASSWORD = "bench-video-password"

BARE_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<button id="play">play</button><video id="v" muted autoplay playsinline width="640"></video>
<script src="/hls.min.js"></script><script>
document.getElementById("play").addEventListener("click", () => {
  if (window.hls) window.hls.destroy();
  window.firstFrameMs = undefined;
  const started = performance.now();
  const video = document.getElementById("v");
  video.requestVideoFrameCallback(() => { window.firstFrameMs = performance.now() - started; });
  const hls = new Hls({ enableWorker: false, lowLatencyMode: true });
  hls.loadSource(new URLSearchParams(location.search).get("src"));
  hls.attachMedia(video);
  window.hls = hls;
});
</script></body></html>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("uvicorn")), "--factory", "fengqiao.app:create_app",
         "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def event_with_cameras(base: str) -> int:
    """An open event of the demo with a camera within 1 km."""
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "demo_operator", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    events = httpx.get(f"{base}/api/v1/events", params={"size": 50}, headers=headers).json()
    for event in events["items"]:
        near = httpx.get(
            f"{base}/api/v1/layers/cameras/nearest",
            params={"lat": event["lat"], "lng": event["lng"], "limit": 1, "radius_m": 1000},
            headers=headers,
        ).json()
        if near:
            return int(event["id"])
    raise RuntimeError("no event of the demo has a camera within 1 km")


def ours(page: Page, runs: int) -> list[float]:
    """Milliseconds from pressing 播放 to the first frame, per press (the first is a warm-up)."""
    times: list[float] = []
    button = page.locator("#nearest-cameras button.play").first
    tile = page.locator("#video-dock .video-tile")
    for run in range(runs + 1):
        button.click()
        tile.and_(page.locator("[data-state=playing]")).wait_for(timeout=30_000)
        if run:
            times.append(float(tile.get_attribute("data-first-frame-ms") or "nan"))
        page.locator("#video-dock .video-close-all").click()
        tile.wait_for(state="detached")
    return times


def bare(browser: Browser, url: str, runs: int) -> list[float]:
    """The same presses in one page, as on the event page (the first is a warm-up)."""
    times: list[float] = []
    page = browser.new_page()
    page.goto(url)
    for run in range(runs + 1):
        page.click("#play")
        page.wait_for_function("() => window.firstFrameMs !== undefined", timeout=30_000)
        if run:
            times.append(float(page.evaluate("window.firstFrameMs")))
    page.close()
    return times


def static_server(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="two presses: checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        print("# smoke mode: two presses each; the figures below mean nothing")
        args.runs = 2
    with tempfile.TemporaryDirectory(prefix="fq-video-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, data: Path) -> None:
    stream = HlsStream(data / "hls")
    stream.render()
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{data / 'video.db'}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-video-not-secret-0123456789abcdef",
        "FENGQIAO_VIDEO_PLAYBACK_TEMPLATE": stream.template,
    }
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", "small", "--events", "200"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    static = data / "bare"
    static.mkdir()
    vendor = ROOT / "src" / "fengqiao" / "web" / "static" / "vendor"
    (static / "hls.min.js").write_bytes((vendor / "hls.min.js").read_bytes())
    (static / "index.html").write_text(BARE_PAGE, encoding="utf-8")
    bare_http, bare_base = static_server(static)
    try:
        event_id = event_with_cameras(base)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/login")
            log_in(page, "demo_operator", PASSWORD)
            page.goto(f"{base}/events/{event_id}")
            page.locator("#event-page[data-state=ready]").wait_for(timeout=60_000)
            mine = ours(page, args.runs)
            context.close()
            source = stream.template.replace("{gb_id}", "33060300001320000001")
            limit = bare(browser, f"{bare_base}/index.html?src={source}", args.runs)
            browser.close()
        ours_p50, limit_p50 = statistics.median(mine), statistics.median(limit)
        print(
            f"播放 to first frame, loopback HLS (1 s segments): p50 {ours_p50:.0f} ms "
            f"(min {min(mine):.0f}, max {max(mine):.0f}, {args.runs} presses)"
        )
        print(
            f"bare hls.js page, same stream: p50 {limit_p50:.0f} ms "
            f"(min {min(limit):.0f}, max {max(limit):.0f}); ratio {ours_p50 / limit_p50:.2f}x"
        )
    finally:
        bare_http.shutdown()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        stream.close()


if __name__ == "__main__":
    main()
