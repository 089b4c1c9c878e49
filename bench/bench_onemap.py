"""Figures of the one-map: the whole demo district opened in headless Chromium on loopback.

    .venv/bin/python bench/bench_onemap.py [--events 100000] [--runs 7] [--db var/bench-onemap.db]
                                           [--smoke]

1. The grid layer of the Keqiao district (1,700 polygons): bytes of `GET /api/v1/grids/geojson`
   as sent gzip-compressed, and uncompressed.
2. First useful paint of `/map` for the district operator: from the start of the navigation to
   the page marking itself ready (grids drawn and fitted, today's counts and the overdue list
   filled, every open event on the map). Median of `--runs` loads in a fresh browser context
   each (nothing cached), after one warm-up load. Its bare limit, in the same run: a static
   page with nothing but Leaflet drawing the same GeoJSON (served as one pre-compressed file)
   and fitting the map — what any one-map costs before it shows a single event.

The district (Keqiao scale, `--events` events over the past year, as `make demo` seeds) is built
once into `--db` and reused. Prints one line per figure. `--smoke`: a small district (one town,
300 events) in a temporary folder, one timed load each after the warm-up (checks the script
runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import gzip
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

import httpx
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.screenshot import launch_chromium, log_in  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
PASSWORD = "bench-onemap-password"
READY = "performance.getEntriesByName('fq-map-ready')[0]"

BARE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/leaflet.css"><style>html,body,#map{height:100%;margin:0}</style>
</head><body><div id="map"></div><script src="/leaflet.js"></script><script>
fetch("/grids.geojson").then((r) => r.json()).then((g) => {
  const map = L.map("map");
  const layer = L.geoJSON(g, {renderer: L.canvas(), style: {color: "#fff", weight: 0.8,
    fillColor: "#34a853", fillOpacity: 0.55}}).addTo(map);
  map.fitBounds(layer.getBounds());
  requestAnimationFrame(() => performance.mark("fq-map-ready"));
});
</script></body></html>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(db_path: Path, events: int, env: dict[str, str], scale: str = "keqiao") -> None:
    if db_path.exists():
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"# built {db_path} ({events} events) in {time.perf_counter() - started:.0f} s")


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("uvicorn")), "--factory", "fengqiao.app:create_app",
         "--port", str(port), "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
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


def grid_layer_bytes(base: str) -> tuple[int, int, bytes]:
    token = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "demo_district_operator", "password": PASSWORD},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client() as client,
        client.stream(
            "GET", f"{base}/api/v1/grids/geojson", headers=headers | {"Accept-Encoding": "gzip"}
        ) as response,
    ):
        compressed = b"".join(response.iter_raw())
    raw = gzip.decompress(compressed)
    return len(compressed), len(raw), raw


def load_times(browser: Browser, url_of_page: str, runs: int, login: str | None) -> list[float]:
    """Milliseconds from navigation start to the ready mark, each in a fresh context."""
    times: list[float] = []
    for run in range(runs + 1):
        context = browser.new_context(viewport={"width": 1600, "height": 900})
        page = context.new_page()
        if login:
            page.goto(login + "/login")
            log_in(page, "demo_district_operator", PASSWORD)
        page.goto(url_of_page)
        page.wait_for_function(f"() => !!{READY}", timeout=60_000)
        ready = page.evaluate(f"{READY}.startTime")
        if run:  # the first load warms the server's caches and the disk
            times.append(float(ready))
        context.close()
    return times


def bare_server(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    class Handler(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            if self.path.endswith(".geojson"):
                self.send_header("Content-Encoding", "gzip")
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-onemap.db")
    parser.add_argument(
        "--smoke", action="store_true", help="a small district, one load: checks the script runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fq-onemap-") as tmp:
        scale = "keqiao"
        if args.smoke:
            print("# smoke mode: one town, 300 events, one load; the figures below mean nothing")
            args.db, args.events, args.runs, scale = Path(tmp) / "onemap.db", 300, 1, "small"
        run(args, Path(tmp), scale)


def run(args: argparse.Namespace, data: Path, scale: str) -> None:
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{args.db}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-onemap-not-secret-0123456789abcdef",
    }
    build(args.db, args.events, env, scale)
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        compressed, raw, geojson = grid_layer_bytes(base)
        grids = geojson.count(b'"Feature"')
        print(
            f"grid layer: {grids} polygons, {compressed / 1024:.0f} KB gzip-compressed "
            f"({raw / 1024:.0f} KB raw), target <= 300 KB"
        )
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
            ours = load_times(browser, f"{base}/map", args.runs, login=base)
            limit = load_times(browser, f"{bare_base}/index.html", args.runs, login=None)
            browser.close()
        bare.shutdown()
        ours_p50, limit_p50 = statistics.median(ours), statistics.median(limit)
        print(
            f"one-map first useful paint, whole district ({args.events} events seeded): "
            f"p50 {ours_p50:.0f} ms (min {min(ours):.0f}, max {max(ours):.0f}, {args.runs} loads), "
            f"target <= 2000 ms"
        )
        print(
            f"bare Leaflet drawing the same grids: p50 {limit_p50:.0f} ms; "
            f"ratio {ours_p50 / limit_p50:.2f}x"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # an event stream still open
            server.kill()


if __name__ == "__main__":
    main()
