"""Figure of the meeting rooms (会商): Chromium with fake cameras and microphones on loopback.

    .venv/bin/python bench/bench_rooms.py [--runs 11] [--smoke]

The small demo district is served by uvicorn (one process, as `fengqiao serve`). The district
operator opens a session in the district's 社会治理中心 inviting the demo town, and joins it with
the district leader: two parties that see each other. Each run, the town operator's page (a
third context of the same browser) presses 加入会商 and the time is taken until that page plays
both others' video (each remote tile's video has a picture and `currentTime` > 0), read with
`performance.now()` in the page, polled every 10 ms. The third party then leaves before the next
run. The first run is a warm-up and not counted.

Bare limit, in the same run: bench_calls.py's one page that opens the fake camera and connects
two RTCPeerConnections to each other (getUserMedia to the remote video playing), WebRTC's own
set-up with no signalling. A third party sets up two such links at once, through the server.
`--smoke`: one timed run (checks the script runs; its figure means nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_calls import MEDIA_ARGS, PASSWORD, bare_media, line, signed_in  # noqa: E402
from bench_onemap import FENGQIAO, free_port, serve  # noqa: E402

from scripts.screenshot import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# From 加入会商 to both remote videos playing, in the page's own clock.
JOIN_AND_SEE = """() => new Promise((resolve, reject) => {
  const started = performance.now();
  document.getElementById('room-join-button').click();
  const timer = setInterval(() => {
    const videos = [...document.querySelectorAll('.room-tile:not(.room-local):not([data-state]) video')];
    if (videos.length === 2 && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0)) {
      clearInterval(timer);
      resolve(performance.now() - started);
    } else if (performance.now() - started > 30000) {
      clearInterval(timer);
      reject(new Error('the third party did not see both others in 30 s'));
    }
  }, 10);
})"""


def joined(page: Page) -> None:
    page.locator("#room-join-button").click()
    page.locator("#room-meeting:not([hidden])").wait_for(timeout=20_000)


def third_party_times(guest: Page, runs: int) -> list[float]:
    times: list[float] = []
    for run in range(runs + 1):
        guest.locator("#room-join-button:visible").wait_for(timeout=20_000)
        ms = float(guest.evaluate(JOIN_AND_SEE))
        guest.locator("#room-leave").click()
        guest.locator("#room-meeting[hidden]").wait_for(state="attached", timeout=20_000)
        if run:
            times.append(ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--smoke", action="store_true", help="one timed run: checks the script runs"
    )
    args = parser.parse_args()
    if args.smoke:
        print("# smoke mode: one timed run; the figures below mean nothing")
        args.runs = 1
    with tempfile.TemporaryDirectory(prefix="fq-rooms-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, data: Path) -> None:
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{data / 'rooms.db'}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-rooms-not-secret-0123456789abcdef",
        "FENGQIAO_RATE_LIMIT_LOGIN": "10000/minute",
    }
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([FENGQIAO, "seed", "--scale", "small"], env=env, check=True, capture_output=True)
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
            )
            host = signed_in(browser, base, "demo_district_operator", "/rooms")
            host.locator("#room-table tbody tr[data-org]").first.wait_for(timeout=30_000)
            district = host.locator("#room-table tbody tr[data-org]").first.get_attribute(
                "data-org"
            )
            town = host.locator("#room-table tbody tr[data-org]").nth(1).get_attribute("data-org")
            room = f"/rooms/{district}"
            host.goto(base + room)
            form = host.locator("#room-open")
            form.locator("input[name=title]").fill("基准会商")
            form.locator(f"input[name=invite][value='{town}']").check()
            form.locator("#room-open-submit").click()
            host.locator("#room-join:not([hidden])").wait_for(timeout=20_000)
            leader = signed_in(browser, base, "demo_district_leader", room)
            guest = signed_in(browser, base, "demo_operator", room)
            for page in (host, leader):
                joined(page)
            times = third_party_times(guest, args.runs)
            limit = bare_media(browser, base, args.runs)
            browser.close()
        print(
            line("third party joins and sees both others (加入会商 -> two videos playing)", times)
        )
        print(line("bare RTCPeerConnection loopback in one page (getUserMedia to playing)", limit))
        print(f"  ratio {statistics.median(times) / statistics.median(limit):.2f}x")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a signalling socket still open
            server.kill()


if __name__ == "__main__":
    main()
