"""Search latency of the service catalogue (最多跑一次) on SQLite and PostgreSQL, each next to a
plain LIKE scan measured in the same run.

    .venv/bin/python bench/bench_services.py [--rounds 300] [--copies 1] [--postgres URL] [--smoke]

For each backend a fresh database is migrated and given the shipped catalogue (62 items), or
`--copies` times as many (codes suffixed, names unchanged) to see how it scales. Then each query
of QUERIES runs `--rounds` times through `fengqiao.catalogue.search.search` (the API's path:
SQLAlchemy session, ranking, count and page of 50) and through the bare limit: a raw driver
query (sqlite3 / psycopg) with `LIKE`/`ILIKE '%term%'` over name and search_text, no ranking.
Between the two, the same LIKE scan through the ORM (`search.like_scan`: session, ORM rows, no
ranking or count) shows what the ORM alone costs. Printed: p50 per query kind (three or more
characters: the trigram index; one or two: SQLite's LIKE fallback) and the ratio to the limit.
`--smoke`: 3 rounds (checks the script runs; its figures mean nothing). `--postgres` defaults to
FENGQIAO_TEST_POSTGRES_URL's server; the database it names is not touched, a new one is made.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fengqiao.catalogue import search, service
from fengqiao.catalogue.schemas import ItemImport
from fengqiao.db import Database
from fengqiao.migrate import upgrade

QUERIES = {
    "3+ characters": ["社保卡", "居住证", "高龄津贴", "养老保险", "新生儿", "农村建房", "临时救助"],
    "1-2 characters": ["低保", "残疾", "医保", "证"],
}
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _catalogue(copies: int) -> ItemImport:
    shipped = service.load_items()
    items = []
    for n in range(copies):
        for item in shipped.items:
            items.append(item.model_copy(update={"code": f"{item.code}-{n}" if n else item.code}))
    # Built, not validated: an import file holds at most 2,000 items, --copies may exceed it.
    return ItemImport.model_construct(version=1, items=items)


def _p50_ms(run: Callable[[], object], rounds: int) -> float:
    for _ in range(5):
        run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _bench(url: str, rounds: int, copies: int, bare: Callable[[str], object]) -> None:
    upgrade(url)
    database = Database(url)
    with database.transaction() as db:
        service.import_items(db=db, data=_catalogue(copies), now=NOW)
    backend = "SQLite" if database.is_sqlite else "PostgreSQL"
    for kind, queries in QUERIES.items():
        ours, orm, limit = [], [], []
        with database.session() as db:
            for query in queries:
                ours.append(_p50_ms(lambda q=query: search.search(db, q), rounds))  # type: ignore[misc]
                orm.append(_p50_ms(lambda q=query: search.like_scan(db, q), rounds))  # type: ignore[misc]
                limit.append(_p50_ms(lambda q=query: bare(q), rounds))  # type: ignore[misc]
            mode = search.mode_of(db, queries[0])
        mine, scan, base = statistics.median(ours), statistics.median(orm), statistics.median(limit)
        print(
            f"{backend} {62 * copies} items, {kind} ({mode}): search p50 {mine:.3f} ms, "
            f"LIKE scan via the ORM {scan:.3f} ms, raw LIKE scan {base:.3f} ms, "
            f"ratio to raw {mine / base:.1f}x"
        )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--smoke", action="store_true", help="3 rounds: checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 3
        print(f"# smoke mode: {args.rounds} rounds, the figures below mean nothing")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-services.db"
        url = f"sqlite:///{path}"
        raw: sqlite3.Connection | None = None

        def sqlite_like(query: str) -> object:
            nonlocal raw
            if raw is None:
                raw = sqlite3.connect(path)
            terms = search.terms_of(query)
            where = " AND ".join("(name LIKE ? OR search_text LIKE ?)" for _ in terms)
            values = [f"%{t}%" for t in terms for _ in (0, 1)]
            return raw.execute(
                f"SELECT id, name FROM service_item WHERE {where}", values
            ).fetchall()

        _bench(url, args.rounds, args.copies, sqlite_like)
        if raw is not None:
            raw.close()

    base = make_url(args.postgres).set(drivername="postgresql+psycopg")
    name = f"fq_bench_services_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = base.set(database=name)
        connection = psycopg.connect(
            target.set(drivername="postgresql").render_as_string(hide_password=False)
        )

        def postgres_like(query: str) -> object:
            terms = search.terms_of(query)
            where = " AND ".join("(name ILIKE %s OR search_text ILIKE %s)" for _ in terms)
            values = [f"%{t}%" for t in terms for _ in (0, 1)]
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, name FROM service_item WHERE {where}", values)
                return cursor.fetchall()

        _bench(
            target.render_as_string(hide_password=False), args.rounds, args.copies, postgres_like
        )
        connection.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
