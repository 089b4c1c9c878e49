"""The one-map of a province: what its first load reads before and after the levels of detail
(issue 21), on PostgreSQL, with the bare limit of each measured in the same run.

    .venv/bin/python bench/bench_map_layers.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--runs 5] [--smoke]

A fresh database gets the province's org tree as `seed --scale zhejiang` plans it (11 cities,
90 districts, 1,360 towns, 20,000 villages, 85,000 grids; rectangles tiled over the province) and
one province leader; no events (the layers are org geometry; the counts are one GROUP BY over the
events' town index). In process (FastAPI TestClient, gzip accepted), each request cold (first after
a change of grids: the layer is built; the point → grid index every map read loads first is
loaded before the clock starts) and warm (served from the process's cache, median of
`--runs`):

1. Before: `GET /api/v1/grids/geojson` of the whole province, what the one-map read first
   (bytes sent gzip-compressed and uncompressed). Bare limit: `SELECT` of the grids' rows through
   raw psycopg, `orjson.dumps` and `gzip` of the same collection.
2. After: the first load of a province's map, `GET /api/v1/map/areas` (the 11 cities) and
   `GET /api/v1/command/area-stats?kind=city`; the district outlines (after zooming in or picking
   a city); the grids of one close-in box (`bbox`, 0.35° × 0.2°, a 1280 px wide map at zoom 12).
   Bare limit of the outlines: `SELECT` of the 11 cities' stored rectangles and `orjson.dumps`.
3. In headless Chromium: the layer each first load draws, as served (gzip), fetched and drawn by
   Leaflet on a static page (canvas, fitted): the province's 85,000 grids before, the 11 cities'
   outlines after. The browser's share of the first load (the page's own work comes on top of
   both alike). Median of `--runs` loads, each in a fresh context.
4. Outlines when the importer kept no geometry for the cities (the union of their districts),
   then none above the grids at all (unions level by level down to the 85,000 grids), cold.

The database is dropped at the end. Each figure line carries the load average and the CPU time of
this process (the machine is shared). `--smoke`: 2 cities x 2 districts, 60 grids (checks the
script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

import fengqiao.models  # noqa: F401  (every table, as the app loads them)
from fengqiao.app import create_app
from fengqiao.auth.models import User, UserRole
from fengqiao.auth.security import issue_token
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.seed import _finish
from fengqiao.demo.zhejiang import _levels, _write, org_rows, plan_province
from fengqiao.demo.zhejiang_data import ZHEJIANG, ProvinceSize
from fengqiao.migrate import upgrade
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.screenshot import launch_chromium  # noqa: E402

SMOKE = ProvinceSize(cities=2, districts_per_city=2, towns=6, villages=20, grids=60)
KEY = "bench-map-layers-secret-key-0123456789abcdef"
# A 1280 × 800 px map at zoom 12 around Hangzhou's centre: 0.35° × 0.2°.
CLOSE_BOX = "120.05,30.15,120.40,30.35"


DRAW_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/leaflet.css"><style>html,body,#map{height:100%;margin:0}</style>
</head><body><div id="map"></div><script src="/leaflet.js"></script><script>
fetch(location.hash.slice(1)).then((r) => r.json()).then((g) => {
  const map = L.map("map");
  const layer = L.geoJSON(g, {renderer: L.canvas(), style: {color: "#fff", weight: 0.8,
    fillColor: "#34a853", fillOpacity: 0.55}}).addTo(map);
  map.fitBounds(layer.getBounds());
  requestAnimationFrame(() => performance.mark("drawn"));
});
</script></body></html>"""


