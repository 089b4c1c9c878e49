"""The event list (GET /api/v1/events, 50 rows) on PostgreSQL directly, through Debian's PgBouncer
in transaction mode (FENGQIAO_DATABASE_PGBOUNCER=true), and through the read-replica routing
(`ReadDatabase`, FENGQIAO_READ_DATABASE_URL) pointed at the same server: what each hop costs,
next to the bare limit measured in the same run (issue 21, item 3; docs/scaling.md).

    .venv/bin/python bench/bench_pgbouncer.py [--events 20000] [--runs 300] [--postgres URL]
        [--smoke]

A throwaway database on `--postgres`'s server (FENGQIAO_TEST_POSTGRES_URL by default; the
database it names is not touched) is migrated and seeded with the small district and `--events`
events (`fengqiao.demo.events.seed_events`, the demo's own code); a PgBouncer of its own (pool
mode transaction, a free port; run as `postgres` when this runs as root) stands in front of it.
The list is read `--runs` times as the district operator through the app in process
(TestClient, read cache off) in each of the three set-ups, in turn, so load drifts hit them
alike. The bare limit: the list's main query alone (`SELECT … FROM event ORDER BY created_at
DESC, id DESC LIMIT 51`) in raw psycopg, directly and through PgBouncer. Printed: p50 and p95
of each, and the ratios. `--smoke`: 100 events, 5 runs (checks the script runs; its figures mean
nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests/replica/clusters.py: the PgBouncer the tests start

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from fengqiao.app import create_app  # noqa: E402
from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.security import issue_token  # noqa: E402
from fengqiao.config import Settings  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.demo.events import seed_events  # noqa: E402
from fengqiao.demo.seed import seed  # noqa: E402
from fengqiao.migrate import upgrade  # noqa: E402
from tests.replica.clusters import Bouncer, workspace  # noqa: E402

KEY = "bench-signing-key-not-secret-0123456789abcdef"
BARE = "SELECT id, code, status FROM event ORDER BY created_at DESC, id DESC LIMIT 51"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def client(url: str, data: Path, **settings: object) -> TestClient:
    values: dict[str, object] = {
        "database_url": url, "data_dir": data, "secret_key": KEY, "read_cache_seconds": 0,
        "principal_cache_seconds": 30.0, "grid_index_check_seconds": 60.0,
    }  # fmt: skip
    values.update(settings)
    return TestClient(create_app(Settings(**values)))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.runs = 100, 5
        print("# smoke mode: 100 events, 5 runs; the figures mean nothing")
    load = os.getloadavg()
    print(f"# load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")

    server = make_url(args.postgres).set(drivername="postgresql+psycopg")
    target = server.set(database=f"fq_bench_pgb_{uuid.uuid4().hex[:8]}")
    direct = target.render_as_string(hide_password=False)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    bouncer = Bouncer(workspace("fq-bench-pgb-"), server.host or "127.0.0.1", server.port or 5432)
    try:
        started = time.perf_counter()
        upgrade(direct)
        database = Database(direct)
        seed(db=database, scale="small", password="bench-pass")
        seed_events(db=database, count=args.events, until=datetime.now(UTC))
        with database.session() as db:
            operator = db.scalar(select(User.id).where(User.username == "demo_operator"))
            db.execute(text("ANALYZE"))
            db.commit()
        database.dispose()
        assert operator is not None
        print(f"seeded {args.events} events in {time.perf_counter() - started:.0f} s")
        bouncer.start()
        pooled = bouncer.url(str(target.database))
        headers = {"Authorization": f"Bearer {issue_token(user_id=operator, key=KEY, minutes=60)}"}

        with tempfile.TemporaryDirectory(prefix="fq-bench-pgb-data-") as tmp:
            clients = {
                "direct": client(direct, Path(tmp)),
                "pgbouncer": client(pooled, Path(tmp), database_pgbouncer=True),
                "read routing": client(direct, Path(tmp), read_database_url=direct),
            }
            samples: dict[str, list[float]] = {name: [] for name in clients}
            raw = {
                "bare direct": psycopg.connect(
                    direct.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
                ),
                "bare pgbouncer": psycopg.connect(
                    pooled.replace("postgresql+psycopg://", "postgresql://"),
                    autocommit=True, prepare_threshold=None,
                ),
            }  # fmt: skip
            samples.update({name: [] for name in raw})
            for test_client in clients.values():
                test_client.__enter__()
            try:

                def timed(name: str, call: Callable[[], object]) -> None:
                    began = time.perf_counter()
                    call()
                    samples[name].append((time.perf_counter() - began) * 1000)

                def listing(test_client: TestClient) -> Callable[[], object]:
                    def call() -> object:
                        response = test_client.get("/api/v1/events?size=50", headers=headers)
                        assert response.status_code == 200, response.text
                        return response

                    return call

                for test_client in clients.values():  # warm: caches, pools, plans
                    for _ in range(3):
                        listing(test_client)()
                for _ in range(args.runs):
                    for name, test_client in clients.items():
                        timed(name, listing(test_client))
                    for name, connection in raw.items():
                        timed(name, lambda c=connection: c.execute(BARE).fetchall())  # type: ignore[misc]
            finally:
                for test_client in clients.values():
                    test_client.__exit__(None, None, None)
                for connection in raw.values():
                    connection.close()

        bare, _ = percentiles(samples["bare direct"])
        print(f"events {args.events}, runs {args.runs}, GET /api/v1/events?size=50 in process")
        for name, values in samples.items():
            p50, p95 = percentiles(values)
            print(
                f"{name:>15}: p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ratio to bare {p50 / bare:5.1f}"
            )
        d50, _ = percentiles(samples["direct"])
        for name in ("pgbouncer", "read routing"):
            p50, _ = percentiles(samples[name])
            print(f"{name} / direct: {p50 / d50:.2f} (+{p50 - d50:.2f} ms)")
    finally:
        bouncer.kill()
        shutil.rmtree(bouncer.root, ignore_errors=True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
