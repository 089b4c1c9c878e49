"""The event list sorted by each of its columns at 1.1 M events (issue 17, item 4): the first page
of `GET /api/v1/events?sort=<key>&size=50` as a district operator and as a town operator, beside
the bare limit (the same page queries run with raw sqlite3).

    .venv/bin/python bench/bench_event_sort.py [--source var/bench-sort-source.db]
        [--db var/bench-sort-1m.db] [--events 1100000] [--requests 50] [--rebuild]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/fq_bench_sort [--skip-sqlite]]
    .venv/bin/python bench/bench_event_sort.py --smoke

The data: a Keqiao district seeded by the CLI (`fengqiao seed --scale keqiao --events 100000`
into `--source`, made when missing; the demo year with trails, rollups and ANALYZE); its rows
copied into a freshly migrated `--db` (so the schema and indexes are the newest whatever the
source's age; rows by INSERT … SELECT of the shared columns); its events then copied again and
again with new ids and codes and times moved earlier (bench/make_big.py's `grow`) until the
table holds `--events`; then ANALYZE. `--db` is reused when it holds the events already
(`--rebuild` makes it again).

The figure: for each sort key in both directions (`-created_at`, `created_at`, `category`, ...,
`urgency`), `--requests` timed requests after 5 untimed ones, on one uvicorn worker with the read
cache off (every request reads the database) opening the file read-only, as
`demo_district_operator` (the whole district) and as the operator of the busiest town. The
limit is the SQL the app sends for that page (every segment query of the sort, captured at the
driver) run with raw sqlite3 on a read-only connection. Prints one line per case (with the plan
of the page's first query), the worst p50 and whether it is within 50 ms, and the machine's load
average before and after: other work on the machine shows in the figures.

With `--postgres`, the same file's district and events are loaded into a new PostgreSQL
database (bench/make_big.py's `to_postgres`: migrations, COPY, ANALYZE) and measured there the
same way, the limit run with psycopg.

`--smoke`: the small district with 300 events grown to 600 in a temporary folder, 3 requests
per case (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_events import check, free_port, p50_p90, read_only, token_for  # noqa: E402
from make_big import grow, to_postgres  # noqa: E402

from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.service import load_principal  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.events import queries  # noqa: E402
from fengqiao.migrate import upgrade  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
DISTRICT_OPERATOR = "demo_district_operator"
TARGET_MS = 50.0
WARM = 5  # untimed requests before the timed ones (fewer in smoke mode)
# Tables the list never reads (bulky ones, rollups, the search index's shadow tables): left
# empty in the measured file.
SKIPPED = ("position", "patrol", "layer_feature", "camera", "rollup_", "service_item_fts")


def seed_source(path: Path, scale: str, events: int) -> None:
    """A district seeded the way `make demo` seeds it, timed."""
    env = dict(
        os.environ,
        FENGQIAO_DATABASE_URL=f"sqlite:///{path}",
        FENGQIAO_LOG_LEVEL="warning",
        FENGQIAO_DATA_DIR=str(path.parent / "bench-sort-data"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"# seeded {path} ({scale}, {events:,} events) in {time.perf_counter() - started:.0f} s")


def copy_rows(source: Path, target: Path) -> None:
    """`target` migrated to the newest schema, then every table's rows of `source` copied in
    (the columns both have; a column the source lacks takes its default)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    upgrade(f"sqlite:///{target}")
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("ATTACH ? AS source", (f"file:{source}?mode=ro",))
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'alembic_version'"
        )
    ]
    # Full-text tables (the search box's, the catalogue's) and their shadow tables are filled by
    # triggers as the rows they index are copied: copying them as well would double them.
    text_tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM main.sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"
        )
    ]
    connection.execute("BEGIN")
    for table in tables:
        if table.startswith(SKIPPED) or any(
            table == name or table.startswith(name + "_") for name in text_tables
        ):
            continue
        have = {row[1] for row in connection.execute(f"PRAGMA source.table_info({table})")}
        names = [row[1] for row in connection.execute(f"PRAGMA main.table_info({table})")]
        shared = ", ".join(f'"{n}"' for n in names if n in have)
        if shared:
            connection.execute(
                f'INSERT INTO main."{table}" ({shared}) SELECT {shared} FROM source."{table}"'
            )
    connection.execute("COMMIT")
    connection.execute("DETACH source")
    connection.close()


