"""Figures of the public map (身边事, /r/map) with a year of a district's reports.

    .venv/bin/python bench/bench_public_map.py [--events 100000] [--runs 7]
                                               [--db var/bench-pubmap.db] [--smoke]

1. The size of `GET /api/v1/public/reports` as sent gzip-compressed: the page's first answer
   (the last 90 days, whole district, the zoom a phone opens at) and the worst case a caller can
   ask for (`days=366`, every report of the year). Its bare limit, in the same run: the same rows
   as plain GeoJSON points with only their status (no clustering, nothing else), compressed the
   same way — what a map of every report would cost on the wire.
2. First paint of `/r/map` on a 390×844 phone, signed out: from the start of the navigation to
   the page's `fq-pubmap-ready` mark (filters built, the reports or clusters drawn). Median of
   `--runs` loads in a fresh browser context each, after one warm-up load that fills the server's
   read cache. Its bare limit: a static page with nothing but Leaflet drawing the same answer
   (served as one pre-compressed file). The cold answer (the first read after a change of the
   events, which empties the cache) is timed on its own.

The district (Keqiao scale, `--events` events over the past year, as `make demo` seeds) is built
once into `--db` and reused. `--smoke`: a small district (one town, 300 events) in a temporary
folder, one timed load each after the warm-up (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_onemap import bare_server, build, free_port, serve  # noqa: E402

from scripts.screenshot import launch_chromium  # noqa: E402

PASSWORD = "bench-pubmap-password"
READY = "performance.getEntriesByName('fq-pubmap-ready')[0]"
PHONE: ViewportSize = {"width": 390, "height": 844}

BARE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/leaflet.css"><style>html,body,#map{height:100%;margin:0}</style>
</head><body><div id="map"></div><script src="/leaflet.js"></script><script>
fetch("/reports.geojson").then((r) => r.json()).then((g) => {
  const map = L.map("map");
  const layer = L.geoJSON(g, {pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 9})}).addTo(map);
  map.fitBounds(layer.getBounds());
  requestAnimationFrame(() => performance.mark("fq-pubmap-ready"));
});
</script></body></html>"""


def gzip_get(base: str, params: dict[str, str]) -> tuple[int, bytes, float]:
    """(compressed bytes on the wire, the body, seconds) of one GET of the public reports."""
    started = time.perf_counter()
    with (
        httpx.Client(timeout=120) as client,
        client.stream(
            "GET", f"{base}/api/v1/public/reports", params=params,
            headers={"Accept-Encoding": "gzip"},
        ) as response,
    ):  # fmt: skip
        response.raise_for_status()
        compressed = b"".join(response.iter_raw())
    seconds = time.perf_counter() - started
    encoded = response.headers.get("content-encoding") == "gzip"
    return len(compressed), gzip.decompress(compressed) if encoded else compressed, seconds


def bare_rows(db_path: Path, days: int, box: Any = None) -> bytes:
    """The same reports as plain GeoJSON points with their status only (the bare limit), read
    with the map's own reading so the rows are exactly the same."""
    from datetime import UTC, datetime

    from fengqiao.config import Settings
    from fengqiao.db import Database
    from fengqiao.open311.service import hidden_codes
    from fengqiao.publicmap import service
    from fengqiao.taxonomy.snapshot import load_rules

    database = Database(f"sqlite:///{db_path}")
    try:
        with database.session() as db:
            rules = load_rules(db)
            hidden = hidden_codes(rules, Settings().open311_hidden_majors)
            read = service._read(
                db, rules, service.MapQuery(days=days, bbox=box), hidden, datetime.now(UTC)
            )
    finally:
        database.dispose()
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]},
         "properties": {"status": service.STATUS_KEYS[status]}}
        for (lat, lng), status in zip(read.points, read.statuses.tolist(), strict=True)
    ]  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def load_times(browser: Browser, url: str, runs: int) -> list[float]:
    """Milliseconds from navigation start to the ready mark, each in a fresh context."""
    times: list[float] = []
    for run in range(runs + 1):
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(f"() => !!{READY}", timeout=60_000)
        if run:  # the first load warms the server's cache and the disk
            times.append(float(page.evaluate(f"{READY}.startTime")))
        context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-pubmap.db")
    parser.add_argument(
        "--smoke", action="store_true", help="a small district, one load: checks the script runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fq-pubmap-") as tmp:
        scale = "keqiao"
        if args.smoke:
            print("# smoke mode: one town, 300 events, one load; the figures below mean nothing")
            args.db, args.events, args.runs, scale = Path(tmp) / "pubmap.db", 300, 1, "small"
        run(args, Path(tmp), scale)


