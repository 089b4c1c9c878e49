"""The province-sized demo on PostgreSQL: `seed --scale zhejiang` (org tree, units, people) and
`--events N`, the table sizes, then at that size the hot reads, each next to a bare limit
measured in the same run.

    .venv/bin/python bench/bench_zhejiang.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--events 200000] [--runs 50] [--db URL] [--keep] [--charts] [--only-charts]
        [--chart-runs N] [--fresh N] [--only-positions] [--smoke]

1. Seed time of the province (11 cities, 90 districts, 1,360 towns, 20,000 villages, 85,000
   grids, ~450,000 users) into a fresh database, and of N events; sizes of the biggest tables
   and their indexes (pg_total_relation_size, pg_indexes_size).
2. `GET /api/v1/events?town=…&size=50` as that town's operator (the busiest town), p50, in
   process (FastAPI TestClient), against the same SQL the app ran, through raw psycopg.
3. `GET /api/v1/events/{id}` (an event's page: the event and its trail), p50, against
   `SELECT` of the event row and its trail rows through raw psycopg.
4. The sweeper's idle tick (`fengqiao.supervision.sweeper.sweep`, nothing due) p50, against its
   three probes through raw psycopg.
5. Point → grid over the 85,000 grids: single `GridIndex.locate` lookups/s in process, against
   the bare vectorised STRtree point-in-polygon query over the same index and points.
6. `--charts`: the 18 charts (`fengqiao.analytics.charts.draw` with the scope the API resolves)
   for the province (zj_leader's home) and its first city, this year to today: each chart's p50
   and the p50 of all 18 one after another (CPU of this process beside it), against the same SQL
   statements replayed through raw psycopg (the bare limit of the rollup reads) and the ratio.
   `--only-charts --db URL` measures only these; `--chart-runs N` sets the runs.
7. The one-map's live layer, `GET /api/v1/positions/latest?minutes=30` (every 30 s on an open
   map), p50 as the province's and a city's operator, after every grid worker sent a position
   yesterday and `--fresh N` of them (default 2,000) one in the last 20 minutes (all removed
   afterwards), against the same SQL through raw psycopg.

`--db URL` measures an already seeded database instead of seeding one (figure 1 then prints the
sizes only). The fresh database is dropped at the end unless `--keep`. `--smoke`: 2 cities x 2
districts, 60 grids, 2,000 events, 5 runs each (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

import fengqiao.models  # noqa: F401  (every table, as the app and the worker load them)
from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.events import default_until
from fengqiao.demo.zhejiang import seed_province
from fengqiao.demo.zhejiang_data import ZHEJIANG, ProvinceSize
from fengqiao.demo.zhejiang_events import seed_province_events
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import Event
from fengqiao.geo.service import GridLocator
from fengqiao.migrate import upgrade
from fengqiao.org.models import OrgUnit
from fengqiao.supervision.sweeper import sweep

SMOKE = ProvinceSize(cities=2, districts_per_city=2, towns=6, villages=20, grids=60)
KEY = "bench-zhejiang-secret-key-0123456789abcdef"
OPEN = "('reported', 'accepted', 'dispatched', 'signed', 'handled', 'self_handled', 'suspended')"
PROBES = [
    f"SELECT id FROM event WHERE status IN {OPEN} AND reminded_at IS NULL AND level >= 2 "
    "AND remind_at <= %s AND status != 'suspended' ORDER BY remind_at LIMIT 500",
    f"SELECT id FROM event WHERE status IN {OPEN} AND overdue_at IS NULL AND due_at <= %s "
    "AND status != 'suspended' ORDER BY due_at LIMIT 500",
    f"SELECT id FROM event WHERE status IN {OPEN} AND escalate_at <= %s "
    "AND status != 'suspended' ORDER BY escalate_at LIMIT 500",
]


def p50_ms(work: Callable[[], Any], runs: int) -> float:
    work()  # warm: statement caches, page cache
    samples, cpu = [], []
    for _ in range(runs):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        cpu.append(time.process_time() - start_cpu)
        samples.append(time.perf_counter() - start)
    CPU[0] = statistics.median(cpu) * 1000
    return statistics.median(samples) * 1000


# The p50 of this process's CPU time (all its threads) in the last `p50_ms`, in ms: unlike the
# wall clock, other work on the machine does not inflate it (the database server's is not in it).
CPU = [0.0]


def percent(stage: str, done: int, total: int) -> None:
    """A simple percentage line on stderr (the CLI shows a rich progress bar instead)."""
    print(f"\r{stage}: {100 * done // max(total, 1):3d} %", end="", file=sys.stderr, flush=True)
    if done >= total:
        print(file=sys.stderr)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seed_figures(url: str, size: ProvinceSize, events: int, jobs: int = 0) -> None:
    upgrade(url)
    database = Database(url)
    cpu = time.process_time()
    report = seed_province(db=database, password="bench-zhejiang-pass", size=size, progress=percent)
    print(
        f"seed --scale zhejiang on PostgreSQL (org, units, people; no events): {report.seconds:.1f} s "
        f"({report.cities} cities, {report.districts} districts, {report.towns:,} towns, "
        f"{report.villages:,} villages, {report.grids:,} grids, {report.users:,} users, "
        f"{report.units:,} units; target ≤ 600 s)"
    )
    print(f"# seed: {time.process_time() - cpu:.1f} s CPU of this process; {load()}")
    cpu = time.process_time()
    if events:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        filed = seed_province_events(
            db=database, count=events, until=default_until(), progress=percent, jobs=jobs or None
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        print(
            f"--events {events:,}: {filed.seconds:.1f} s ({events / filed.seconds:,.0f} events/s, "
            f"{filed.trail_rows:,} trail rows); extrapolated linearly to 12,000,000: "
            f"{12_000_000 / events * filed.seconds / 60:.0f} min (target ≤ 90 min); stages (s): "
            f"{filed.stages}"
        )
        print(
            f"# events: {time.process_time() - cpu:.1f} s CPU of this process, {workers:.1f} s of "
            f"its {filed.jobs} worker processes ({events / max(workers + time.process_time() - cpu, 1e-9):,.0f} "
            f"events per CPU-second of the seed); {load()}"
        )
        bare_figure(url, events, filed.stages)
    database.dispose()


BARE_SAMPLE = 1_000_000  # the bare copy takes at most this many events (and their trails)


def bare_figure(url: str, events: int, stages: dict[str, float]) -> None:
    """The bare limit of the events' writes: PostgreSQL alone copying the finished rows into
    copies of the two tables with every index (INSERT … SELECT, no client, no planning). Above
    `BARE_SAMPLE` events only the first `BARE_SAMPLE` (by id) and their trails are copied and the
    time scaled linearly to all of them (a full copy of a province's year would need as much disk
    again as the tables themselves)."""
    sample = min(events, BARE_SAMPLE)
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("CREATE TABLE bare_event (LIKE event INCLUDING ALL)")
        conn.execute("CREATE TABLE bare_event_log (LIKE event_log INCLUDING ALL)")
        started = time.perf_counter()
        conn.execute("INSERT INTO bare_event SELECT * FROM event WHERE id <= %s", (sample,))
        conn.execute(
            "INSERT INTO bare_event_log SELECT * FROM event_log WHERE event_id <= %s", (sample,)
        )
        bare = (time.perf_counter() - started) * events / sample
        conn.execute("DROP TABLE bare_event, bare_event_log")
    ours = stages.get("events", 0.0) + stages.get("indexes", 0.0)
    scaled = f" ({sample:,} of them copied, scaled linearly)" if sample < events else ""
    print(
        f"bare limit: INSERT … SELECT of the same {events:,} events and their trails into indexed "
        f"copies {bare:.1f} s{scaled}; the seed's events + indexes stages {ours:.1f} s; "
        f"ratio {ours / max(bare, 1e-9):.2f}x; {load()}"
    )


def load() -> str:
    """The load average: other work on the machine's cores slows every wall-clock figure."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def size_figures(url: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
        # A partitioned table's size is the sum of its partitions' (the parent holds no rows).
        rows = conn.execute(
            "SELECT COALESCE(pg_partition_root(c.oid), c.oid)::regclass::text AS name, "
            "sum(pg_total_relation_size(c.oid))::bigint, sum(pg_indexes_size(c.oid))::bigint "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 16"
        ).fetchall()
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        counts = {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            for name, _, _ in rows
        }
    for name, size, indexes in rows:
        print(
            f"table {name}: {counts[name]:,} rows, {size / 1e6:.1f} MB with indexes "
            f"({indexes / 1e6:.1f} MB of indexes)"
        )
    print(f"database: {(total[0] if total else 0) / 1e6:.0f} MB")


