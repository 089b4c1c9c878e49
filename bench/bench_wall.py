"""Figures of the command wall (驾驶舱, /wall): first paint for the whole district, and the page's
memory over eight hours of live updates, accelerated.

    .venv/bin/python bench/bench_wall.py [--events 100000] [--runs 7] [--hours 8]
                                         [--db var/bench-wall.db] [--smoke]

1. First paint of `/wall` for the district leader at 1920×1080: from the start of the navigation
   to the page marking itself ready (`fq-wall-ready`: today's figures filled, the district's
   grids drawn and fitted, every open event and today's closed ones on the map). Median of
   `--runs` loads, each in a fresh browser context (nothing cached), after one warm-up load;
   the browser's own first-contentful-paint is printed beside it. Its bare limit, in the same
   run: a static page with only Leaflet drawing the same grid GeoJSON (bench_onemap.py's).
2. Memory after `--hours` of simulated updates: one wall, all six panels, driven through its
   own update handlers (`FQ.wall.feed`, the functions the live stream calls) at the rate of a
   busy district, compressed: per simulated 10 minutes, 300 `situation` frames (one every 2 s,
   the stream's most), 10 `alarm` and 10 `ack` frames, 30 turns of the two chart slots (each a
   real `GET /api/v1/analytics/charts/…`), and the map's and cameras' reloads the frames cause.
   After each simulated hour: a full garbage collection (CDP `HeapProfiler.collectGarbage`),
   then `Runtime.getHeapUsage` and `Memory.getDOMCounters`. Flat within 20 %: the largest
   sample after the first hour over the first hour's. Its limit: the same page's heap right
   after its first load, before any frame.

The district (Keqiao scale, `--events` events over the past year, as `make demo` seeds) is built
once into `--db` and reused. `--smoke`: a small district (one town, 300 events) in a temporary
folder, one timed load, one simulated hour cut to its first ten minutes (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_onemap import (  # noqa: E402
    BARE_PAGE,
    bare_server,
    build,
    free_port,
    grid_layer_bytes,
    serve,
)
from scripts.screenshot import launch_chromium, log_in  # noqa: E402

PASSWORD = "bench-onemap-password"  # bench_onemap's grid_layer_bytes signs in with it
WALL_READY = "performance.getEntriesByName('fq-wall-ready')[0]"
MAP_READY = "performance.getEntriesByName('fq-map-ready')[0]"
SCREEN = {"width": 1920, "height": 1080}
LEADER = "demo_district_leader"

# One simulated hour, in steps of ten minutes: the frames, then the reloads they cause settle.
SIMULATE_STEP = """async ([situation, points, step, perStep]) => {
  const wall = FQ.wall;
  const base = 10000000 + step * perStep.alarms;
  for (let i = 0; i < perStep.situations; i++) {
    const s = structuredClone(situation);
    for (const key of Object.keys(s.today)) s.today[key] = s.today[key] + ((i * 7 + step) % 13);
    s.overdue = s.overdue.slice(i % 5).concat(s.overdue.slice(0, i % 5));
    wall.feed("situation", s);
    if (i % (perStep.situations / perStep.alarms) === 0) {
      const n = base + i / (perStep.situations / perStep.alarms);
      const [lng, lat] = points[n % points.length];
      wall.feed("alarm", { id: n, code: "B" + n, title: "模拟报警 " + n, category_name: "模拟",
        created_at: new Date().toISOString(), lat: lat, lng: lng, status: "reported",
        address: "模拟地址", town: "模拟镇街", source: "grid_worker", urgent: true, climbed: false });
      wall.feed("ack", { id: n - 3, acked: true, by: "模拟坐席", at: new Date().toISOString() });
    }
  }
  for (let r = 0; r < perStep.rotations; r++) await wall.rotate();
  return true;
}"""


def first_paints(browser: Browser, base: str, runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds to the wall's ready mark and to its first contentful paint, per load."""
    ready: list[float] = []
    contentful: list[float] = []
    for run in range(runs + 1):
        context = browser.new_context(viewport=SCREEN)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(base + "/login")
        log_in(page, LEADER, PASSWORD)
        page.goto(base + "/wall")
        page.wait_for_function(f"() => !!{WALL_READY}", timeout=60_000)
        if run:  # the first load warms the server's caches and the disk
            ready.append(float(page.evaluate(f"{WALL_READY}.startTime")))
            contentful.append(
                float(
                    page.evaluate(
                        "performance.getEntriesByName('first-contentful-paint')[0].startTime"
                    )
                )
            )
        context.close()
    return ready, contentful


def bare_paints(browser: Browser, url: str, runs: int) -> list[float]:
    times: list[float] = []
    for run in range(runs + 1):
        context = browser.new_context(viewport=SCREEN)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(f"() => !!{MAP_READY}", timeout=60_000)
        if run:
            times.append(float(page.evaluate(f"{MAP_READY}.startTime")))
        context.close()
    return times


