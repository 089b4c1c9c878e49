"""Figures of Open311 GeoReport v2 on the Keqiao year, each beside a bare limit of the same run.

    .venv/bin/python bench/bench_open311.py --db var/bench-open311.db [--requests 1500] [--runs 50]
                                            [--postgres URL] [--smoke]

The file is a Keqiao district seeded with a year of events (`fengqiao seed --scale keqiao
--events 1100000`). Unless it holds them already, `--requests` Open311 requests are filed into it
first through the real path (`open311.service.submit`: locate, route, deadline, trail, the
request row) by `demo_device`, at random points and classes over the last 60 days, so the
default window (the last 90 days) holds more than the 1,000 a page may return.

1. `GET /open311/v2/requests.json` and `.xml` without filters: the newest 1,000 requests, in
   process (the app called through httpx's ASGI transport: routing, the Open311 route class,
   the query, the trail notes, rendering; no socket), `--runs` sequential calls after 3 untimed:
   p50 and p90. The same with `status=open&service_code=` the commonest class.
2. Limits in the same run: (a) the page query the app sends (captured at the driver) run with
   raw `sqlite3` and its rows dumped with orjson; (b) a bare FastAPI app in the same process
   whose one route runs that raw query and returns the orjson bytes, called the same way.
3. `POST /open311/v2/requests.json` in process: p50 of `--runs` filings (each a new event).
4. With `--postgres URL`: a new database of that server is migrated, the file's `event` and
   `open311_request` rows are copied into it (foreign keys not checked: `session_replication_role
   = replica`) and analysed, and the page query compiled for PostgreSQL is run under
   `EXPLAIN ANALYZE`: its plan and time, beside the same page query on SQLite.

Prints one line per figure. `--smoke`: a small district (one town, 300 events) seeded in a
temporary folder, 30 requests filed, 3 runs, and the PostgreSQL part in a throwaway database of
FENGQIAO_TEST_POSTGRES_URL's server, dropped after (checks the script runs; its figures mean
nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import shapely
from fastapi import FastAPI, Response
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.service import create_api_key, load_principal
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.geo.service import GridLocator
from fengqiao.open311 import parsing, service
from fengqiao.open311.models import Open311Request
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def grid_points(database: Database, count: int, rng: random.Random) -> list[tuple[float, float]]:
    with database.session() as db:
        geometries = db.scalars(select(OrgUnit.geometry).where(OrgUnit.kind == "grid")).all()
    points = []
    for geometry in rng.sample(list(geometries), min(count, len(geometries))):
        point = shapely.from_geojson(orjson.dumps(geometry)).representative_point()
        points.append((point.y, point.x))
    return points


def hidden(rules: Any) -> frozenset[str]:
    """The classes Open311 hides by default (FENGQIAO_OPEN311_HIDDEN_MAJORS)."""
    return service.hidden_codes(rules, Settings().open311_hidden_majors)


def plain_codes(rules: Any) -> list[str]:
    """Active classes Open311 offers, without required extra questions (the bench sends no
    attributes)."""
    concealed = hidden(rules)
    return sorted(
        code
        for code, ref in rules.categories.items()
        if ref.active
        and code not in concealed
        and not any(q.required for q in getattr(rules.intakes.get(code), "questions", ()))
    )


def file_requests(database: Database, wanted: int, now: datetime, rng: random.Random) -> str:
    """File Open311 requests until the file holds `wanted`; the key of demo_device."""
    with database.transaction() as db:
        key = create_api_key(db=db, username="demo_device", name="bench").key
        have = db.scalar(select(func.count()).select_from(Open311Request)) or 0
        user_id = db.scalar(select(User.id).where(User.username == "demo_device"))
        assert user_id is not None
        principal = load_principal(db=db, user_id=user_id)
        assert principal is not None
        rules = load_rules(db)
        locator = GridLocator(3600)
        locator.refresh(db)
    if have >= wanted:
        print(f"open311 requests already in the file: {have:,}")
        return key
    codes = plain_codes(rules)
    points = grid_points(database, 400, rng)
    started = time.perf_counter()
    moments = sorted(
        now - timedelta(seconds=rng.uniform(0, 60 * 86400)) for _ in range(wanted - have)
    )
    for chunk in range(0, len(moments), 100):
        with database.transaction() as db:
            rules = load_rules(db)
            for at in moments[chunk : chunk + 100]:
                lat, lng = rng.choice(points)
                fields = [("api_key", key), ("service_code", rng.choice(codes)), ("lat", str(lat)),
                          ("long", str(lng)), ("description", "居民通过 Open311 上报"),
                          ("email", "r@example.cn"), ("media_url", "https://p.example.cn/1.jpg")]  # fmt: skip
                submission = parsing.read_submission(fields)
                service.submit(db=db, rules=rules, place=locator.locate(lng, lat),
                               principal=principal, submission=submission,
                               hidden=hidden(rules), now=at)  # fmt: skip
    print(f"filed {wanted - have:,} open311 requests in {time.perf_counter() - started:.1f} s")
    return key


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    for _ in range(3):
        await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def capture_page_sql(database: Database, app: FastAPI, path: str) -> tuple[str, Any]:
    captured: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM open311_request JOIN event" in sql:
            captured.append((sql, params))

    sa_event.listen(database.engine, "before_cursor_execute", grab)
    try:
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            assert client.get(path).status_code == 200
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", grab)
    return captured[0]


async def http_figures(url: str, file: str, runs: int, key: str) -> None:
    settings = Settings(database_url=url, secret_key="bench-key-not-secret-0123456789")
    database = Database(url)
    app = create_app(settings, database=database)
    with database.session() as db:
        common = (
            db.execute(
                select(Event.category_code)
                .join(Open311Request, Open311Request.event_id == Event.id)
                .group_by(Event.category_code)
                .order_by(func.count().desc())
            )
            .scalars()
            .first()
        )
    sql, params = capture_page_sql(database, app, "/open311/v2/requests.json")

    raw = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False)

    def raw_page() -> bytes:
        return orjson.dumps(raw.execute(sql, params).fetchall())

    bare = FastAPI()

    @bare.get("/requests.json")
    def bare_route() -> Response:
        return Response(raw_page(), media_type="application/json")

    identity = {"Accept-Encoding": "identity"}
    gzip = {"Accept-Encoding": "gzip"}
    cases = [
        ("GET requests.json (no gzip)", "/open311/v2/requests.json", identity),
        ("GET requests.json (gzip, the app's middleware)", "/open311/v2/requests.json", gzip),
        ("GET requests.xml (no gzip)", "/open311/v2/requests.xml", identity),
        (f"GET requests.json?status=open&service_code={common} (no gzip)",
         f"/open311/v2/requests.json?status=open&service_code={common}", identity),
    ]  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for label, path, headers in cases:

            async def call(path: str = path, headers: dict[str, str] = headers) -> None:
                response = await client.get(path, headers=headers)
                assert response.status_code == 200, response.text

            samples = await timed(call, runs)
            page = (await client.get(path)).text
            rows = page.count('"service_request_id"') + page.count("<request>")
            print(f"{label}: {rows} requests, p50 {p(samples, 0.5):.1f} ms, "
                  f"p90 {p(samples, 0.9):.1f} ms (in process)")  # fmt: skip
            if label.startswith("GET requests.json (no gzip)"):
                fengqiao_p50 = p(samples, 0.5)

        raw_samples = []
        for _ in range(3):
            raw_page()
        for _ in range(runs):
            began = time.perf_counter()
            raw_page()
            raw_samples.append((time.perf_counter() - began) * 1000)
        print(f"limit: the page query with raw sqlite3 + orjson: p50 {p(raw_samples, 0.5):.1f} ms")

    bare_transport = httpx.ASGITransport(app=bare)
    async with httpx.AsyncClient(transport=bare_transport, base_url="http://bench") as client:

        async def bare_call() -> None:
            response = await client.get("/requests.json", headers=identity)
            assert response.status_code == 200

        bare_samples = await timed(bare_call, runs)
    bare_p50 = p(bare_samples, 0.5)
    print(f"limit: bare FastAPI route running the raw query: p50 {bare_p50:.1f} ms (in process)")
    print(f"ratio: Fengqiao / bare FastAPI = {fengqiao_p50 / bare_p50:.1f}x; "
          f"Fengqiao / raw SQL = {fengqiao_p50 / p(raw_samples, 0.5):.1f}x")  # fmt: skip

    rng = random.Random(7)
    user_points = grid_points(database, 50, rng)
    with database.session() as db:
        codes = plain_codes(load_rules(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def post() -> None:
            lat, lng = rng.choice(user_points)
            response = await client.post("/open311/v2/requests.json", data={
                "api_key": key, "service_code": rng.choice(codes), "lat": str(lat), "long": str(lng),
                "description": "bench", "email": "r@example.cn"})  # fmt: skip
            assert response.status_code == 200, response.text

        post_samples = await timed(post, runs)
    print(
        f"POST requests.json: p50 {p(post_samples, 0.5):.1f} ms, p90 {p(post_samples, 0.9):.1f} ms (in process, each a new event)"
    )
    database.dispose()


def postgres_plan(file: str, url: str, runs: int, name: str = "fq_bench_open311") -> None:
    """The page query's plan and time on PostgreSQL with the file's events and requests."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.engine import make_url

    from fengqiao.migrate import upgrade

    base = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = base.set(database=name)
    upgrade(target.render_as_string(hide_password=False))
    source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    started = time.perf_counter()
    dsn = target.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        pg.execute("SET session_replication_role = replica")
        pg.execute("SET TimeZone = 'UTC'")
        for table in ("event", "open311_request"):
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            listed = ", ".join(f'"{c}"' for c in columns)
            with pg.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {listed} FROM {table}"):
                    copy.write_row(row)
        pg.commit()
        pg.execute("ANALYZE event")
        pg.execute("ANALYZE open311_request")
        pg.commit()
    print(f"postgresql: copied event and open311_request in {time.perf_counter() - started:.0f} s")
    query = parsing.RequestQuery(
        start=datetime.now(UTC) - timedelta(days=90), end=datetime.now(UTC)
    )
    with Database(f"sqlite:///{file}").session() as db:
        hidden_codes = hidden(load_rules(db))
    compiled = (
        service.list_requests_statement(query, hidden_codes)
        .limit(1000)
        .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    engine = create_engine(target)
    with engine.connect() as connection:
        plan = [r[0] for r in connection.execute(text(f"EXPLAIN ANALYZE {compiled}"))]
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            connection.execute(text(str(compiled))).all()
            samples.append((time.perf_counter() - began) * 1000)
    engine.dispose()
    print(
        "postgresql plan: "
        + " | ".join(line.strip() for line in plan if "->" in line or "Limit" in line)
    )
    print(
        f"postgresql page query (1,000 rows, SQLAlchemy Core, no rendering): p50 {p(samples, 0.5):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="var/bench-open311.db")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", help="also check the page query's plan on this server")
    parser.add_argument(
        "--smoke", action="store_true", help="a small seeded district: checks the script runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(os.path.abspath(args.db), args.requests, args.runs, args.postgres)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-open311-") as tmp:
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # what the CLI writes, not into var/
        print("# smoke mode: one town, 300 events, 30 requests, 3 runs; "
              "the figures below mean nothing")  # fmt: skip
        file = os.path.join(tmp, "open311.db")
        env = {**os.environ, "FENGQIAO_DATABASE_URL": f"sqlite:///{file}"}
        fengqiao = str(Path(sys.executable).with_name("fengqiao"))
        for command in (["db", "upgrade"], ["seed", "--scale", "small", "--events", "300"]):
            subprocess.run([fengqiao, *command], env=env, check=True, capture_output=True)
        postgres = os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        name = f"fq_smoke_open311_{uuid.uuid4().hex[:8]}"
        try:
            run(file, 30, 3, postgres, name)
        finally:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            base = make_url(postgres).set(drivername="postgresql+psycopg")
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def run(
    file: str, requests: int, runs: int, postgres: str | None, name: str = "fq_bench_open311"
) -> None:
    url = f"sqlite:///{file}"
    print(f"bench_open311 {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}")
    database = Database(url)
    with database.session() as db:
        events = db.scalar(select(func.count()).select_from(Event)) or 0
    print(f"events in the file: {events:,}")
    key = file_requests(database, requests, datetime.now(UTC), random.Random(2026))
    database.dispose()
    asyncio.run(http_figures(url, file, runs, key))
    if postgres:
        postgres_plan(file, postgres, runs, name)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