def read_figures(url: str, runs: int) -> None:
    database = Database(url)
    with database.session() as db:
        town_id, events = db.execute(
            select(Event.town_id, func.count())
            .group_by(Event.town_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        town_code = db.scalar(select(OrgUnit.code).where(OrgUnit.id == town_id))
        # The province's operator, filtering one town: a town operator's own scope (a path
        # depth) needs the "tree" part of issue 21 for a tree rooted above the district.
        operator = db.scalar(select(User.id).where(User.username == "zj_operator"))
        page_id = db.scalar(
            select(Event.id)
            .where(Event.town_id == town_id)
            .order_by(Event.trail_seq.desc(), Event.id)
            .limit(1)
        )
    assert operator is not None and page_id is not None
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    # No read cache: every request runs its queries (a cached answer would time a dict lookup).
    settings = Settings(
        database_url=url, secret_key=KEY, data_dir=Path(tempfile.mkdtemp()), read_cache_seconds=0
    )
    app = create_app(settings, database=database)
    headers = {"Authorization": f"Bearer {issue_token(user_id=operator, key=KEY, minutes=600)}"}
    params = {"town": str(town_id), "size": "50"}
    with TestClient(app) as client, psycopg.connect(libpq(url), autocommit=True) as raw:

        def listing() -> None:
            response = client.get("/api/v1/events", params=params, headers=headers)
            assert response.status_code == 200, response.text[:500]
            assert len(response.json()["items"]) == min(50, events), response.text[:300]

        def page() -> None:
            response = client.get(f"/api/v1/events/{page_id}", headers=headers)
            assert response.status_code == 200, response.text[:500]

        listed = p50_ms(listing, runs)
        listed_cpu = CPU[0]
        event.listen(database.engine, "before_cursor_execute", capture)
        listing()
        event.remove(database.engine, "before_cursor_execute", capture)
        sql, args = next(
            (s, p) for s, p in statements if re.search(r"\bFROM event\s", s) and "LIMIT" in s
        )
        bare_list = p50_ms(lambda: raw.execute(sql, args).fetchall(), runs)
        print(
            f"GET /api/v1/events?town= town {town_code} ({events:,} events) as zj_operator, 50 items: p50 {listed:.1f} ms "
            f"(target ≤ 50 ms); the same SQL in raw psycopg: p50 {bare_list:.2f} ms; "
            f"ratio {listed / bare_list:.1f}x; app CPU p50 {listed_cpu:.1f} ms"
        )
        paged = p50_ms(page, runs)
        paged_cpu = CPU[0]

        def bare_page() -> None:
            raw.execute("SELECT * FROM event WHERE id = %s", (page_id,)).fetchall()
            raw.execute(
                "SELECT * FROM event_log WHERE event_id = %s ORDER BY seq", (page_id,)
            ).fetchall()

        bare_paged = p50_ms(bare_page, runs)
        print(
            f"GET /api/v1/events/{page_id} (an event's page): p50 {paged:.1f} ms (target ≤ 20 ms); "
            f"its row and trail in raw psycopg: p50 {bare_paged:.2f} ms; "
            f"ratio {paged / bare_paged:.1f}x; app CPU p50 {paged_cpu:.1f} ms"
        )

        now = datetime.now(UTC)
        policy = EscalationPolicy()
        drained = sweep(database, now, policy)  # the history's due work, once
        assert sweep(database, now, policy) == {}
        tick = p50_ms(lambda: sweep(database, now, policy), runs)
        tick_cpu = CPU[0]
        statements.clear()
        event.listen(database.engine, "before_cursor_execute", capture)
        sweep(database, now, policy)
        event.remove(database.engine, "before_cursor_execute", capture)
        ticked = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
        bare_tick = p50_ms(lambda: [raw.execute(s, p).fetchall() for s, p in ticked], runs)
        bare_probes = p50_ms(lambda: [raw.execute(p, (now,)).fetchall() for p in PROBES], runs)
        print(
            f"sweeper tick, nothing due (first tick handled {sum(drained.values()):,} items): "
            f"p50 {tick:.2f} ms (target ≤ 20 ms); its {len(ticked)} SELECT(s) in raw psycopg: "
            f"p50 {bare_tick:.2f} ms; ratio {tick / bare_tick:.1f}x; CPU p50 {tick_cpu:.1f} ms; "
            f"(the three event probes one by one in raw psycopg: p50 {bare_probes:.2f} ms)"
        )
    database.dispose()


def positions_figures(url: str, runs: int, fresh: int) -> None:
    database = Database(url)
    now = datetime.now(UTC)
    with psycopg.connect(libpq(url), autocommit=True) as raw:
        # Every grid worker's history: a position yesterday (a deployment has months of them).
        raw.execute(
            "INSERT INTO position (user_id, at, lat, lng, accuracy, grid_id) "
            "SELECT u.id, %s - interval '1 day' - make_interval(secs => (u.id %% 3600)), "
            "(g.min_lat + g.max_lat) / 2, (g.min_lng + g.max_lng) / 2, 10, g.id "
            "FROM user_account u JOIN org_unit g ON g.id = u.home_org_id AND g.kind = 'grid'",
            (now,),
        )
        # Workers on duty: a position each within the window, at their home grid's centre.
        raw.execute(
            "INSERT INTO position (user_id, at, lat, lng, accuracy, grid_id, district_id) "
            "SELECT u.id, %s - make_interval(secs => (u.id %% 1200)), "
            "(g.min_lat + g.max_lat) / 2, (g.min_lng + g.max_lng) / 2, 10, g.id, "
            "(SELECT t.parent_id FROM org_unit v JOIN org_unit t ON t.id = v.parent_id "
            " WHERE v.id = g.parent_id) "
            "FROM user_account u JOIN org_unit g ON g.id = u.home_org_id AND g.kind = 'grid' "
            "WHERE EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id "
            "AND r.role = 'grid_worker') ORDER BY md5(u.id::text) LIMIT %s",
            (now, fresh),
        )
        raw.execute("ANALYZE position")
    with database.session() as db:
        operators = db.execute(
            select(User.username, User.id, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == User.home_org_id)
            .where(User.username.like("%operator"), OrgUnit.kind.in_(["province", "city"]))
            .order_by(OrgUnit.kind.desc(), OrgUnit.code)
            .limit(2)
        ).all()
    settings = Settings(
        database_url=url, secret_key=KEY, data_dir=Path(tempfile.mkdtemp()), read_cache_seconds=0
    )
    app = create_app(settings, database=database)
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    try:
        with TestClient(app) as client, psycopg.connect(libpq(url), autocommit=True) as raw:
            for username, user_id, home in operators:
                token = issue_token(user_id=user_id, key=KEY, minutes=600)
                headers = {"Authorization": f"Bearer {token}"}
                shown: list[int] = []

                def latest(h: dict[str, str] = headers, out: list[int] = shown) -> None:
                    response = client.get("/api/v1/positions/latest?minutes=30", headers=h)
                    assert response.status_code == 200, response.text[:500]
                    out.append(len(response.json()["features"]))

                took = p50_ms(latest, runs)
                statements.clear()
                event.listen(database.engine, "before_cursor_execute", capture)
                latest()
                event.remove(database.engine, "before_cursor_execute", capture)
                sql, args = next((s, p) for s, p in statements if "FROM user_account" in s)

                def bare_sql(q: str = sql, a: Any = args) -> None:
                    raw.execute(q, a).fetchall()

                bare = p50_ms(bare_sql, runs)
                print(
                    f"GET /api/v1/positions/latest?minutes=30 as {username} ({home}), "
                    f"{shown[-1]:,} workers on the map of {fresh:,} on duty: p50 {took:.1f} ms; "
                    f"its SQL in raw psycopg: p50 {bare:.1f} ms; ratio {took / bare:.1f}x"
                )
    finally:
        with psycopg.connect(libpq(url), autocommit=True) as raw:
            raw.execute("DELETE FROM position WHERE at > %s - interval '3 days'", (now,))
        database.dispose()


def locate_figures(url: str, lookups: int) -> None:
    database = Database(url)
    locator = GridLocator(0)
    with database.session() as db:
        started = time.perf_counter()
        locator.refresh(db)
        built = time.perf_counter() - started
    index = locator.snapshot.index
    min_x, min_y, max_x, max_y = shapely.total_bounds(index.geometries)
    rng = np.random.default_rng(20240601)
    lng, lat = rng.uniform(min_x, max_x, lookups), rng.uniform(min_y, max_y, lookups)
    pairs = list(zip(lng.tolist(), lat.tolist(), strict=True))
    cpu = time.process_time()
    best = min(_seconds(lambda: [index.locate(x, y) for x, y in pairs]) for _ in range(3))
    cpu_each = (time.process_time() - cpu) / 3  # CPU per run: what other load cannot inflate
    points = shapely.points(lng, lat)
    bare = min(_seconds(lambda: index.tree.query(points, predicate="intersects")) for _ in range(3))
    hits = [index.locate(x, y) for x, y in pairs[:2000]]
    positions = index.locate_many(lng[:2000], lat[:2000])
    expected = [int(index.grid_ids[p]) if p >= 0 else None for p in positions.tolist()]
    assert [h.grid_id if h else None for h in hits] == expected, "single and batched disagree"
    print(
        f"point → grid over {len(index):,} grids (index built from the database in {built:.1f} s): "
        f"{lookups / best:,.0f} single lookups/s in process (target ≥ 100,000); bare vectorised "
        f"STRtree point-in-polygon: {lookups / bare:,.0f} points/s; ratio {best / bare:.1f}x; "
        f"by CPU time {lookups / cpu_each:,.0f} single lookups/s; {load()}"
    )
    database.dispose()


def _seconds(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def chart_scopes(db: Any) -> list[Any]:
    """The province (zj_leader's home, as the API resolves it) and its first city."""
    from fengqiao.analytics.service import scope_of

    home = db.scalar(select(User.home_org_id).where(User.username == "zj_leader"))
    province = db.execute(
        select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.path).where(
            OrgUnit.id == home if home is not None else OrgUnit.kind == "province"
        )
    ).first()
    city = db.execute(
        select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.path)
        .where(OrgUnit.kind == "city")
        .order_by(OrgUnit.code)
        .limit(1)
    ).one()
    return [
        scope_of(db, org_id=row.id, kind=row.kind, name=row.name, path=row.path)
        for row in (province, city)
        if row is not None
    ]


def chart_figures(url: str, runs: int) -> None:
    """The 18 charts for the province and a city, as the API draws them (`charts.draw` with
    the scope `resolve_scope` makes): each chart's p50, and the p50 of all 18 drawn one after
    another, against the same SQL replayed through raw psycopg (the rollup reads' bare limit)."""
    from fengqiao.analytics.charts import CHARTS, draw
    from fengqiao.analytics.service import history_start

    database = Database(url)
    local_today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    start, end = date(local_today.year, 1, 1), local_today
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    with database.session() as db, psycopg.connect(libpq(url), autocommit=True) as raw:
        for scope in chart_scopes(db):
            first = history_start(db, scope)

            def one(chart: Any, s: Any = scope, f: Any = first) -> None:
                draw(chart, db=db, scope=s, start=start, end=end, today=local_today,
                     history_start=f)  # fmt: skip

            per_chart = {}
            for chart in CHARTS:

                def single(c: Any = chart) -> None:
                    one(c)

                per_chart[chart.name] = (p50_ms(single, runs), CPU[0])
            print(f"# {scope.level} {scope.name}, {start} to {end}; {load()}")
            for chart in CHARTS:
                ms, cpu = per_chart[chart.name]
                print(f"chart {chart.number:2} {chart.name}: p50 {ms:.1f} ms (CPU {cpu:.1f} ms)")

            def all_18(s: Any = scope) -> None:
                for chart in CHARTS:
                    one(chart, s)

            total = p50_ms(all_18, runs)
            total_cpu = CPU[0]
            statements.clear()
            event.listen(database.engine, "before_cursor_execute", capture)
            all_18()
            event.remove(database.engine, "before_cursor_execute", capture)
            replay = list(statements)

            def bare(replay: list[tuple[str, Any]] = replay) -> None:
                for sql, parameters in replay:
                    raw.execute(sql, parameters).fetchall()

            bare_ms = p50_ms(bare, runs)
            target = 500 if scope.level == "province" else 300
            print(
                f"the 18 charts, {scope.level} {scope.name}: p50 {total:.0f} ms "
                f"(target ≤ {target} ms; app CPU p50 {total_cpu:.0f} ms); their "
                f"{len(replay)} SQL statements in raw psycopg: p50 {bare_ms:.0f} ms; "
                f"ratio {total / bare_ms:.2f}x; {load()}"
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
    parser.add_argument("--db", help="an already seeded province database: measure only")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: the cores)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the fresh database")
    parser.add_argument("--charts", action="store_true", help="also the 18 charts")
    parser.add_argument(
        "--only-charts", action="store_true", help="with --db: the 18 charts and nothing else"
    )
    parser.add_argument("--chart-runs", type=int, default=0, help="runs of each chart's p50")
    parser.add_argument("--fresh", type=int, default=2_000, help="workers on duty, figure 7")
    parser.add_argument(
        "--only-positions", action="store_true", help="with --db: figure 7 and nothing else"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a reduced province: checks the script runs"
    )
    args = parser.parse_args()
    size = ZHEJIANG
    if args.smoke:
        size, args.events, args.runs, args.lookups, args.fresh = SMOKE, 2_000, 5, 20_000, 20
        args.charts = True
        os.environ.setdefault("FENGQIAO_DATA_DIR", tempfile.mkdtemp())
        print(
            "# smoke mode: 2 cities x 2 districts, 60 grids, 2,000 events; the figures below mean nothing"
        )
    if args.db:
        measure(args.db, args)
        return
    base = make_url(args.postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"fq_zj_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        seed_figures(url, size, args.events, args.jobs)
        measure(url, args)
    finally:
        if args.keep:
            print(f"# kept {make_url(url).render_as_string(hide_password=True)}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settle(url: str) -> None:
    """What a deployment's worker does in its first round after the seed: the monthly partitions
    of the seeded history made and its rows moved out of the default partitions (a seed writes a
    year back; the migration made only the months around now). Without it the event page's trail
    read probes a default partition holding the whole history."""
    from fengqiao.partitions.jobs import maintain

    upgrade(url)  # a database seeded by an older checkout gains the later migrations
    database = Database(url)
    started, cpu = time.perf_counter(), time.process_time()
    reports = maintain(database, now=datetime.now(UTC), ahead=3, retention=120)
    database.dispose()
    moved = sum(report.moved for report in reports.values())
    print(
        f"# partitions.maintain after the seed: {time.perf_counter() - started:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU of this process), {moved:,} rows moved "
        f"out of the default partitions; {load()}"
    )


def measure(url: str, args: argparse.Namespace) -> None:
    settle(url)
    print(f"# measuring; {load()}")
    if args.only_charts:
        chart_figures(url, args.chart_runs or max(3, args.runs // 10))
        return
    if args.only_positions:
        positions_figures(url, args.runs, args.fresh)
        return
    size_figures(url)
    read_figures(url, args.runs)
    positions_figures(url, args.runs, args.fresh)
    locate_figures(url, args.lookups)
    if args.charts or args.only_charts:
        chart_figures(url, args.chart_runs or max(3, args.runs // 10))


if __name__ == "__main__":
    main()
