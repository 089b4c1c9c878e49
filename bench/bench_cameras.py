"""Figures of the camera registry at Keqiao scale (30,000 cameras), each next to a bare limit
measured in the same run.

    .venv/bin/python bench/bench_cameras.py [--queries 2000] [--db var/bench-cameras.db] [--smoke]

1. The 10 nearest cameras within 1 km of a point, in-process: the process's index alone
   (`CameraIndex.nearest`), and the whole service call (`cameras.service.nearest_cameras`: the
   index, then one SELECT by primary key of the 10 found with their status) on SQLite, for the
   district's and for a town's scope; p50 and p95 over `--queries` points drawn inside the
   district's grids. Limits: a brute-force numpy haversine over all 30,000 points held in
   memory (argpartition for the 10), and a raw sqlite3 lat/lng-band query on the
   (kind, lat) index plus numpy distances. For reference, the path it replaced: a growing box
   read through the ORM (`tracks.nearest` over `geo.service.layer_features`).
2. The same search over HTTP in-process (`GET /api/v1/layers/cameras/nearest` through
   Starlette's TestClient, with authentication): p50.
3. Building the index from the database (30,000 rows).
4. Importing 30,000 cameras from CSV (the registry's own export): into an empty registry
   (every row checked, located and created), and again (every row unchanged); a dry run.
5. A status push of 30,000 cameras in one request body (service call).

Runs on a Keqiao district seeded once into `--db` and reused (imports run on a copy). Prints
one line per figure. `--smoke`: a small district (one town, 200 cameras) in a temporary folder,
50 queries (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import delete, select

from fengqiao.cameras.importer import ImportReport, import_cameras
from fengqiao.cameras.index import CameraIndex, load_index
from fengqiao.cameras.models import Camera
from fengqiao.cameras.service import StatusIn, nearest_cameras, report_statuses
from fengqiao.db import Database
from fengqiao.geo.distance import haversine_many
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator, layer_features
from fengqiao.org.models import OrgUnit
from fengqiao.patrol import tracks
from fengqiao.scope import Principal

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
LIMIT = 10
RADIUS = 1_000.0


def ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(0.95 * (len(ordered) - 1))] * 1e3


def timed(call: Callable[[float, float], object], points: list[tuple[float, float]]) -> list[float]:
    out = []
    for lat, lng in points:
        started = time.perf_counter()
        call(lat, lng)
        out.append(time.perf_counter() - started)
    return out


def line(name: str, samples: list[float], base: float | None = None) -> float:
    p50, p95 = ms(samples)
    ratio = f", {base / p50:.0f}x faster than that limit" if base and base > p50 else ""
    slower = f", {p50 / base:.1f}x the limit" if base and base <= p50 else ""
    print(f"{name}: p50 {p50:.3f} ms, p95 {p95:.3f} ms{ratio}{slower}")
    return p50


def seeded(path: Path, scale: str = "keqiao") -> str:
    url = f"sqlite:///{path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FENGQIAO_DATABASE_URL": url, "FENGQIAO_DATA_DIR": str(path.parent)}
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--if-empty"], env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    return url


def query_points(database: Database, count: int, under: str = "/") -> list[tuple[float, float]]:
    """`count` points drawn inside the grids under `under`, a grid at random for each."""
    rng = np.random.default_rng(28181)
    with database.session() as db:
        shapes = [
            shapely.from_geojson(json.dumps(g))
            for g in db.scalars(
                select(OrgUnit.geometry)
                .where(OrgUnit.kind == "grid", OrgUnit.path.startswith(under))
                .order_by(OrgUnit.code)
            )
        ]
    points = []
    for i in rng.choice(len(shapes), size=count).tolist():
        shape = shapes[i]
        west, south, east, north = shape.bounds
        while True:
            lng, lat = rng.uniform(west, east), rng.uniform(south, north)
            if shape.contains(shapely.Point(lng, lat)):
                points.append((float(lat), float(lng)))
                break
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-cameras.db")
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 50 queries: checks the script runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args.db, args.queries, "keqiao")
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-cameras-") as tmp:
        print("# smoke mode: one town (200 cameras), 50 queries; the figures below mean nothing")
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # the app's own files, not into var/
        run(Path(tmp) / "cameras.db", 50, "small")


def run(db_path: Path, queries: int, scale: str) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    url = seeded(db_path, scale)
    database = Database(url)
    points = query_points(database, queries)

    with database.session() as db:
        started = time.perf_counter()
        index, _generation = load_index(db)
        build = time.perf_counter() - started
        district = db.scalar(select(OrgUnit.path).where(OrgUnit.kind == "district"))
        town = db.scalar(
            select(OrgUnit.path).where(OrgUnit.kind == "town", OrgUnit.name == "柯桥街道")
        )
        assert district is not None and town is not None
    town_points = query_points(database, queries, town)
    print(f"cameras: {len(index):,}; index built from the database in {build * 1e3:.0f} ms")

    # The bare limits: every point in memory, brute force; the raw SQL band.
    lat_all, lng_all = index.lat.copy(), index.lng.copy()

    def brute(lat: float, lng: float) -> list[int]:
        metres = haversine_many(lat_all, lng_all, lat, lng)
        top = np.argpartition(metres, LIMIT)[:LIMIT]
        return [int(i) for i in top[np.argsort(metres[top])] if metres[i] <= RADIUS]

    raw = sqlite3.connect(str(db_path))
    dlat = math.degrees(RADIUS / 6_371_008.8)

    def band(lat: float, lng: float) -> list[int]:
        dlng = dlat / math.cos(math.radians(lat))
        rows = raw.execute(
            "SELECT id, lat, lng FROM layer_feature WHERE kind = 'camera' AND lat BETWEEN ? AND ? "
            "AND lng BETWEEN ? AND ?",
            (lat - dlat, lat + dlat, lng - dlng, lng + dlng),
        ).fetchall()
        if not rows:
            return []
        data = np.asarray(rows)
        metres = haversine_many(data[:, 1], data[:, 2], lat, lng)
        order = np.argsort(metres)[:LIMIT]
        return [int(data[i, 0]) for i in order if metres[i] <= RADIUS]

    scope_district = tuple(int(p) for p in district.strip("/").split("/"))
    scope_town = tuple(int(p) for p in town.strip("/").split("/"))
    # Check once that they agree before timing them.
    for lat, lng in points[:50]:
        got = [i for i, _ in index.nearest(lat, lng, limit=LIMIT, radius_m=RADIUS)]
        assert got == [int(index.ids[i]) for i in brute(lat, lng)], (lat, lng)
        assert sorted(got) == sorted(band(lat, lng))

    print(f"--- 10 nearest within {RADIUS:,.0f} m among {len(index):,} cameras, in-process, "
          f"{len(points):,} points ---")  # fmt: skip
    base_brute = line("bare limit: numpy brute-force haversine over all", timed(brute, points))
    base_band = line("bare limit: raw sqlite3 lat/lng band + numpy distances", timed(band, points))
    line(
        "index alone (district scope)",
        timed(
            lambda la, ln: index.nearest(
                la, ln, limit=LIMIT, radius_m=RADIUS, scope=scope_district
            ),
            points,
        ),
        base_brute,
    )
    line(
        "index alone (a town's scope, points in that town)",
        timed(
            lambda la, ln: index.nearest(la, ln, limit=LIMIT, radius_m=RADIUS, scope=scope_town),
            town_points,
        ),
        base_brute,
    )

    class Fixed:  # the locator of a running instance, warm
        def index(self, _db: object) -> CameraIndex:
            return index

    with database.session() as db:

        def service(la: float, ln: float, path: str = district) -> None:
            nearest_cameras(db=db, cameras=Fixed(), path=path, lat=la, lng=ln, limit=LIMIT,  # type: ignore[arg-type]
                            radius_m=RADIUS)  # fmt: skip

        line("service call: index + status of the 10 by primary key (SQLite)",
             timed(service, points), base_band)  # fmt: skip
        line("service call, a town's scope, points in that town (SQLite)",
             timed(lambda la, ln: service(la, ln, town), town_points), base_band)  # fmt: skip
        old = timed(
            lambda la, ln: tracks.nearest(
                lambda box: layer_features(db=db, kind="camera", path=district, box=box),
                la, ln, LIMIT,
            ),
            points[: max(100, len(points) // 10)],
        )  # fmt: skip
        line("reference: the path it replaced (growing box through the ORM)", old)

    http_figure(url, points[:500])
    import_figures(db_path)
    raw.close()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def http_figure(url: str, points: list[tuple[float, float]]) -> None:
    from fastapi.testclient import TestClient

    from fengqiao.app import create_app
    from fengqiao.auth.models import User
    from fengqiao.auth.security import issue_token
    from fengqiao.config import Settings

    settings = Settings(database_url=url, secret_key="bench-cameras-key")
    app = create_app(settings)

    @app.get("/bare")
    def bare() -> list[object]:  # the bare framework: a route that answers an empty list
        return []

    with TestClient(app) as client:
        database = Database(url)
        with database.session() as db:
            user_id = db.scalar(select(User.id).where(User.username == "demo_district_operator"))
        assert user_id is not None
        headers = {
            "Authorization": "Bearer "
            + issue_token(user_id=user_id, key="bench-cameras-key", minutes=60)
        }
        for lat, lng in points[:20]:  # warm: principal cache, index
            client.get(
                "/api/v1/layers/cameras/nearest", params={"lat": lat, "lng": lng}, headers=headers
            )
        samples = []
        for lat, lng in points:
            started = time.perf_counter()
            response = client.get(
                "/api/v1/layers/cameras/nearest",
                params={"lat": lat, "lng": lng, "limit": LIMIT, "radius_m": RADIUS},
                headers=headers,
            )
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        bare_samples = []
        for lat, lng in points:
            started = time.perf_counter()
            client.get("/bare", params={"lat": lat, "lng": lng})
            bare_samples.append(time.perf_counter() - started)
        base = line("bare limit: an empty FastAPI route through the same TestClient", bare_samples)
        line(
            "GET /api/v1/layers/cameras/nearest in-process over ASGI (TestClient, auth)",
            samples,
            base,
        )


def import_figures(source: Path) -> None:
    copy = source.with_name("bench-cameras-import.db")
    shutil.copyfile(source, copy)
    database = Database(f"sqlite:///{copy}")
    now = datetime.now(UTC)
    with database.session() as db:
        root = db.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == "district")).one()
        principal = Principal(0, "bench", "bench", frozenset({"admin"}), root.id, root.path)
        locator = GridLocator(check_seconds=0)
        locator.refresh(db)
        rows = db.execute(
            select(LayerFeature.code, LayerFeature.name, LayerFeature.lng, LayerFeature.lat,
                   LayerFeature.props, Camera.status)
            .join(Camera, Camera.feature_id == LayerFeature.id).order_by(LayerFeature.code)
        ).all()  # fmt: skip
    lines = ["code,name,lng,lat,crs,stream_url,status,install_place"]
    lines += [f"{r.code},{r.name},{r.lng!r},{r.lat!r},wgs84,{r.props['stream_url']},{r.status},"
              for r in rows]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(
        f"--- import of {len(rows):,} cameras from CSV ({len(text.encode()) / 1e6:.1f} MB), SQLite ---"
    )

    def run(dry_run: bool) -> tuple[float, ImportReport]:
        with database.session(write=True) as db:
            started = time.perf_counter()
            report = import_cameras(db=db, text=text, locator=locator, principal=principal,
                                    divisions=["330603"], now=now, dry_run=dry_run)  # fmt: skip
            if dry_run:
                db.rollback()
            else:
                db.commit()
            return time.perf_counter() - started, report

    with database.session(write=True) as db:
        db.execute(delete(Camera))
        db.execute(delete(LayerFeature).where(LayerFeature.kind == "camera"))
        db.commit()
    seconds, report = run(dry_run=True)
    print(f"dry run into an empty registry: {seconds:.2f} s ({len(rows) / seconds:,.0f} rows/s)")
    seconds, report = run(dry_run=False)
    assert report.created == len(rows), report.refused
    print(
        f"import into an empty registry (all created): {seconds:.2f} s ({len(rows) / seconds:,.0f} rows/s)"
    )
    seconds, report = run(dry_run=False)
    assert report.unchanged == len(rows)
    print(
        f"the same file again (all unchanged): {seconds:.2f} s ({len(rows) / seconds:,.0f} rows/s)"
    )
    statuses = [
        StatusIn(str(r.code), "offline" if i % 7 == 0 else "online") for i, r in enumerate(rows)
    ]
    with database.session(write=True) as db:
        started = time.perf_counter()
        pushed = report_statuses(
            db=db, principal=principal, reports=statuses, now=datetime.now(UTC)
        )
        db.commit()
        seconds = time.perf_counter() - started
    print(f"status push of {len(statuses):,} cameras (service call): {seconds:.2f} s, "
          f"{pushed.changed:,} changed")  # fmt: skip
    database.dispose()
    copy.unlink()


if __name__ == "__main__":
    main()
