"""Figure of Open311's `servicerequestupdates` (the extension FixMyStreet polls): one day at
Keqiao scale, about 3,000 public updates, beside a bare route in the same run.

    .venv/bin/python bench/bench_open311_updates.py [--db var/bench-open311-updates.db]
        [--events 20000] [--updates 3000] [--runs 50] [--smoke]

Unless the file exists, it is migrated and seeded (`fengqiao seed --scale small --events N`:
the small district with N events of history, so the trail table holds many rows outside the
day). Then `--updates / 2` Open311 requests are filed through the real path
(`open311.service.submit`) at moments spread over yesterday (local day), and each gets a second
public trail row (`accept`, written with Core: the hash chain is not what is measured), so the
day holds `--updates` public updates among the trail rows of every other event.

1. `GET /open311/v2/servicerequestupdates.xml` and `.json` for that day (start_date/end_date, as
   FixMyStreet sends them), in process (httpx's ASGI transport: routing, the Open311 route
   class, the query, events.public's words, rendering; no socket): `--runs` calls after 3
   untimed, p50 and p90.
2. Limit in the same run: a bare FastAPI app whose one route runs the same SQL (captured at the
   driver) with raw sqlite3 and returns the rows as orjson; and that query alone.

`--smoke`: 300 events, 60 updates, 3 runs in a temporary folder (checks the script runs; its
figures mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
from fastapi import FastAPI, Response
from sqlalchemy import Table, func, insert, select
from sqlalchemy import event as sa_event

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.service import create_api_key, load_principal
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.events.models import EventLog
from fengqiao.geo.service import GridLocator
from fengqiao.open311 import parsing, service
from fengqiao.open311.models import Open311Request
from fengqiao.taxonomy.snapshot import load_rules

# The Open311 bench's helpers (points in grids, the classes offered, percentiles, timing).
sys.path.insert(0, str(Path(__file__).resolve().parent))
_open311_bench = importlib.import_module("bench_open311")
grid_points, hidden, p = _open311_bench.grid_points, _open311_bench.hidden, _open311_bench.p
plain_codes, timed = _open311_bench.plain_codes, _open311_bench.timed


def seed_file(file: str, events: int) -> None:
    env = {**os.environ, "FENGQIAO_DATABASE_URL": f"sqlite:///{file}"}
    fengqiao = str(Path(sys.executable).with_name("fengqiao"))
    for command in (["db", "upgrade"], ["seed", "--scale", "small", "--events", str(events)]):
        subprocess.run([fengqiao, *command], env=env, check=True, capture_output=True)


def fill_day(database: Database, updates: int, day_start: datetime, rng: random.Random) -> None:
    """File updates/2 requests over the day, each with a second public row (accept)."""
    log = cast(Table, EventLog.__table__)
    with database.session() as db:
        have = db.scalar(
            select(func.count())
            .select_from(log)
            .join(Open311Request, Open311Request.event_id == log.c.event_id)
            .where(log.c.at >= day_start, log.c.at < day_start + timedelta(days=1))
        )
    if have and have >= updates:
        print(f"public updates of the day already in the file: {have:,}")
        return
    with database.transaction() as db:
        key = create_api_key(db=db, username="demo_device", name="bench").key
        user_id = db.scalar(select(User.id).where(User.username == "demo_device"))
        assert user_id is not None
        principal = load_principal(db=db, user_id=user_id)
        assert principal is not None
        rules = load_rules(db)
        locator = GridLocator(3600)
        locator.refresh(db)
    codes = plain_codes(rules)
    points = grid_points(database, 200, rng)
    moments = sorted(
        day_start + timedelta(seconds=rng.uniform(0, 80_000)) for _ in range(updates // 2)
    )
    started = time.perf_counter()
    for chunk in range(0, len(moments), 100):
        with database.transaction() as db:
            rules = load_rules(db)
            accepts: list[dict[str, Any]] = []
            for at in moments[chunk : chunk + 100]:
                lat, lng = rng.choice(points)
                submission = parsing.read_submission(
                    [("api_key", key), ("service_code", rng.choice(codes)), ("lat", str(lat)),
                     ("long", str(lng)), ("description", "居民通过 Open311 上报")]
                )  # fmt: skip
                event, _public_id, _token = service.submit(
                    db=db, rules=rules, place=locator.locate(lng, lat), principal=principal,
                    submission=submission, hidden=hidden(rules), now=at,
                )  # fmt: skip
                seq = db.scalar(select(func.max(log.c.seq)).where(log.c.event_id == event.id))
                accepts.append({
                    "event_id": event.id, "seq": (seq or 0) + 1,
                    "at": at + timedelta(seconds=rng.uniform(60, 3000)), "actor_id": None,
                    "action": "accept", "from_status": "reported", "to_status": "accepted",
                    "unit_id": None, "note": "", "payload": {}, "prev_hash": "0" * 64,
                    "hash": "0" * 64, "filed_at": event.created_at,
                    "district_id": event.district_id,
                })  # fmt: skip
            db.execute(insert(log), accepts)
    print(
        f"filed {len(moments):,} requests with 2 updates each in {time.perf_counter() - started:.1f} s"
    )


def capture_sql(database: Database, app: FastAPI, path: str) -> tuple[str, Any]:
    captured: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM event_log JOIN open311_request" in sql:
            captured.append((sql, params))

    sa_event.listen(database.engine, "before_cursor_execute", grab)
    try:
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            assert client.get(path).status_code == 200
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", grab)
    return captured[0]


async def figures(file: str, runs: int, day_start: datetime) -> None:
    url = f"sqlite:///{file}"
    settings = Settings(database_url=url, secret_key="bench-key-not-secret-0123456789")
    database = Database(url)
    app = create_app(settings, database=database)
    window = (
        f"start_date={day_start.isoformat().replace('+', '%2B')}"
        f"&end_date={(day_start + timedelta(days=1)).isoformat().replace('+', '%2B')}"
    )
    sql, params = capture_sql(database, app, f"/open311/v2/servicerequestupdates.json?{window}")
    plan = sqlite3.connect(file).execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    print("plan: " + " | ".join(str(row[-1]) for row in plan))
    raw = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False)

    def raw_rows() -> bytes:
        return orjson.dumps(raw.execute(sql, params).fetchall())

    bare = FastAPI()

    @bare.get("/updates.json")
    def bare_route() -> Response:
        return Response(raw_rows(), media_type="application/json")

    identity = {"Accept-Encoding": "identity"}
    fengqiao_p50 = 0.0
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b"
    ) as client:
        for fmt in ("xml", "json"):
            path = f"/open311/v2/servicerequestupdates.{fmt}?{window}"

            async def call(path: str = path) -> None:
                response = await client.get(path, headers=identity)
                assert response.status_code == 200, response.text

            samples = await timed(call, runs)
            body = (await client.get(path, headers=identity)).text
            count = body.count("<request_update>") + body.count('"update_id"')
            print(f"GET servicerequestupdates.{fmt} (one day): {count:,} updates, "
                  f"{len(body.encode()):,} bytes, p50 {p(samples, 0.5):.1f} ms, "
                  f"p90 {p(samples, 0.9):.1f} ms (in process)")  # fmt: skip
            if fmt == "xml":
                fengqiao_p50 = p(samples, 0.5)
    raw_samples = []
    for _ in range(runs):
        began = time.perf_counter()
        raw_rows()
        raw_samples.append((time.perf_counter() - began) * 1000)
    print(f"limit: the same query with raw sqlite3 + orjson: p50 {p(raw_samples, 0.5):.1f} ms")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bare), base_url="http://b"
    ) as client:

        async def bare_call() -> None:
            assert (await client.get("/updates.json", headers=identity)).status_code == 200

        bare_samples = await timed(bare_call, runs)
    bare_p50 = p(bare_samples, 0.5)
    print(f"limit: bare FastAPI route running the raw query: p50 {bare_p50:.1f} ms (in process)")
    print(f"ratio: Fengqiao (XML) / bare FastAPI = {fengqiao_p50 / bare_p50:.1f}x")
    database.dispose()


def run(file: str, events: int, updates: int, runs: int) -> None:
    print(f"bench_open311_updates {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    if not os.path.exists(file):
        started = time.perf_counter()
        seed_file(file, events)
        print(
            f"seeded the small district with {events:,} events in {time.perf_counter() - started:.0f} s"
        )
    yesterday = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    day_start = datetime.combine(yesterday, dtime(), LOCAL_TZ)
    database = Database(f"sqlite:///{file}")
    fill_day(database, updates, day_start, random.Random(2026))
    with database.session() as db:
        rows = db.scalar(select(func.count()).select_from(EventLog))
    print(f"trail rows in the file: {rows:,}")
    database.dispose()
    asyncio.run(figures(file, runs, day_start))
    print(f"load at the end {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="var/bench-open311-updates.db")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="tiny: checks the script runs")
    args = parser.parse_args()
    if not args.smoke:
        Path(args.db).parent.mkdir(parents=True, exist_ok=True)
        run(os.path.abspath(args.db), args.events, args.updates, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-open311-updates-") as tmp:
        os.environ["FENGQIAO_DATA_DIR"] = tmp
        print("# smoke mode: 300 events, 60 updates, 3 runs; the figures below mean nothing")
        run(os.path.join(tmp, "updates.db"), 300, 60, 3)


if __name__ == "__main__":
    main()
