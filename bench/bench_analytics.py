"""Figures of analysis (issue 6): the rollups' size, the 18 charts against GROUP BY over the
events in SQLite and in DuckDB, on PostgreSQL, and what rollup upkeep adds to a workflow step.

    .venv/bin/python bench/bench_analytics.py --db sqlite:///var/bench-an1m.db
        [--from 2025-12-01 --to 2026-11-30] [--runs 7] [--skip-duckdb] [--skip-baseline]
    .venv/bin/python bench/bench_analytics.py --db postgresql://postgres@127.0.0.1/bench10m
    .venv/bin/python bench/bench_analytics.py --transitions 400
    .venv/bin/python bench/bench_analytics.py --smoke

1. Row counts of every rollup table against the events.
2. The 18 charts for the whole district over the range, in process (`draw` + JSON encoding,
   what a request spends in the handler): p50 of each over `--runs` runs after a warm-up, and
   the sum of the p50s ("total server time").
3. The same series by GROUP BY over the events table: raw sqlite3 on the same file (read-only),
   and DuckDB on a copy of the events' columns (loaded once from CSV, not timed) — the same
   queries per chart, p50 each, summed; Fengqiao's ratio to each.
4. `--transitions N`: a fresh Keqiao district; N events filed and taken through accept,
   dispatch, sign (in process, a commit per step as the API does) with the rollups kept, and
   again with rollup upkeep switched off; the ratio is what upkeep adds to a step.

`--smoke`: all of the above on a small district (one town, 400 events) seeded in a temporary
folder, one run each, 9 events stepped (checks the script runs; its figures mean nothing).

One line per figure.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from fengqiao.analytics.charts import CHARTS, draw
from fengqiao.analytics.query import Scope
from fengqiao.analytics.rollups import row_counts
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


CPU: dict[str, float] = {}  # p50 of the thread's CPU time of the last `timed` call, by label


WARM_UP = [True]


def timed(work: Callable[[], Any], runs: int, label: str = "") -> list[float]:
    """Wall-clock samples in ms after a warm-up; the CPU p50 lands in CPU[label] (the thread's
    own CPU time, which other processes on a busy machine do not inflate)."""
    if WARM_UP[0]:
        work()  # statement caches, page cache
    samples, cpu = [], []
    for _ in range(runs):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.thread_time()
        work()
        cpu.append((time.thread_time() - started_cpu) * 1000)
        samples.append((time.perf_counter() - started) * 1000)
    CPU[label] = p50(cpu)
    return samples


def district(database: Database) -> Scope:
    with database.session() as db:
        row = db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "district")).one()
    return Scope("district", row.id, row.name)


def sizes(database: Database) -> int:
    with database.engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(Event)).scalar_one()
        counts = row_counts(connection)
    print(f"events: {events:,}")
    for name, rows in counts.items():
        ratio = f"{events / rows:.1f}x fewer rows" if rows else "empty"
        print(f"rollup_{name}: {rows:,} rows ({ratio})")
    print(f"all rollups: {sum(counts.values()):,} rows")
    return int(events)


def chart_figures(
    database: Database, start: date, end: date, runs: int, today: date
) -> dict[str, float]:
    scope = district(database)
    results = {}
    with database.session() as db:
        for chart in CHARTS:

            def work(chart: Any = chart) -> None:
                orjson.dumps(draw(chart, db=db, scope=scope, start=start, end=end, today=today))

            results[chart.name] = p50(timed(work, runs, chart.name))
            print(
                f"chart {chart.number:2} {chart.name}: p50 {results[chart.name]:.2f} ms "
                f"(CPU {CPU[chart.name]:.2f} ms)"
            )
    total = sum(results.values())
    cpu = sum(CPU[c.name] for c in CHARTS)
    print(
        f"18 charts, district, {start}..{end}: total {total:.1f} ms (sum of p50s), CPU {cpu:.1f} ms"
    )
    return results


# --- the same series by GROUP BY over the events ------------------------------------------

# Per dialect: the local day, month, weekday-hour of a UTC timestamp, and seconds between two.
DIALECTS = {
    "sqlite": {
        "month": "strftime('%Y-%m', {0}, '+8 hours')",
        "how": "strftime('%w %H', {0}, '+8 hours')",
        "secs": "((julianday({1}) - julianday({0})) * 86400.0)",
    },
    "duckdb": {
        "month": "strftime({0} + INTERVAL 8 HOUR, '%Y-%m')",
        "how": "strftime({0} + INTERVAL 8 HOUR, '%w %H')",
        "secs": "epoch({1} - {0})",
    },
}
# Chart → the queries that give its series ({R}: filed in the range, {C}: closed in the range,
# {Y}/{M}: filed in the year-before / period-before range).
BASELINE: dict[str, list[str]] = {
    "daily_new_closed": [
        "SELECT {month(created_at)} m, count(*) FROM event WHERE {R} GROUP BY m",
        "SELECT {month(closed_at)} m, count(*) FROM event WHERE {C} GROUP BY m",
        "SELECT count(*), 0 FROM event WHERE {Y}",
        "SELECT count(*) FROM event WHERE {M}",
        "SELECT count(*) FROM event WHERE {CY}",
        "SELECT count(*) FROM event WHERE {CM}",
    ],
    "handling_status": [
        "SELECT status, overdue_at IS NOT NULL, count(*) FROM event WHERE {R} GROUP BY 1, 2"
    ],
    "levels": ["SELECT level, count(*) FROM event WHERE {R} GROUP BY level"],
    "major_classes": [
        "SELECT major_code, count(*), sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) "
        "FROM event WHERE {R} GROUP BY major_code"
    ],
    "top_minor_classes": [
        "SELECT category_code, count(*) n FROM event WHERE {R} GROUP BY category_code "
        "ORDER BY n DESC LIMIT 10"
    ],
    "sources": ["SELECT source, count(*) FROM event WHERE {R} GROUP BY source"],
    "hour_weekday": ["SELECT {how(created_at)} h, count(*) FROM event WHERE {R} GROUP BY h"],
    "grid_map": [
        "SELECT grid_id, count(*), sum(CASE WHEN overdue_at IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM event WHERE {R} GROUP BY grid_id"
    ],
    "areas_ranked": [
        "SELECT town_id, count(*), sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) "
        "FROM event WHERE {R} GROUP BY town_id"
    ],
    "handling_time": [
        "SELECT sum(CASE WHEN s <= 14400 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN s > 14400 AND s <= 86400 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN s > 86400 AND s <= 259200 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN s > 259200 AND s <= 604800 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN s > 604800 THEN 1 ELSE 0 END), count(*), sum(s) FROM "
        "(SELECT {secs(created_at, closed_at)} - paused_seconds s FROM event WHERE {C}) t"
    ],
    "on_time_trend": [
        "SELECT {month(closed_at)} m, count(*), "
        "sum(CASE WHEN due_at IS NULL OR closed_at <= due_at THEN 1 ELSE 0 END) "
        "FROM event WHERE {C} GROUP BY m",
        "SELECT count(*), sum(CASE WHEN due_at IS NULL OR closed_at <= due_at THEN 1 ELSE 0 END) "
        "FROM event WHERE {CY}",
        "SELECT count(*), sum(CASE WHEN due_at IS NULL OR closed_at <= due_at THEN 1 ELSE 0 END) "
        "FROM event WHERE {CM}",
    ],
    "overdue_by_place_unit": [
        "SELECT town_id, count(*) FROM event WHERE {R} AND overdue_at IS NOT NULL GROUP BY town_id",
        "SELECT owner_unit_id, count(*) n FROM event WHERE {R} AND overdue_at IS NOT NULL "
        "AND owner_unit_id IS NOT NULL GROUP BY owner_unit_id ORDER BY n DESC LIMIT 15",
    ],
    "units_volume_time": [
        "SELECT owner_unit_id, sum(CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'closed' THEN {secs(created_at, closed_at)} - paused_seconds "
        "ELSE 0 END) FROM event WHERE {R} GROUP BY owner_unit_id"
    ],
    "platforms": [
        "SELECT platform, count(*), sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'closed' AND (due_at IS NULL OR closed_at <= due_at) THEN 1 "
        "ELSE 0 END) FROM event WHERE {R} GROUP BY platform"
    ],
    "worker_activity": [
        "SELECT {month(created_at)} m, count(*), count(DISTINCT reporter_id) FROM event "
        "WHERE {R} AND source = 'grid_worker' GROUP BY m",
        "SELECT reporter_id, count(*) FROM event WHERE {R} AND source = 'grid_worker' "
        "GROUP BY reporter_id",
        "SELECT count(*) FROM event WHERE {Y}",
        "SELECT count(*) FROM event WHERE {M}",
    ],
    "class_changes": [
        "SELECT major_code, count(*) FROM event WHERE {R} GROUP BY major_code",
        "SELECT major_code, count(*) FROM event WHERE {Y} GROUP BY major_code",
        "SELECT major_code, count(*) FROM event WHERE {M} GROUP BY major_code",
    ],
    "return_rework": [
        "SELECT {month(created_at)} m, sum(CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END), "
        "sum(CASE WHEN return_count > 0 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN rework_count > 0 THEN 1 ELSE 0 END) FROM event WHERE {R} GROUP BY m",
        "SELECT count(*) FROM event WHERE {Y}",
        "SELECT count(*) FROM event WHERE {M}",
    ],
    "satisfaction_verification": [
        "SELECT satisfaction, count(*), sum(rework_count) FROM event WHERE {R} "
        "AND status = 'closed' GROUP BY satisfaction",
        "SELECT sum(rework_count), sum(CASE WHEN dispatched_at IS NULL AND status = 'closed' "
        "THEN 1 ELSE 0 END) FROM event WHERE {R}",
    ],
}


def utc_text(day: date) -> str:
    """Local midnight of `day` as the UTC text SQLite stores (and DuckDB reads as TIMESTAMP)."""
    at = datetime.combine(day, dtime(), tzinfo=LOCAL_TZ).astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S")


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def baseline_sql(dialect: str, start: date, end: date) -> dict[str, list[str]]:
    words = DIALECTS[dialect]
    length = (end - start).days + 1

    def between(column: str, low: date, high: date) -> str:
        cast = "TIMESTAMP " if dialect == "duckdb" else ""
        return (
            f"{column} >= {cast}'{utc_text(low)}' AND "
            f"{column} < {cast}'{utc_text(high + timedelta(days=1))}'"
        )

    ranges = {
        "R": between("created_at", start, end),
        "C": "status = 'closed' AND " + between("closed_at", start, end),
        "Y": between("created_at", year_before(start), year_before(end)),
        "M": between("created_at", start - timedelta(days=length), start - timedelta(days=1)),
        "CY": "status = 'closed' AND " + between("closed_at", year_before(start), year_before(end)),
        "CM": "status = 'closed' AND "
        + between("closed_at", start - timedelta(days=length), start - timedelta(days=1)),
    }
    out: dict[str, list[str]] = {}
    for name, queries in BASELINE.items():
        texts = []
        for query in queries:
            text = query
            for word, template in words.items():
                while "{" + word + "(" in text:
                    head, rest = text.split("{" + word + "(", 1)
                    args, tail = rest.split(")}", 1)
                    text = head + template.format(*[a.strip() for a in args.split(",")]) + tail
            for key, clause in ranges.items():
                text = text.replace("{" + key + "}", f"({clause})")
            texts.append(text)
        out[name] = texts
    return out


def baseline_figures(
    label: str, run: Callable[[str], Any], queries: dict[str, list[str]], runs: int
) -> dict[str, float]:
    results = {}
    for name, texts in queries.items():

        def work(texts: list[str] = texts) -> None:
            for text in texts:
                run(text)

        results[name] = p50(timed(work, runs, f"{label} {name}"))
        print(
            f"{label} {name}: p50 {results[name]:.2f} ms (CPU of this thread {CPU[f'{label} {name}']:.2f} ms)"
        )
    print(f"{label}, the same 18 charts: total {sum(results.values()):.1f} ms (sum of p50s)")
    return results


def sqlite_baseline(url: str, start: date, end: date, runs: int) -> dict[str, float]:
    path = url.split("sqlite:///", 1)[1]
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.execute("PRAGMA cache_size = -1000000")  # 1 GB: the events stay in memory

    def run(text: str) -> Any:
        return connection.execute(text).fetchall()

    try:
        return baseline_figures("sqlite GROUP BY", run, baseline_sql("sqlite", start, end), runs)
    finally:
        connection.close()


COLUMNS = (
    "id", "created_at", "closed_at", "due_at", "overdue_at", "dispatched_at", "status", "town_id",
    "grid_id", "category_code", "major_code", "platform", "level", "source", "reporter_id",
    "owner_unit_id", "paused_seconds", "return_count", "rework_count", "satisfaction",
)  # fmt: skip


def duckdb_baseline(url: str, start: date, end: date, runs: int) -> dict[str, float]:
    import duckdb

    path = Path(url.split("sqlite:///", 1)[1])
    store = path.with_suffix(".duckdb")
    if not store.exists():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "event.csv"
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            with dump.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                cursor = source.execute(f"SELECT {', '.join(COLUMNS)} FROM event")
                while rows := cursor.fetchmany(100000):
                    writer.writerows(rows)
            source.close()
            loader = duckdb.connect(str(store))
            loader.execute(
                f"CREATE TABLE event AS SELECT * FROM read_csv('{dump}', header = true, "
                "types = {'created_at': 'TIMESTAMP', 'closed_at': 'TIMESTAMP', "
                "'due_at': 'TIMESTAMP', 'overdue_at': 'TIMESTAMP', 'dispatched_at': 'TIMESTAMP', "
                "'category_code': 'VARCHAR', 'major_code': 'VARCHAR'})"
            )
            loader.close()
        print(
            f"duckdb: loaded the events' columns into {store} in {time.perf_counter() - started:.0f} s"
        )
    connection = duckdb.connect(str(store), read_only=True)
    threads = connection.execute("SELECT current_setting('threads')").fetchone()

    def run(text: str) -> Any:
        return connection.execute(text).fetchall()

    try:
        print(f"duckdb {duckdb.__version__}, {threads[0] if threads else '?'} threads")
        return baseline_figures("duckdb GROUP BY", run, baseline_sql("duckdb", start, end), runs)
    finally:
        connection.close()


# --- rollup upkeep in a workflow step -------------------------------------------------------


UPKEEP: dict[str, list[float]] = {}
WORKER: dict[str, list[float]] = {"cpu": [], "changes": []}
CURRENT_STEP = [""]


def transition_figures(count: int, district: Path | None = None) -> None:
    """Accept, dispatch and sign events with rollup upkeep and without, in alternating rounds;
    times are the thread's CPU time (`time.thread_time`), which another busy process on the
    machine does not inflate. Upkeep is also timed inside the steps that keep it. On a fresh
    Keqiao district, or on a copy of the SQLite file `district` (the smoke mode's)."""
    # Filing and the steps call `changes.queue_change` through the module: one patch times both.
    from fengqiao.events import changes as event_changes

    work = Path(tempfile.mkdtemp(prefix="fq-bench-analytics-"))
    try:
        url = f"sqlite:///{work / 'steps.db'}"
        if district is None:
            for command in (["db", "upgrade"], ["seed", "--scale", "keqiao"]):
                subprocess.run([FENGQIAO, *command], env=_env(url), check=True, capture_output=True)
        else:
            with sqlite3.connect(district) as source, sqlite3.connect(work / "steps.db") as copy:
                source.backup(copy)
        database = Database(url)
        original = event_changes.queue_change

        def timed_upkeep(*args: Any, **kwargs: Any) -> None:
            started = time.thread_time()
            original(*args, **kwargs)
            UPKEEP.setdefault(CURRENT_STEP[0], []).append((time.thread_time() - started) * 1000)

        kept: dict[str, list[float]] = {}
        bare: dict[str, list[float]] = {}
        for round_ in range(6):  # alternate, so the machine's moods fall on both sides alike
            upkeep = round_ % 2 == 0
            setattr(  # noqa: B010 (swapped for the measurement and put back below)
                event_changes, "queue_change", timed_upkeep if upkeep else (lambda *a, **k: None)
            )
            try:
                timings = _steps(database, count // 3, f"r{round_}", worker=upkeep)
            finally:
                setattr(event_changes, "queue_change", original)  # noqa: B010
            for step, samples in timings.items():
                (kept if upkeep else bare).setdefault(step, []).extend(samples)
        worker = WORKER.get("changes", [0.0])
        print(
            f"the rollups job: {sum(WORKER['cpu']):.1f} ms CPU for {sum(worker):.0f} queued "
            f"changes = {sum(WORKER['cpu']) / max(sum(worker), 1):.3f} ms a change"
        )
        for step in ("file", "accept", "dispatch", "sign"):
            with_cpu, without_cpu = statistics.mean(kept[step]), statistics.mean(bare[step])
            inside = statistics.mean(UPKEEP.get(step, [0.0]))
            print(
                f"{step}: mean CPU {with_cpu:.3f} ms with upkeep, {without_cpu:.3f} ms without "
                f"(+{(with_cpu / without_cpu - 1) * 100:.1f} %); upkeep inside the step "
                f"{inside:.3f} ms = {inside / (with_cpu - inside) * 100:.1f} % of the rest"
            )
        steps = ("accept", "dispatch", "sign")
        with_all = sum(statistics.mean(kept[s]) for s in steps)
        without_all = sum(statistics.mean(bare[s]) for s in steps)
        inside_all = sum(statistics.mean(UPKEEP.get(s, [0.0])) for s in steps)
        per_change = sum(WORKER["cpu"]) / max(sum(WORKER["changes"]), 1)
        print(
            f"a transition with its share of the worker's round: "
            f"{with_all / 3 + per_change:.3f} ms CPU against {without_all / 3:.3f} ms: "
            f"+{((with_all / 3 + per_change) / (without_all / 3) - 1) * 100:.1f} %"
        )
        print(
            f"a transition (accept, dispatch, sign averaged): {with_all / 3:.3f} ms CPU with "
            f"upkeep, {without_all / 3:.3f} ms without (+{(with_all / without_all - 1) * 100:.1f} %);"
            f" upkeep measured inside: {inside_all / 3:.3f} ms = "
            f"{inside_all / (with_all - inside_all) * 100:.1f} % of the rest of the step"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "FENGQIAO_DATABASE_URL": url}


def _worker_round(database: Database) -> None:
    """The worker's `rollups` job over what the last phase queued (timed, CPU)."""
    from fengqiao.analytics.rollups import apply_pending

    started = time.thread_time()
    report = apply_pending(database)
    WORKER["cpu"].append((time.thread_time() - started) * 1000)
    WORKER["changes"].append(report.events)


def _steps(database: Database, count: int, label: str, *, worker: bool) -> dict[str, list[float]]:
    """File `count` events as grid workers and take each through accept, dispatch, sign; with
    `worker`, the rollups job runs after each phase, as it would between steps hours apart."""
    from fengqiao.auth.service import load_principal
    from fengqiao.errors import Problem
    from fengqiao.events.filing import create_event
    from fengqiao.events.schemas import EventCreate, TransitionIn
    from fengqiao.events.steps import transition
    from fengqiao.geo.service import GridLocator
    from fengqiao.taxonomy.snapshot import load_rules

    timings: dict[str, list[float]] = {"file": [], "accept": [], "dispatch": [], "sign": []}
    with database.session() as db:
        rules = load_rules(db)
        locator = GridLocator(0)
        locator.refresh(db)
        rows = db.execute(
            select(OrgUnit.id, OrgUnit.min_lat, OrgUnit.min_lng, OrgUnit.max_lat, OrgUnit.max_lng)
            .where(OrgUnit.kind == "grid")
            .order_by(OrgUnit.id)
        ).all()
        from fengqiao.auth.models import GridAssignment, User, UserRole

        workers = dict(db.execute(select(GridAssignment.grid_id, GridAssignment.user_id)).all())
        operators = {
            path.split("/")[2]: user_id
            for user_id, path in db.execute(
                select(User.id, OrgUnit.path)
                .join(UserRole, UserRole.user_id == User.id)
                .join(OrgUnit, OrgUnit.id == User.home_org_id)
                .where(UserRole.role == "operator", OrgUnit.kind == "town")
            )
        }
    now = datetime.now(UTC)
    category = "0301"
    filed: list[tuple[int, str]] = []
    principals: dict[int, Any] = {}

    def principal(user_id: int) -> Any:
        if user_id not in principals:
            with database.session() as db:
                principals[user_id] = load_principal(db=db, user_id=user_id)
        return principals[user_id]

    for i in range(count):
        grid = rows[(i * 37) % len(rows)]
        try:
            place = locator.locate(
                (grid.min_lng + grid.max_lng) / 2, (grid.min_lat + grid.max_lat) / 2
            )
        except Problem:  # the middle of the box lies outside a concave grid
            continue
        if place.grid_id not in workers:
            continue
        CURRENT_STEP[0] = "file"
        started = time.thread_time()
        with database.transaction() as db:
            event, _ = create_event(
                db=db, rules=rules, place=place, principal=principal(workers[place.grid_id]),
                data=EventCreate(source="grid_worker", category=category, lat=place.lat,
                                 lng=place.lng, description=f"bench {label} {i}"),
                now=now,
            )  # fmt: skip
            filed.append((event.id, str(place.town_id)))
        timings["file"].append((time.thread_time() - started) * 1000)
    if worker:
        _worker_round(database)
    for step in ("accept", "dispatch"):
        for event_id, town in filed:
            operator = principal(operators[town])
            CURRENT_STEP[0] = step
            started = time.thread_time()
            with database.transaction() as db:
                version = db.get(Event, event_id).version  # type: ignore[union-attr]
                transition(db=db, rules=rules, principal=operator, event_id=event_id,
                           data=TransitionIn(action=step, version=version), now=now)  # fmt: skip
            timings[step].append((time.thread_time() - started) * 1000)
        if worker:
            _worker_round(database)
    for event_id, _ in filed:
        with database.session() as db:
            found = db.get(Event, event_id)
            assert found is not None
            unit, version = found.owner_unit_id, found.version
            handler = db.scalar(select(User.id).where(User.unit_id == unit).limit(1))
        if handler is None:
            continue
        CURRENT_STEP[0] = "sign"
        started = time.thread_time()
        with database.transaction() as db:
            transition(db=db, rules=rules, principal=principal(handler), event_id=event_id,
                       data=TransitionIn(action="sign", version=version), now=now)  # fmt: skip
        timings["sign"].append((time.thread_time() - started) * 1000)
    if worker:
        _worker_round(database)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a seeded database (see docs/benchmarks.md)")
    parser.add_argument("--from", dest="start", default=None)
    parser.add_argument("--to", dest="end", default=None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--baseline-runs", type=int, default=3, help="GROUP BY over the events takes seconds"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--no-baseline-warm-up",
        action="store_true",
        help="time the GROUP BYs from their first run (at 10 M events each takes minutes)",
    )
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--transitions", type=int, default=0)
    parser.add_argument(
        "--smoke", action="store_true", help="a small seeded district: checks the script runs"
    )
    args = parser.parse_args()
    print(f"bench_analytics {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if not args.smoke:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-analytics-") as tmp:
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # what the CLI writes, not into var/
        print("# smoke mode: one town, 400 events, one run each; the figures below mean nothing")
        args.db = f"sqlite:///{tmp}/analytics.db"
        for command in (["db", "upgrade"], ["seed", "--scale", "small", "--events", "400"]):
            subprocess.run([FENGQIAO, *command], env=_env(args.db), check=True, capture_output=True)
        args.runs = args.baseline_runs = 1
        args.transitions = 9
        run(args, district=Path(tmp) / "analytics.db")


def run(args: argparse.Namespace, district: Path | None = None) -> None:
    if args.db:
        database = Database(args.db)
        sizes(database)
        with database.session() as db:
            last = db.scalar(select(func.max(Event.created_at)))
        assert last is not None
        # The seed's last day is its "today": nothing is filed or closed after it.
        today = last.astimezone(LOCAL_TZ).date()
        end = date.fromisoformat(args.end) if args.end else today
        start = date.fromisoformat(args.start) if args.start else end - timedelta(days=364)
        ours = chart_figures(database, start, end, args.runs, today)
        total = sum(ours.values())
        WARM_UP[0] = not args.no_baseline_warm_up
        if not args.skip_baseline and database.is_sqlite:
            raw = sqlite_baseline(args.db, start, end, args.baseline_runs)
            print(f"ratio: SQLite GROUP BY / Fengqiao = {sum(raw.values()) / total:.1f}x")
            if not args.skip_duckdb:
                duck = duckdb_baseline(args.db, start, end, args.baseline_runs)
                print(f"ratio: DuckDB GROUP BY / Fengqiao = {sum(duck.values()) / total:.1f}x")
    if args.transitions:
        transition_figures(args.transitions, district)


if __name__ == "__main__":
    main()