def build(source: Path, target: Path, events: int, scale: str, source_events: int) -> None:
    if not source.exists():
        seed_source(source, scale, source_events)
    started = time.perf_counter()
    copy_rows(source, target)
    # The copies go in faster without the event table's indexes, which are then made again
    # (the same definitions, read back from the file).
    connection = sqlite3.connect(target, isolation_level=None)
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'event'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    connection.close()
    grow(target, events)
    connection = sqlite3.connect(target, isolation_level=None)
    for _name, sql in indexes:
        connection.execute(sql)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    print(f"# built {target} ({events:,} events) in {time.perf_counter() - started:.0f} s")


@contextmanager
def served(url: str, key: str) -> Iterator[str]:
    """The app on `url` in one uvicorn worker (uvloop, httptools) with the read cache off, as
    `fengqiao serve` runs it; yields its base URL. Start-up may take long on a busy machine."""
    port = free_port()
    env = dict(
        os.environ,
        FENGQIAO_DATABASE_URL=url,
        FENGQIAO_SECRET_KEY=key,
        FENGQIAO_LOG_LEVEL="warning",
        FENGQIAO_READ_CACHE_SECONDS="0",  # every request reads the database
    )
    args = [sys.executable, "-m", "uvicorn", "fengqiao.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop",
            "--http", "httptools", "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(args, env=env | {"FENGQIAO_DATA_DIR": data}, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"server on {url} did not start") from None
                    time.sleep(0.5)
            yield base
        finally:
            process.terminate()
            process.wait()


def busiest_town_operator(url: str) -> tuple[str, str]:
    """(username, description) of an operator homed at the town with the most events."""
    database = Database(url)
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT town_id, count(*) FROM event GROUP BY town_id ORDER BY 2 DESC")
        ).all()
        for town_id, count in rows:
            found = connection.execute(
                text(
                    "SELECT u.username, o.name FROM user_account u JOIN user_role r"
                    " ON r.user_id = u.id JOIN org_unit o ON o.id = u.home_org_id"
                    " WHERE r.role = 'operator' AND u.home_org_id = :town ORDER BY u.id LIMIT 1"
                ),
                {"town": town_id},
            ).first()
            if found:
                database.dispose()
                return found[0], f"{found[1]} (id {town_id}, {count:,} events)"
    raise SystemExit("no town operator in the district")


def page_sql(url: str, username: str, sort: str) -> list[tuple[str, Any]]:
    """The statements the app sends for the first page of `sort` (one per segment read)."""
    database = Database(url)
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if re.search(r"\bFROM event\b", statement):
            seen.append((statement, parameters))

    with database.session() as db:
        user_id = db.scalar(select(User.id).where(User.username == username))
        principal = load_principal(db=db, user_id=user_id or 0)
        assert principal is not None
        filters = asyncio.run(queries.event_filters())  # a FastAPI dependency
        event.listen(database.engine, "before_cursor_execute", capture)
        queries.page(db, filters, principal, datetime.now(UTC), sort=sort, size=50)
        event.remove(database.engine, "before_cursor_execute", capture)
    database.dispose()
    return seen


def raw_p50(url: str, statements: list[tuple[str, Any]], runs: int) -> tuple[float, str]:
    """The page's statements run on the driver's own connection (sqlite3 or psycopg), and the
    plan of the first."""
    database = Database(url)
    connection = database.engine.raw_connection()
    cursor = connection.cursor()
    samples = []
    warm = min(WARM, runs)
    for index in range(runs + warm):
        started = time.perf_counter()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        if index >= warm:
            samples.append(time.perf_counter() - started)
    statement, parameters = statements[0]
    explain = "EXPLAIN QUERY PLAN" if database.is_sqlite else "EXPLAIN"
    cursor.execute(f"{explain} {statement}", parameters)
    plan = "; ".join(str(r[-1]).strip() for r in cursor.fetchall()[:4])
    connection.close()
    database.dispose()
    return p50_p90(samples)[0], plan