def sample(page: Page, cdp: Any) -> dict[str, float]:
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    dom = cdp.send("Memory.getDOMCounters")
    return {
        "heap": heap["usedSize"] / 1e6,
        "nodes": dom["nodes"],
        "listeners": dom["jsEventListeners"],
    }


def memory_run(browser: Browser, base: str, hours: int, steps: int = 6) -> list[dict[str, float]]:
    """Heap (MB), DOM nodes and listeners after load and after each simulated hour."""
    context = browser.new_context(viewport=SCREEN)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(base + "/login")
    log_in(page, LEADER, PASSWORD)
    page.goto(base + "/wall")
    page.wait_for_function(f"() => !!{WALL_READY}", timeout=60_000)
    page.wait_for_timeout(3000)  # the first charts, warnings and cameras arrive
    situation = page.evaluate("fetch('/api/v1/command/situation').then((r) => r.json())")
    geojson = page.evaluate("fetch('/api/v1/command/events.geojson').then((r) => r.json())")
    points = [f["geometry"]["coordinates"] for f in geojson["features"][:500]] or [[120.5, 30.0]]
    cdp = context.new_cdp_session(page)
    samples = [sample(page, cdp)]
    per_step = {"situations": 300, "alarms": 10, "rotations": 30}
    for hour in range(hours):
        for tenth in range(steps):
            page.evaluate(SIMULATE_STEP, [situation, points, hour * 6 + tenth, per_step])
            page.wait_for_timeout(2200)  # the debounced map and camera reloads run
        samples.append(sample(page, cdp))
        print(
            f"# hour {hour + 1}: heap {samples[-1]['heap']:.1f} MB, "
            f"{samples[-1]['nodes']:.0f} DOM nodes, {samples[-1]['listeners']:.0f} listeners",
            flush=True,
        )
    context.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-wall.db")
    parser.add_argument(
        "--smoke", action="store_true", help="a small district, one load, one simulated hour"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fq-wall-") as tmp:
        scale = "keqiao"
        if args.smoke:
            print(
                "# smoke mode: one town, 300 events, one load, one hour; the figures mean nothing"
            )
            args.db, args.events, args.runs, args.hours, scale = (
                Path(tmp) / "wall.db", 300, 1, 1, "small"
            )  # fmt: skip
        run(args, Path(tmp), scale)


def run(args: argparse.Namespace, data: Path, scale: str) -> None:
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{args.db}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-wall-not-secret-0123456789abcdef",
    }
    build(args.db, args.events, env, scale)
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _, _, geojson = grid_layer_bytes(base)
        static = data / "bare"
        static.mkdir()
        vendor = ROOT / "src" / "fengqiao" / "web" / "static" / "vendor"
        for name in ("leaflet.js", "leaflet.css"):
            (static / name).write_bytes((vendor / name).read_bytes())
        (static / "grids.geojson").write_bytes(gzip.compress(geojson, 6))
        (static / "index.html").write_text(BARE_PAGE, encoding="utf-8")
        bare, bare_base = bare_server(static)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            ready, contentful = first_paints(browser, base, args.runs)
            limit = bare_paints(browser, f"{bare_base}/index.html", args.runs)
            started = time.perf_counter()
            samples = memory_run(browser, base, args.hours, 1 if scale == "small" else 6)
            took = time.perf_counter() - started
            browser.close()
        bare.shutdown()
        ours, bare_p50 = statistics.median(ready), statistics.median(limit)
        print(
            f"wall first paint, whole district ({args.events} events seeded), district leader, "
            f"1920x1080: ready p50 {ours:.0f} ms (min {min(ready):.0f}, max {max(ready):.0f}, "
            f"{args.runs} loads; first contentful paint p50 {statistics.median(contentful):.0f} "
            f"ms), target <= 2000 ms"
        )
        print(
            f"bare Leaflet drawing the same grids: p50 {bare_p50:.0f} ms; ratio {ours / bare_p50:.2f}x"
        )
        loaded, first_hour = samples[0], samples[1]
        worst = max(s["heap"] for s in samples[1:])

        def row(key: str, digits: int) -> str:
            return " ".join(f"{s[key]:.{digits}f}" for s in samples)

        print(
            f"wall memory over {args.hours} simulated hours ({took:.0f} s of driving): heap "
            f"{row('heap', 1)} MB (loaded, then each hour); largest after hour 1 "
            f"{worst / first_hour['heap']:.2f}x hour 1, target <= 1.20x"
        )
        print(
            f"DOM nodes {row('nodes', 0)}; listeners {row('listeners', 0)}; limit: the page just "
            f"loaded, heap {loaded['heap']:.1f} MB; last hour {samples[-1]['heap'] / loaded['heap']:.2f}x it"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # an event stream still open
            server.kill()


if __name__ == "__main__":
    main()
