"""A district nine times as busy, for the 10 M-event figures: the seeded demo year copied.

    .venv/bin/python bench/make_big.py --source var/bench-an1m.db --target var/bench-an10m.db
        [--events 10000000] [--postgres postgresql://postgres@127.0.0.1:5432/fq_bench10m]
    .venv/bin/python bench/make_big.py --smoke

The source is a SQLite file made by `fengqiao seed --scale keqiao --events 1100000`. The target
starts as a copy of it; its events are then copied again and again, each copy k moved k × 2 h
41 min earlier (so hours, days and months fill the way a busier district's would), with new ids
and codes, until the table holds `--events` rows; then the rollups are rebuilt. With
`--postgres`, the same district and events are loaded into a new PostgreSQL database (schema by
the migrations, rows by COPY) and its rollups rebuilt there. Prints what it did and how long.

`--smoke`: a small source (one town, 200 events) seeded in a temporary folder grown to 500
events, then both PostgreSQL ways (from the target; from the source, copies made there) in a
throwaway database of FENGQIAO_TEST_POSTGRES_URL's server, dropped after (checks the script
runs; its timings mean nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fengqiao.analytics.rollups import rebuild
from fengqiao.db import Database
from fengqiao.migrate import upgrade

SHIFT_MINUTES = 161
TIMES = (
    "sla_started_at", "due_at", "yellow_at", "remind_at", "overdue_at", "reminded_at",
    "escalate_at", "created_at", "updated_at", "accepted_at", "dispatched_at", "signed_at",
    "handled_at", "closed_at", "suspended_at",
)  # fmt: skip
# What the charts and names need besides the events (users for names, org for scopes).
TABLES = ("org_unit", "unit", "category_major", "category", "user_account", "user_role")


def copy_select(names: list[str], copy: int, top: int, shifted: str) -> str:
    """The SELECT list of copy `copy`: new ids and codes, times moved by `shifted` (a format
    string of one column, in the target's SQL)."""
    select = []
    for name in names:
        if name == "id":
            select.append(f"id + {copy * (top + 1)}")
        elif name == "code":
            select.append(f"code || '.{copy}'")
        elif name in ("idempotency_key", "duplicate_of_id"):
            select.append("NULL")
        elif name in TIMES:
            select.append(shifted.format(name))
        else:
            select.append(f'"{name}"')
    return ", ".join(select)


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def grow(target: Path, events: int) -> None:
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = OFF")
    names = columns(connection, "event")
    base = connection.execute("SELECT count(*), max(id) FROM event").fetchone()
    have, top = base
    copy = 1
    while have < events:
        shifted = f"strftime('%Y-%m-%d %H:%M:%f', {{}}, '-{copy * SHIFT_MINUTES} minutes')"
        select = copy_select(names, copy, top, shifted)
        limit = min(base[0], events - have)
        started = time.perf_counter()
        connection.execute(
            f"INSERT INTO event ({', '.join(names)}) SELECT {select} FROM event "
            f"WHERE id <= {top} ORDER BY id LIMIT {limit}"
        )
        connection.commit()
        have += limit
        print(
            f"copy {copy}: {limit:,} events ({have:,} in all) in {time.perf_counter() - started:.0f} s"
        )
        copy += 1
    connection.close()


def to_postgres(source: Path, url: str, *, rollups: bool = True) -> None:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    rendered = parsed.render_as_string(hide_password=False)
    upgrade(rendered)
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dsn = rendered.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as pg:
        pg.execute("SET TIME ZONE 'UTC'")  # SQLite's timestamps are UTC without an offset
        for table in (*TABLES, "event"):
            started = time.perf_counter()
            names = columns(lite, table)
            pg_columns = {
                row[0]
                for row in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                    (table,),
                )
            }
            names = [n for n in names if n in pg_columns]
            quoted = ", ".join(f'"{n}"' for n in names)
            # A merged event may point at a later one; the copy leaves that link out.
            chosen = ", ".join("NULL" if n == "duplicate_of_id" else f'"{n}"' for n in names)
            cursor = lite.execute(f"SELECT {chosen} FROM {table}")
            rows = 0
            with pg.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                while batch := cursor.fetchmany(50000):
                    for row in batch:
                        copy.write_row(row)
                    rows += len(batch)
            pg.commit()
            print(
                f"postgres: {table}: {rows:,} rows in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        started = time.perf_counter()
        pg.execute("ANALYZE")
        print(f"postgres: analyze in {time.perf_counter() - started:.0f} s")
    lite.close()
    if not rollups:
        return
    started = time.perf_counter()
    report = rebuild(Database(rendered))
    print(f"postgres: rollups of {report.events:,} events in {time.perf_counter() - started:.0f} s")


def grow_postgres(url: str, events: int) -> None:
    """The same copies as `grow`, made inside PostgreSQL from the events already loaded."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        names = [
            row[0]
            for row in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'event' "
                "ORDER BY ordinal_position"
            )
        ]
        base, top = pg.execute("SELECT count(*), max(id) FROM event").fetchone()  # type: ignore[misc]
        have, copy = base, 1
        while have < events:
            shifted = f"\"{{}}\" - interval '{copy * SHIFT_MINUTES} minutes'"
            select = copy_select(names, copy, top, shifted)
            limit = min(base, events - have)
            started = time.perf_counter()
            quoted = ", ".join(f'"{n}"' for n in names)
            pg.execute(
                f"INSERT INTO event ({quoted}) SELECT {select} FROM event "
                f"WHERE id <= {top} ORDER BY id LIMIT {limit}"
            )
            pg.commit()
            have += limit
            print(
                f"postgres copy {copy}: {limit:,} events ({have:,} in all) in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            copy += 1
        pg.execute("ANALYZE")
        pg.commit()


def smoke() -> None:
    """Every step at the smallest size, in a temporary folder and a throwaway database."""
    server = make_url(
        os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    )
    url = server.set(database=f"fq_smoke_big_{uuid.uuid4().hex[:8]}")
    rendered = url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="fq-make-big-") as tmp:
        print("# smoke mode: one town, 200 events grown to 500; the timings below mean nothing")
        source, target = Path(tmp) / "source.db", Path(tmp) / "target.db"
        env = {**os.environ, "FENGQIAO_DATABASE_URL": f"sqlite:///{source}",
               "FENGQIAO_DATA_DIR": tmp}  # fmt: skip
        fengqiao = str(Path(sys.executable).with_name("fengqiao"))
        for command in (["db", "upgrade"], ["seed", "--scale", "small", "--events", "200"]):
            subprocess.run([fengqiao, *command], env=env, check=True, capture_output=True)
        try:
            build(source, target, 500, postgres=rendered)
            build(source, target, 500, postgres=rendered, skip_sqlite=True, from_source=True)
        finally:
            admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="required unless --smoke")
    parser.add_argument("--target", type=Path, help="required unless --smoke")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--skip-sqlite", action="store_true", help="target already built")
    parser.add_argument(
        "--postgres-from-source",
        action="store_true",
        help="load the source's events into PostgreSQL and make the copies there",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="the smallest sizes in a temporary folder"
    )
    args = parser.parse_args()
    if args.smoke:
        smoke()
        return
    if args.source is None or args.target is None:
        parser.error("--source and --target are required")
    build(
        args.source, args.target, args.events, postgres=args.postgres,
        skip_sqlite=args.skip_sqlite, from_source=args.postgres_from_source,
    )  # fmt: skip


def build(
    source: Path,
    target: Path,
    events: int,
    *,
    postgres: str | None = None,
    skip_sqlite: bool = False,
    from_source: bool = False,
) -> None:
    if not skip_sqlite:
        started = time.perf_counter()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        check = sqlite3.connect(source)
        check.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        check.close()
        shutil.copyfile(source, target)
        grow(target, events)
        print(f"sqlite: {events:,} events in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        report = rebuild(Database(f"sqlite:///{target}"))
        print(
            f"sqlite: rollups of {report.events:,} events in {time.perf_counter() - started:.0f} s"
        )
    if postgres and from_source:
        to_postgres(source, postgres, rollups=False)
        grow_postgres(postgres, events)
        started = time.perf_counter()
        report = rebuild(Database(postgres))
        print(
            f"postgres: rollups of {report.events:,} events in {time.perf_counter() - started:.0f} s"
        )
    elif postgres:
        to_postgres(target, postgres)


if __name__ == "__main__":
    main()
