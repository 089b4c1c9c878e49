"""Place search (GET /api/v1/search's work) over the Keqiao district's names and 100,000 event
addresses, on SQLite and PostgreSQL, next to the bare limit measured in the same run.

    .venv/bin/python bench/bench_search.py [--events 100000] [--rounds 200] [--postgres URL]
        [--smoke]

A migrated SQLite file gets `fengqiao seed --scale keqiao --events 10000` (the CLI), and its
events are copied with new ids and codes (bench/make_big.py's `grow`: `INSERT … SELECT`, which
the search index's triggers follow) up to `--events`; PostgreSQL gets the same rows by COPY into
a migrated throwaway database (make_big's `to_postgres`, then the map points). Each query of
QUERIES (names of towns, villages, grids, places and units, codes, event addresses and codes, one
and two characters) then runs `--rounds` times through `fengqiao.search.service.search` as the
district operator (every kind, 5 per kind, ranked, events unscoped: the most work) and through
the bare limit: one raw driver query (sqlite3 / psycopg) per searched table straight on its
index (FTS5 MATCH / ILIKE served by pg_trgm), LIMIT 5, no ranking, join or scope. Printed: p50
and p95 over all queries, p50 per query group, the bare p50 and the ratio.

`--smoke`: the small district, 300 events grown to 600, 3 rounds (checks the script runs; its
figures mean nothing). `--postgres` defaults to FENGQIAO_TEST_POSTGRES_URL's server; the
database it names is not touched, a new one is made and dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from make_big import columns, grow, to_postgres  # noqa: E402

from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.service import load_principal  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.search import service  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
TARGET_MS = 20.0
ROAD = re.compile(r"(?:社区|村)(\S+?(?:路|大道|街))")
# Searched tables and columns, as the bare limit reads them.
BARE_SQLITE = ("org_unit_fts", "unit_fts", "place_fts", "camera_fts", "event_fts")
BARE_POSTGRES = (
    ("org_unit", "name", "true"), ("org_unit", "code", "true"), ("unit", "name", "true"),
    ("layer_feature", "name", "kind <> 'camera'"),
    ("layer_feature", "props->>'address'", "kind <> 'camera'"),
    ("layer_feature", "name", "kind = 'camera'"), ("layer_feature", "code", "kind = 'camera'"),
    ("event", "address", "true"),
)  # fmt: skip


def queries(database: Database) -> dict[str, list[str]]:
    """What people type, drawn from the district itself."""
    with database.session() as db:

        def some(sql: str) -> list[str]:
            return [str(v) for v in db.scalars(text(sql))]

        villages = some("SELECT name FROM org_unit WHERE kind = 'village' ORDER BY code LIMIT 3")
        grid_codes = some("SELECT code FROM org_unit WHERE kind = 'grid' ORDER BY code LIMIT 2")
        cameras = some("SELECT code FROM layer_feature WHERE kind = 'camera' ORDER BY id LIMIT 1")
        addresses = some("SELECT address FROM event WHERE address <> '' ORDER BY id LIMIT 400")
        codes = some("SELECT code FROM event ORDER BY id DESC LIMIT 1")
    roads = sorted({m.group(1) for a in addresses if (m := ROAD.search(a))})[:4]
    return {
        "names": ["柯桥街道", "柯岩", "中医医院", "轻纺城", "柯桥中学", *villages],
        "codes": [*grid_codes, *(c[:12] for c in cameras), *codes],
        "addresses": roads or ["路"],
        "1-2 characters": ["柯", "医院", "华舍", "湖"],
    }


def p50_ms(run: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(3):
        run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench(url: str, rounds: int, bare: Callable[[str], object]) -> None:
    database = Database(url)
    backend = "SQLite" if database.is_sqlite else "PostgreSQL"
    groups = queries(database)
    with database.session() as db:
        user = db.scalars(select(User).where(User.username == "demo_district_operator")).one()
        principal = load_principal(db=db, user_id=user.id)
        assert principal is not None
        events = db.scalar(text("SELECT count(*) FROM event"))
        names = db.scalar(
            text(
                "SELECT (SELECT count(*) FROM org_unit) + (SELECT count(*) FROM unit) + (SELECT count(*) FROM layer_feature)"
            )
        )
        every: list[float] = []
        every_bare: list[float] = []
        for group, texts in groups.items():
            ours: list[float] = []
            limit: list[float] = []
            for q in texts:
                ours += p50_ms(lambda q=q: service.search(db=db, principal=principal, q=q), rounds)  # type: ignore[misc]
                limit += p50_ms(lambda q=q: bare(q), rounds)  # type: ignore[misc]
            every += ours
            every_bare += limit
            mode = service.parse(texts[0], postgres=not database.is_sqlite).mode
            print(
                f"{backend} {group} ({mode}, {len(texts)} queries): search p50 "
                f"{statistics.median(ours):.2f} ms, bare p50 {statistics.median(limit):.2f} ms"
            )
    mine, base = statistics.median(every), statistics.median(every_bare)
    p95 = statistics.quantiles(every, n=20)[18] if len(every) >= 20 else max(every)
    print(
        f"{backend}, {names:,} names and {events:,} events: place search p50 {mine:.2f} ms "
        f"(p95 {p95:.2f} ms, target {TARGET_MS:.0f} ms), bare index queries p50 {base:.2f} ms, "
        f"ratio {mine / base:.1f}x"
    )
    database.dispose()


def build_sqlite(path: Path, scale: str, seeded: int, events: int) -> None:
    env = {**os.environ, "FENGQIAO_DATABASE_URL": f"sqlite:///{path}",
           "FENGQIAO_DATA_DIR": str(path.parent)}  # fmt: skip
    for command in (["db", "upgrade"], ["seed", "--scale", scale, "--events", str(seeded)]):
        subprocess.run([FENGQIAO, *command], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    grow(path, events)
    print(f"sqlite: {events:,} events in {time.perf_counter() - started:.0f} s", flush=True)


def copy_points(source: Path, dsn: str) -> None:
    """The map points (places, cameras) and camera statuses, which make_big leaves out."""
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    with psycopg.connect(dsn) as pg:
        for table in ("layer_feature", "camera"):
            names = columns(lite, table)
            quoted = ", ".join(f'"{n}"' for n in names)
            with pg.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in lite.execute(f"SELECT {quoted} FROM {table}"):
                    copy.write_row(row)
        pg.execute("ANALYZE")
    lite.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    args = parser.parse_args()
    scale, seeded = "keqiao", min(10_000, args.events)
    if args.smoke:
        scale, seeded, args.events, args.rounds = "small", 300, 600, 3
        print("# smoke mode: the small district, 600 events, 3 rounds; the figures mean nothing")
    load = os.getloadavg()
    print(f"# load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="fq-bench-search-") as tmp:
        path = Path(tmp) / "search.db"
        build_sqlite(path, scale, seeded, args.events)
        raw = sqlite3.connect(path)

        def sqlite_codes(q: str) -> object:
            code = q.upper()
            return raw.execute(
                "SELECT id FROM event WHERE code >= ? AND code < ? LIMIT 5",
                (code, code + "\U0010ffff"),
            ).fetchall()

        def sqlite_bare(q: str) -> object:
            phrase = '"' + q.replace('"', '""') + '"'
            found = [
                raw.execute(
                    f"SELECT rowid FROM {t} WHERE {t} MATCH ? LIMIT 5", (phrase,)
                ).fetchall()
                for t in BARE_SQLITE
            ]
            return [sqlite_codes(q), *found]

        def sqlite_prefix(q: str) -> object:
            return [sqlite_codes(q)] + [
                raw.execute(
                    f"SELECT id FROM {t} WHERE name >= ? AND name < ? LIMIT 5",
                    (q, q + "\U0010ffff"),
                ).fetchall()
                for t in ("org_unit", "unit", "layer_feature")
            ]

        bench(
            f"sqlite:///{path}", args.rounds,
            lambda q: sqlite_bare(q) if len(q) >= 3 else sqlite_prefix(q),
        )  # fmt: skip
        raw.close()

        server = make_url(args.postgres).set(drivername="postgresql+psycopg")
        target = server.set(database=f"fq_bench_search_{uuid.uuid4().hex[:8]}")
        rendered = target.render_as_string(hide_password=False)
        try:
            started = time.perf_counter()
            to_postgres(path, rendered, rollups=False)
            dsn = rendered.replace("postgresql+psycopg://", "postgresql://")
            copy_points(path, dsn)
            print(f"postgres: loaded in {time.perf_counter() - started:.0f} s", flush=True)
            connection = psycopg.connect(dsn, autocommit=True)
            # As the search's own transaction does: the trigram indexes read, and a plan for
            # the pattern at hand (psycopg prepares a query after 5 runs; a generic plan of
            # `ILIKE $1 LIMIT 5` would read the table row by row).
            connection.execute("SET enable_seqscan = off")
            connection.execute("SET plan_cache_mode = force_custom_plan")

            def postgres_bare(q: str) -> object:
                pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                out = []
                with connection.cursor() as cursor:
                    for table, column, where in BARE_POSTGRES:
                        if len(q) < 3 and column != "name":
                            continue
                        like = pattern[1:] + "%" if len(q) < 3 else pattern + "%"
                        operator = "LIKE" if len(q) < 3 else "ILIKE"
                        cursor.execute(
                            f"SELECT id FROM {table} WHERE {where} AND {column} {operator} %s "
                            "LIMIT 5",
                            (like,),
                        )
                        out.append(cursor.fetchall())
                    cursor.execute(  # event codes by prefix, as the search does
                        "SELECT id FROM event WHERE code LIKE %s LIMIT 5",
                        (pattern[1:].upper() + "%",),
                    )
                    out.append(cursor.fetchall())
                return out

            bench(rendered, args.rounds, postgres_bare)
            connection.close()
        finally:
            admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