def python_loop_s() -> float:
    """Seconds for a fixed pure-Python loop: how fast this machine runs Python right now (the
    app's time per request is mostly Python, the limit's is SQLite's C code)."""
    started, total = time.perf_counter(), 0
    for number in range(3_000_000):
        total += number
    return time.perf_counter() - started


def figures(url: str, runs: int, label: str) -> None:
    """Each sort's first page through the app on `url`, against its SQL run on the driver."""
    key = secrets.token_urlsafe(32)
    town_user, town = busiest_town_operator(url)
    database = Database(url)
    with database.engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM event")).scalar_one()
    database.dispose()
    warm = min(WARM, runs)
    print(f"# {label}: {total:,} events; district: {DISTRICT_OPERATOR}; town: {town_user}, {town}")
    print(f"# {runs} requests per case after {warm} untimed, read cache off, one uvicorn worker")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# a pure-Python loop of 3 M additions: {python_loop_s():.2f} s (the machine's pace)")
    worst = 0.0
    with served(url, key) as base:
        for who, username in (("district", DISTRICT_OPERATOR), ("town", town_user)):
            token = token_for(url, username, key)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for sort in queries.SORTS:
                    if sort.lstrip("-") == "updated_at":
                        continue  # not a column of the page
                    samples, items = [], 0
                    for index in range(runs + warm):
                        started = time.perf_counter()
                        response = client.get("/api/v1/events", params={"sort": sort, "size": 50})
                        if index >= warm:
                            samples.append(time.perf_counter() - started)
                        items = len(check(response, 200)["items"])
                    p50, p90 = p50_p90(samples)
                    statements = page_sql(url, username, sort)
                    bare, plan = raw_p50(url, statements, runs)
                    worst = max(worst, p50)
                    queries_sent = f"{len(statements)} quer{'y' if len(statements) == 1 else 'ies'}"
                    print(
                        f"{who:8} sort={sort:12} {items} items: p50 {p50:6.1f} ms, "
                        f"p90 {p90:6.1f} ms; same SQL on the driver ({queries_sent}): "
                        f"p50 {bare:6.2f} ms; ratio {p50 / max(bare, 0.001):5.1f}x; plan: {plan}"
                    )
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# a pure-Python loop of 3 M additions: {python_loop_s():.2f} s")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"{label}: worst p50 {worst:.1f} ms: {verdict} the target of p50 ≤ {TARGET_MS:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=ROOT / "var" / "bench-sort-source.db")
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-sort-1m.db")
    parser.add_argument("--events", type=int, default=1_100_000)
    parser.add_argument("--source-events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true", help="make --db again")
    parser.add_argument(
        "--postgres",
        default=None,
        help="also load --db into this new PostgreSQL database and "
        "measure there (postgresql+psycopg://...; the database is dropped and made again)",
    )
    parser.add_argument(
        "--postgres-loaded", action="store_true", help="--postgres holds the events already"
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="only --postgres")
    parser.add_argument(
        "--smoke", action="store_true", help="small district, 600 events, 3 requests per case"
    )
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory(prefix="fq-bench-sort-") as tmp:
            print("# smoke mode: the small district, 600 events; the figures mean nothing")
            source, target = Path(tmp) / "source.db", Path(tmp) / "sorted.db"
            build(source, target, 600, "small", 300)
            figures(read_only(f"sqlite:///{target}"), 3, "SQLite")
        return
    have = 0
    if args.db.exists() and not args.rebuild:
        with sqlite3.connect(f"file:{args.db}?mode=ro", uri=True) as connection:
            have = connection.execute("SELECT count(*) FROM event").fetchone()[0]
    if have < args.events:
        build(args.source, args.db, args.events, "keqiao", args.source_events)
    if not args.skip_sqlite:
        figures(read_only(f"sqlite:///{args.db}"), args.requests, "SQLite")
    if args.postgres:
        if not args.postgres_loaded:
            to_postgres(args.db, args.postgres, rollups=False)
        figures(args.postgres, args.requests, "PostgreSQL")


if __name__ == "__main__":
    main()
