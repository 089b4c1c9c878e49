"""Figures of issue 21's PostgreSQL part: per-core rates on PostgreSQL (filing, a step, GPS
points), and a hot query on the monthly-partitioned `position` against an unpartitioned copy.

    .venv/bin/python bench/bench_partitions.py [--seconds 20] [--positions 2000000] [--smoke]

Runs in-process (the app through Starlette's TestClient, one thread, one connection: each rate
is bound by the commit latency; the app CPU per operation (client and server, not PostgreSQL's
own) is measured with process_time and turned into a rate per app core) on a throwaway PostgreSQL database made next to
FENGQIAO_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432/test), seeded with the small demo
district, dropped at the end.

1. `POST /api/v1/events` sequentially for `--seconds`: events/s; the bare limit is one row
   inserted in one transaction through the same engine, as fast as it goes, the same seconds.
2. `accept` transitions on the filed events: steps/s.
3. `POST /api/v1/me/positions` with 100 points a request, each by another grid worker: points/s.
4. `--positions` rows over 12 months for 2,000 workers, inserted into `position` (partitioned by
   month) and into `position_plain` (the same columns and indexes, one table); then "a worker's
   day" (the patrol track query) 300 times on each: p50 and p95 in ms, and the ratio.

`--smoke`: 2 s of each rate and 20,000 positions (checks the script runs; figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fengqiao.app import create_app  # noqa: E402
from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.security import issue_token  # noqa: E402
from fengqiao.clock import LOCAL_TZ, FixedClock  # noqa: E402
from fengqiao.config import Settings  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.demo.seed import seed  # noqa: E402
from fengqiao.migrate import upgrade  # noqa: E402
from fengqiao.org.models import OrgUnit  # noqa: E402
from fengqiao.partitions.jobs import maintain  # noqa: E402

KEY = "bench-signing-key-not-secret-0123456789abcdef"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)


def _admin_url() -> str:
    return os.environ.get(
        "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rates(client: TestClient, database: Database, seconds: float) -> None:
    with database.session() as db:
        users = {row.username: row.id for row in db.execute(select(User.username, User.id))}
        codes = list(
            db.execute(text("SELECT code FROM category WHERE active ORDER BY code")).scalars()
        )
        grid = db.scalar(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.id))
        assert grid is not None and grid.min_lat is not None and grid.max_lat is not None
        assert grid.min_lng is not None and grid.max_lng is not None
        lat, lng = (grid.min_lat + grid.max_lat) / 2, (grid.min_lng + grid.max_lng) / 2
        workers = [
            u for u, in db.execute(
                text("SELECT u.id FROM user_account u JOIN user_role r ON r.user_id = u.id "
                     "WHERE r.role = 'grid_worker' ORDER BY u.id")
            )
        ]  # fmt: skip

    def headers(user_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(user_id=user_id, key=KEY, minutes=600)}"}

    reporter, operator = headers(users["demo_grid_worker"]), headers(users["demo_operator"])
    body = {"source": "grid_worker", "category": codes[0], "description": "占道经营", "lat": lat,
            "lng": lng, "address": "某路"}  # fmt: skip
    for code in codes:  # the first class a grid worker may file (some are for residents only)
        body["category"] = code
        if client.post("/api/v1/events", json=body, headers=reporter).status_code == 201:
            break
    filed: list[dict[str, object]] = []
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        response = client.post("/api/v1/events", json=body, headers=reporter)
        if response.status_code != 201:  # a place outside the worker's area, say: say so
            raise SystemExit(f"filing failed: {response.status_code} {response.text[:300]}")
        filed.append(response.json())
    filing = len(filed) / (time.perf_counter() - started)
    filing_cpu = (time.process_time() - cpu) / len(filed) * 1000
    engine = database.engine
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE bench_bare (id serial PRIMARY KEY, at timestamptz)"
        )
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO bench_bare (at) VALUES (now())")
        count += 1
    bare = count / (time.perf_counter() - started)
    print(f"1. filing on PostgreSQL: {filing:.1f} events/s on one connection (client in process), "
          f"{filing_cpu:.1f} ms of app CPU each ({1000 / filing_cpu:.0f}/s per app core); "
          f"bare one-row transaction {bare:.0f}/s; ratio {bare / filing:.1f}")  # fmt: skip
    steps, started, cpu = 0, time.perf_counter(), time.process_time()
    for event in filed:
        if time.perf_counter() - started >= seconds:
            break
        response = client.post(
            f"/api/v1/events/{event['id']}/transitions",
            json={"action": "accept", "version": event["version"]},
            headers=operator,
        )
        if response.status_code == 200:
            steps += 1
    elapsed = time.perf_counter() - started
    step_cpu = (time.process_time() - cpu) / max(1, steps) * 1000
    print(f"2. accept transitions on PostgreSQL: {steps / elapsed:.1f} steps/s on one connection, "
          f"{step_cpu:.1f} ms of app CPU each ({1000 / step_cpu:.0f}/s per app core; "
          f"{steps} steps)")  # fmt: skip
    points, started, k, cpu = 0, time.perf_counter(), 0, time.process_time()
    base = NOW - timedelta(hours=2)
    while time.perf_counter() - started < seconds:
        worker = workers[k % len(workers)]
        at = base + timedelta(seconds=(k // len(workers)) * 100)
        batch = [
            {"at": (at + timedelta(seconds=i)).isoformat(), "lat": lat + i * 1e-6, "lng": lng,
             "accuracy": 5.0}
            for i in range(100)
        ]  # fmt: skip
        response = client.post(
            "/api/v1/me/positions", json={"points": batch}, headers=headers(worker)
        )
        if response.status_code != 200:
            raise SystemExit(f"positions failed: {response.status_code} {response.text[:300]}")
        points += response.json()["stored"]
        k += 1
    point_cpu = (time.process_time() - cpu) / max(1, points) * 1000
    print(f"3. GPS points on PostgreSQL: {points / (time.perf_counter() - started):.0f} points/s "
          f"on one connection, 100 a request ({k} requests), {point_cpu:.3f} ms of app CPU a "
          f"point ({1000 / point_cpu:.0f}/s per app core)")  # fmt: skip


def _day_query(database: Database, size: int, repeats: int) -> None:
    with database.transaction() as db:
        users = [
            u for (u,) in db.execute(text("SELECT id FROM user_account ORDER BY id LIMIT 2000"))
        ]
    first = datetime(2026, 1, 1, tzinfo=LOCAL_TZ)
    maintain(database, now=first, ahead=12, retention=120)
    engine = database.engine
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE position_plain (LIKE position INCLUDING DEFAULTS)")
        connection.exec_driver_sql("ALTER TABLE position_plain ADD PRIMARY KEY (id)")
        connection.exec_driver_sql(
            "CREATE UNIQUE INDEX position_plain_user_at ON position_plain (user_id, at)"
        )
    # `size` fixes of the workers spread evenly over the year (a fix every few minutes each).
    span = 365 * 86400
    sql = (
        "INSERT INTO {table} (user_id, at, lat, lng, district_id) "
        "SELECT (ARRAY[{users}])[1 + mod(g, {n})], "
        "timestamptz '2026-01-01 00:00+08' + make_interval(secs => (g / {n}) * {step}), "
        "30.0, 120.5, NULL FROM generate_series(0, {size} - 1) g"
    )
    values = dict(users=",".join(map(str, users)), n=len(users), size=size,
                  step=max(1, span * len(users) // size))  # fmt: skip
    timings: dict[str, float] = {}
    for table in ("position", "position_plain"):
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.exec_driver_sql(sql.format(table=table, **values))
            connection.exec_driver_sql(f"ANALYZE {table}")
        timings[table] = time.perf_counter() - started
    rng = random.Random(7)
    asks = [(rng.choice(users), first + timedelta(days=rng.randrange(360))) for _ in range(repeats)]
    result: dict[str, tuple[float, float]] = {}
    with engine.connect() as connection:
        for table in ("position", "position_plain"):
            took = []
            for user, day in asks:
                started = time.perf_counter()
                connection.execute(
                    text(f"SELECT at, lat, lng FROM {table} WHERE user_id = :u AND at >= :a "
                         "AND at < :b ORDER BY at"),
                    {"u": user, "a": day, "b": day + timedelta(days=1)},
                ).all()  # fmt: skip
                took.append((time.perf_counter() - started) * 1000)
            result[table] = (statistics.median(took), _percentile(took, 0.95))
    part, plain = result["position"], result["position_plain"]
    print(f"4. a worker's day over {size:,} positions: partitioned p50 {part[0]:.2f} ms p95 "
          f"{part[1]:.2f} ms; unpartitioned p50 {plain[0]:.2f} ms p95 {plain[1]:.2f} ms; "
          f"ratio p50 {part[0] / plain[0]:.2f}; inserts {timings['position']:.1f} s vs "
          f"{timings['position_plain']:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--positions", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="Smallest parameters: seconds.")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.positions, args.repeats = 2.0, 20_000, 20
    admin_url = make_url(_admin_url()).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"fq_bench_parts_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        database = Database(url)
        seed(db=database, scale="small", password="bench-pass")
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(database_url=url, data_dir=Path(tmp), secret_key=KEY,
                                principal_cache_seconds=60.0)  # fmt: skip
            app = create_app(settings, database=database, clock=FixedClock(NOW))
            with TestClient(app) as client:
                _rates(client, database, args.seconds)
        _day_query(database, args.positions, args.repeats)
        database.dispose()
        print(f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")  # fmt: skip
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


if __name__ == "__main__":
    main()