def browser_draw(layers: dict[str, bytes], runs: int) -> dict[str, float]:
    """Median ms from navigation to the layer drawn, per gzipped GeoJSON file."""
    folder = Path(tempfile.mkdtemp())
    vendor = ROOT / "src" / "fengqiao" / "web" / "static" / "vendor"
    for name in ("leaflet.js", "leaflet.css"):
        (folder / name).write_bytes((vendor / name).read_bytes())
    (folder / "index.html").write_text(DRAW_PAGE, encoding="utf-8")
    for name, body in layers.items():
        (folder / name).write_bytes(body)

    class Handler(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            if self.path.endswith(".geojson"):
                self.send_header("Content-Encoding", "gzip")
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    medians: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for name in layers:
            times = []
            for run in range(runs + 1):
                context = browser.new_context(viewport={"width": 1600, "height": 900})
                page = context.new_page()
                page.goto(f"{base}/index.html#/{name}")
                page.wait_for_function(
                    "() => performance.getEntriesByName('drawn').length", timeout=300_000
                )
                if run:  # the first warms the disk and the browser
                    times.append(float(page.evaluate(
                        "performance.getEntriesByName('drawn')[0].startTime"
                    )))  # fmt: skip
                context.close()
            medians[name] = statistics.median(times)
        browser.close()
    server.shutdown()
    return medians


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall ms, CPU ms of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def median_ms(work: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def build(url: str, size: ProvinceSize) -> int:
    """The province's org tree and one province leader; returns the leader's id."""
    upgrade(url)
    database = Database(url)
    province = plan_province(size, np.random.default_rng(20171018))
    count = len(list(_levels(province)))
    with database.transaction() as session:
        conn = session.connection()
        _write(conn, OrgUnit, org_rows(province), lambda _n: None)
        _finish(conn)
        leader = User(username="zj_map", name="省领导", home_org_id=1, is_active=True)
        session.add(leader)
        session.flush()
        session.add(UserRole(user_id=leader.id, role="leader"))
        bump_counter(db=session, name=GRIDS_COUNTER)
        leader_id = leader.id
    database.dispose()
    print(f"# org tree: {count:,} org units; {load()}")
    return leader_id


class Client:
    def __init__(self, client: TestClient, leader: int) -> None:
        token = issue_token(user_id=leader, key=KEY, minutes=600)
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}

    def get(self, path: str, **params: str) -> tuple[int, int]:
        """(bytes sent, bytes uncompressed) of one answer."""
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text[:300]
        sent = int(response.headers.get("content-length") or len(response.content))
        return sent, len(response.content)

    def warm_locator(self) -> None:
        """Any map read first loads the process's point → grid index (85,000 grids): done here,
        so the cold figures time the layer itself."""
        self.client.get("/api/v1/grids/locate", params={"lat": "30.25", "lng": "120.2"},
                        headers=self.headers)  # fmt: skip

    def gzipped(self, path: str) -> bytes:
        """One answer's body as sent (gzip) for the browser figure."""
        response = self.client.get(path, headers=self.headers)
        return gzip.compress(response.content, compresslevel=6)


def size(sent: int, raw: int) -> str:
    return f"{sent / 1024:,.1f} KB sent gzip ({raw / 1024:,.0f} KB uncompressed)"


def measure(url: str, leader: int, runs: int) -> None:
    database = Database(url)
    settings = Settings(
        database_url=url, secret_key=KEY, data_dir=Path(tempfile.mkdtemp()), read_cache_seconds=0
    )
    app = create_app(settings, database=database)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with TestClient(app) as test_client, psycopg.connect(libpq, autocommit=True) as raw:
        client = Client(test_client, leader)
        path = "/api/v1/grids/geojson"

        # 1. Before: every grid of the province.
        client.warm_locator()
        wall, cpu, (sent, whole) = timed(lambda: client.get(path))
        warm = median_ms(lambda: client.get(path), runs)

        def bare_grids() -> bytes:
            rows = raw.execute(
                "SELECT id, code, name, grid_type, households, population, geometry FROM org_unit "
                "WHERE kind = 'grid' AND valid_to IS NULL ORDER BY code"
            ).fetchall()
            body = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": r[1], "properties": {
                    "id": r[0], "code": r[1], "name": r[2], "grid_type": r[3], "households": r[4],
                    "population": r[5]}, "geometry": r[6]} for r in rows]}  # fmt: skip
            return gzip.compress(orjson.dumps(body), compresslevel=6)

        bare_wall, bare_cpu, _ = timed(bare_grids)
        print(
            f"before: GET {path} (the whole province): {size(sent, whole)}; cold {wall:,.0f} ms "
            f"({cpu:,.0f} ms CPU), warm p50 {warm:,.1f} ms; bare SELECT + orjson + gzip "
            f"{bare_wall:,.0f} ms ({bare_cpu:,.0f} ms CPU); ratio {wall / bare_wall:.2f}; {load()}"
        )

        # 2. After: outlines and counts first; districts on zooming in; one close-in box.
        areas = "/api/v1/map/areas"
        stats = "/api/v1/command/area-stats"
        wall, cpu, (sent, whole) = timed(lambda: client.get(areas))
        s_wall, s_cpu, (s_sent, s_whole) = timed(lambda: client.get(stats, kind="city"))
        warm = median_ms(lambda: client.get(areas), runs)

        def bare_cities() -> bytes:
            rows = raw.execute(
                "SELECT id, code, name, geometry FROM org_unit WHERE kind = 'city' "
                "AND valid_to IS NULL ORDER BY code"
            ).fetchall()
            return orjson.dumps([{"id": r[0], "code": r[1], "name": r[2], "geometry": r[3]}
                                 for r in rows])  # fmt: skip

        bare_wall, bare_cpu, _ = timed(bare_cities)
        print(
            f"after: first load, GET {areas} (cities): {size(sent, whole)}, cold {wall:,.1f} ms "
            f"({cpu:,.1f} ms CPU), warm p50 {warm:,.2f} ms; + GET {stats}?kind=city: "
            f"{size(s_sent, s_whole)}, {s_wall:,.1f} ms ({s_cpu:,.1f} ms CPU); together "
            f"{(sent + s_sent) / 1024:,.1f} KB; bare SELECT of the "
            f"cities + orjson {bare_wall:,.2f} ms ({bare_cpu:,.2f} ms CPU); ratio (cold outlines) "
            f"{wall / bare_wall:.1f}; {load()}"
        )
        wall, cpu, (sent, whole) = timed(lambda: client.get(areas, kind="district"))
        print(
            f"after: zoomed in, GET {areas}?kind=district: {size(sent, whole)}, cold {wall:,.1f} ms "
            f"({cpu:,.1f} ms CPU); {load()}"
        )
        wall, cpu, (sent, whole) = timed(lambda: client.get(path, bbox=CLOSE_BOX))
        warm = median_ms(lambda: client.get(path, bbox=CLOSE_BOX), runs)
        answer = test_client.get(path, params={"bbox": CLOSE_BOX}, headers=client.headers)
        count = len(orjson.loads(answer.content)["features"])

        def bare_box() -> bytes:
            rows = raw.execute(
                "SELECT id, code, name, geometry FROM org_unit WHERE kind = 'grid' AND "
                "valid_to IS NULL AND min_lng <= 120.40 AND max_lng >= 120.05 AND "
                "min_lat <= 30.35 AND max_lat >= 30.15 ORDER BY code"
            ).fetchall()
            return gzip.compress(orjson.dumps([list(r) for r in rows]), compresslevel=6)

        bare_wall, bare_cpu, _ = timed(bare_box)
        print(
            f"after: close in, GET {path}?bbox={CLOSE_BOX} ({count:,} grids): {size(sent, whole)}, "
            f"cold {wall:,.1f} ms ({cpu:,.1f} ms CPU), warm p50 {warm:,.2f} ms; bare SELECT + "
            f"orjson + gzip {bare_wall:,.1f} ms ({bare_cpu:,.1f} ms CPU); ratio "
            f"{wall / bare_wall:.2f}; {load()}"
        )

        # 3. The browser's share: each first load's layer drawn by bare Leaflet.
        cpu = time.process_time()
        drawn = browser_draw(
            {"before.geojson": client.gzipped(path), "after.geojson": client.gzipped(areas)}, runs
        )
        print(
            f"in Chromium, fetch + parse + draw + fit of the first load's layer: before (every "
            f"grid) p50 {drawn['before.geojson']:,.0f} ms, after (city outlines) p50 "
            f"{drawn['after.geojson']:,.0f} ms ({runs} loads each; "
            f"{time.process_time() - cpu:,.1f} s CPU of this process); {load()}"
        )

        # 4. No stored outlines for the cities (their districts' stored), then none at all.
        for label, kinds in (
            ("no city outlines stored (the districts' are): the cities as the union of their "
             "districts", ("city",)),
            ("no outlines stored above the grids: the cities as the union of their districts, "
             "theirs of their towns, ..., down to the 85,000 grids",
             ("city", "district", "town", "village")),
        ):  # fmt: skip
            with database.transaction() as session:
                session.execute(
                    update(OrgUnit).where(OrgUnit.kind.in_(kinds)).values(geometry=None)
                )
                bump_counter(db=session, name=GRIDS_COUNTER)
            app.state.locator.invalidate()
            client.warm_locator()
            wall, cpu, (sent, whole) = timed(lambda: client.get(areas))
            print(
                f"{label}: GET {areas}: {size(sent, whole)}, cold {wall:,.0f} ms ({cpu:,.0f} ms "
                f"CPU), then cached per grid generation; {load()}"
            )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="any database of the server: a fresh one is created beside it",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a reduced province")
    args = parser.parse_args()
    province = ZHEJIANG
    if args.smoke:
        province, args.runs = SMOKE, 1
        print("# smoke mode: 2 cities x 2 districts, 60 grids; the figures below mean nothing")
    base = make_url(args.postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"fq_map_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        leader = build(url, province)
        measure(url, leader, args.runs)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
