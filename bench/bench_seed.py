"""Time `fengqiao seed --scale keqiao` (no events) on a fresh SQLite file and a fresh PostgreSQL
database, against raw sqlite3 inserting the same number of rows (the limit).

    .venv/bin/python bench/bench_seed.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
                                         [--scale keqiao] [--smoke]

Prints one line per figure. `--smoke` seeds `--scale small` instead (the same code paths, a
few seconds; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import fengqiao.models as models
from fengqiao.db import Database

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
TABLES = [
    models.OrgUnit,
    models.Unit,
    models.User,
    models.UserRole,
    models.GridAssignment,
    models.LayerFeature,
]


def timed_seed(url: str, scale: str) -> tuple[float, int]:
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([FENGQIAO, "seed", "--scale", scale], env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    database = Database(url)
    with database.session() as session:
        rows = sum(session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)
    database.dispose()
    return seconds, rows


def raw_sqlite(rows: int, folder: Path) -> float:
    connection = sqlite3.connect(folder / "raw.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, name TEXT, a REAL, b REAL, props TEXT)"
    )
    data = [(i, f"{i:020d}", f"名称{i}", 120.5, 30.1, '{"k": 1}') for i in range(rows)]
    start = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", data)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--scale", default="keqiao", choices=["keqiao", "small"])
    parser.add_argument(
        "--smoke", action="store_true", help="seed --scale small: checks the script runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args.postgres, args.scale)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-seed-") as data:
        os.environ["FENGQIAO_DATA_DIR"] = data  # what the CLI writes besides the database
        print("# smoke mode: --scale small, the figures below mean nothing")
        run(args.postgres, "small")


def run(postgres: str, scale: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds, rows = timed_seed(f"sqlite:///{folder / 'seed.db'}", scale)
        print(f"seed {scale} on SQLite: {seconds:.1f} s ({rows:,} rows, CLI start-up included)")
        raw = raw_sqlite(rows, folder)
        print(f"raw sqlite3 executemany of {rows:,} rows: {raw:.2f} s")
        print(
            f"ratio seed/raw insert: {seconds / raw:.1f}x (the seed also builds Voronoi polygons and hashes one password)"
        )
    base = make_url(postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"fq_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        seconds, rows = timed_seed(url, scale)
        print(f"seed {scale} on PostgreSQL: {seconds:.1f} s ({rows:,} rows)")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