def run(args: argparse.Namespace, data: Path, scale: str) -> None:
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{args.db}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-pubmap-not-secret-0123456789abcdef",
        "FENGQIAO_RATE_LIMIT_PUBLIC": "100000/minute",
    }
    build(args.db, args.events, env, scale)
    port = free_port()
    server = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        # The page's first request on a phone (zoom of the fitted district) and the worst case.
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            page = context.new_page()
            first: list[str] = []
            page.on(
                "request",
                lambda r: first.append(r.url) if "/api/v1/public/reports?" in r.url else None,
            )
            page.goto(f"{base}/r/map")
            page.wait_for_function(f"() => !!{READY}", timeout=60_000)
            context.close()
            zoom = httpx.URL(first[0]).params.get("zoom", "13")
            sizes: dict[str, tuple[int, bytes]] = {}
            cases: list[tuple[str, int, dict[str, str], Any]] = [
                ("page", 90, {"zoom": zoom}, None),
                ("year", 366, {"zoom": zoom, "days": "366"}, None),
            ]
            for index, (name, days, params, box) in enumerate(cases):
                compressed, body, _ = gzip_get(base, params)
                answer = json.loads(body)
                bare = bare_rows(args.db, days, box)
                bare_gz = len(gzip.compress(bare, 6))
                sizes[name] = (compressed, body)
                print(
                    f"GeoJSON {name} ({days} days, zoom {params['zoom']}"
                    f"{', a street-sized box' if box else ''}): {answer['total']} reports in "
                    f"{len(answer['features'])} features, {compressed / 1024:.1f} KB gzip "
                    f"({len(body) / 1024:.0f} KB raw), target <= 500 KB; bare points of the same "
                    f"rows {bare_gz / 1024:.0f} KB gzip ({len(bare) / 1024:.0f} KB raw); "
                    f"ratio {compressed / bare_gz:.3f}x"
                )
                if index == 1 and answer["features"]:
                    # Zoomed in (16) on the densest place of the year: reports one by one.
                    densest = max(answer["features"], key=lambda f: f["properties"].get("count", 1))
                    lng, lat = densest["geometry"]["coordinates"]
                    box = (lng - 0.01, lat - 0.008, lng + 0.01, lat + 0.008)
                    text = ",".join(f"{v:.5f}" for v in box)
                    cases.append(("street", 366, {"zoom": "16", "days": "366", "bbox": text}, box))
            # The cold answer: a query nobody asked yet (a status filter that keeps everything).
            cold = gzip_get(
                base,
                {
                    "zoom": zoom,
                    "status": ",".join(
                        sorted(["submitted", "accepted", "in_progress", "fixed", "closed_unfixed"])
                    ),
                },
            )[2]
            cold_year = gzip_get(
                base, {"zoom": zoom, "days": "366", "category": "01,04,05,06,07,08,09,10"}
            )[2]
            print(
                f"cold answer (not cached): 90 days {cold * 1000:.0f} ms, "
                f"366 days {cold_year * 1000:.0f} ms"
            )
            static = data / "bare"
            static.mkdir()
            vendor = ROOT / "src" / "fengqiao" / "web" / "static" / "vendor"
            for name in ("leaflet.js", "leaflet.css"):
                (static / name).write_bytes((vendor / name).read_bytes())
            (static / "reports.geojson").write_bytes(gzip.compress(sizes["page"][1], 6))
            (static / "index.html").write_text(BARE_PAGE, encoding="utf-8")
            bare, bare_base = bare_server(static)
            ours = load_times(browser, f"{base}/r/map", args.runs)
            limit = load_times(browser, f"{bare_base}/index.html", args.runs)
            browser.close()
        bare.shutdown()
        ours_p50, limit_p50 = statistics.median(ours), statistics.median(limit)
        print(
            f"/r/map first paint on a 390x844 phone, signed out ({args.events} events seeded): "
            f"p50 {ours_p50:.0f} ms (min {min(ours):.0f}, max {max(ours):.0f}, {args.runs} loads), "
            f"target <= 1500 ms"
        )
        print(
            f"bare Leaflet drawing the same answer: p50 {limit_p50:.0f} ms; "
            f"ratio {ours_p50 / limit_p50:.2f}x"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
