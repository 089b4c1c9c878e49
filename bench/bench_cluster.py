"""Two instances behind HAProxy against one, in the same run and through the same HAProxy:
requests/s and p99 of the event list and of filing events, next to the bare limit (a bare
FastAPI route served the same way, one and two processes, behind the same HAProxy).

    .venv/bin/python bench/bench_cluster.py [--seconds 15] [--events 20000] [--connections 32]
                                            [--rounds 2] [--postgres URL] [--smoke]

Makes a PostgreSQL database `fq_bench_cluster` on the server of `--postgres` (default
FENGQIAO_TEST_POSTGRES_URL's), seeds the small demo district with `--events` events, and starts
scripts/cluster.py's cluster: two `fengqiao serve --workers 1` instances and two workers behind
one HAProxy whose frontends send to instance 0 only ("one") or to both ("two"), plus two bare
uvicorn processes behind frontends of their own. Load comes from wrk (Debian package `wrk`) on
the same cores as the servers, so on a 2-core machine the second instance competes with wrk,
HAProxy, PostgreSQL and the first: the gain is bounded, and the load average is printed next to
each figure. Prints one line per figure. `--smoke`: 200 events, 1 s of load per figure, a
throwaway database (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.db import Database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.cluster import Cluster, free_port, running  # noqa: E402

PYTHON = sys.executable
FENGQIAO = str(Path(PYTHON).with_name("fengqiao"))
KEY = "bench-cluster-signing-key-0123456789abcdef0123"
BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}
"""
BARE_COMMAND = [PYTHON, "-m", "uvicorn", "bare_app:app", "--workers", "1", "--loop", "uvloop",
                "--http", "httptools", "--log-level", "warning", "--no-access-log", "--port"]  # fmt: skip
FRONTENDS = """
frontend one
    bind 127.0.0.1:{one}
    default_backend fengqiao_one

backend fengqiao_one
    option httpchk GET /healthz
    server app0 127.0.0.1:{app0} check inter 500ms fastinter 250ms rise 2 fall 2

frontend bare_one
    bind 127.0.0.1:{bare_one}
    default_backend bare_one

backend bare_one
    server bare0 127.0.0.1:{bare0}

frontend bare_two
    bind 127.0.0.1:{bare_two}
    default_backend bare_two

backend bare_two
    balance roundrobin
    server bare0 127.0.0.1:{bare0}
    server bare1 127.0.0.1:{bare1}
"""
# wrk: each request files a new event with a key of its own (a phone's report, never a retry).
FILE_LUA = """
local counter = 0
local tag = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{auth}"
wrk.body = '{body}'
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. tag .. "-" .. counter
  return wrk.format()
end
"""
GET_LUA = """
wrk.headers["Authorization"] = "{auth}"
"""


def wrk(url: str, script: str, seconds: int, connections: int) -> tuple[float, float, int]:
    """Requests/s, p99 in ms and non-2xx answers of wrk against `url` for `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
             "-s", lua.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(lua.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rate and p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0


@contextmanager
def bare_servers(tmp: Path) -> Iterator[list[int]]:
    """Two bare uvicorn processes (uvloop, httptools, one worker each); their ports."""
    (tmp / "bare_app.py").write_text(BARE_APP)
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([*BARE_COMMAND, str(port)], cwd=tmp) for port in ports]
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/bare", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "bare server did not start"
                    time.sleep(0.2)
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def bench_database(postgres: str, name: str, events: int) -> Iterator[str]:
    """A fresh PostgreSQL database seeded with the small district and `events` events."""
    base = make_url(postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "FENGQIAO_DATABASE_URL": url}
    started = time.monotonic()
    for command in (["db", "upgrade"], ["seed", "--scale", "small", "--events", str(events)]):
        subprocess.run([FENGQIAO, *command], env=env, check=True, capture_output=True)
    print(
        f"# seeded the small district with {events:,} events in {time.monotonic() - started:.0f} s"
    )
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def tokens_and_body(url: str) -> tuple[str, str, str]:
    """Bearer headers of the operator (lists) and the grid worker (files), and a filing body."""
    import json

    import shapely

    from fengqiao.org.models import OrgUnit
    from fengqiao.taxonomy.snapshot import load_rules

    database = Database(url)
    with database.session() as db:
        users = {u.username: u for u in db.scalars(select(User))}
        worker = users["demo_grid_worker"]
        grid = db.get(OrgUnit, worker.home_org_id)
        assert grid is not None
        point = shapely.from_geojson(json.dumps(grid.geometry)).representative_point()
        category = next(
            code for code, c in sorted(load_rules(db).categories.items()) if c.default_level == 2
        )
    database.dispose()
    body = json.dumps({
        "source": "grid_worker", "category": category, "lat": point.y, "lng": point.x,
        "description": "bench: 路面破损", "address": "柯桥街道某路",
    }, ensure_ascii=False)  # fmt: skip

    def bearer(name: str) -> str:
        return "Bearer " + issue_token(user_id=users[name].id, key=KEY, minutes=600)

    return bearer("demo_operator"), bearer("demo_grid_worker"), body


def run(postgres: str, name: str, seconds: int, events: int, connections: int, rounds: int) -> None:
    print(f"bench_cluster {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; wrk -t 2 -c {connections} -d {seconds}s")  # fmt: skip
    if not shutil.which("wrk"):
        raise SystemExit("bench_cluster: wrk missing; bash scripts/browser_deps.sh installs it")
    with (
        tempfile.TemporaryDirectory(prefix="fq-bench-cluster-") as tmp,
        bench_database(postgres, name, events) as url,
        bare_servers(Path(tmp)) as bare,
    ):
        operator, worker, body = tokens_and_body(url)
        ports = [free_port(), free_port()]
        fronts = {"one": free_port(), "bare_one": free_port(), "bare_two": free_port()}
        extra = FRONTENDS.format(app0=ports[0], bare0=bare[0], bare1=bare[1], **fronts)
        cluster = Cluster(
            database_url=url, run_dir=Path(tmp) / "cluster", instances=2, workers=2,
            ports=ports, extra_config=extra,
            env={"FENGQIAO_SECRET_KEY": KEY, "FENGQIAO_LOG_LEVEL": "warning"},
        )  # fmt: skip
        with running(cluster):
            one, two = f"http://127.0.0.1:{fronts['one']}", cluster.url
            httpx.get(one + "/healthz", timeout=30).raise_for_status()
            headers = {"Authorization": worker, "Content-Type": "application/json"}
            check = httpx.post(two + "/api/v1/events", content=body.encode(), headers=headers)
            assert check.status_code == 201, check.text  # what wrk sends is a valid report
            list_lua = GET_LUA.format(auth=operator)
            file_lua = FILE_LUA.format(
                auth=worker, body=body.replace("\\", "\\\\").replace("'", "\\'")
            )
            cases = [
                ("bare route", f"http://127.0.0.1:{fronts['bare_one']}/bare",
                 f"http://127.0.0.1:{fronts['bare_two']}/bare", ""),
                ("event list (50 rows)", one + "/api/v1/events?size=50",
                 two + "/api/v1/events?size=50", list_lua),
                ("filing events", one + "/api/v1/events", two + "/api/v1/events", file_lua),
            ]  # fmt: skip
            # Rounds alternate one and two instances, so a change in the machine's other load
            # during the run falls on both; the summary is the mean over the rounds.
            results: dict[str, list[tuple[float, float]]] = {}
            for round_ in range(rounds):
                for label, url_one, url_two, lua in cases:
                    for count, target in (("1", url_one), ("2", url_two)):
                        wrk(target, lua, 1, connections)  # warm up (caches, connections)
                        rate, p99, errors = wrk(target, lua, seconds, connections)
                        load = os.getloadavg()[0]
                        results.setdefault(f"{label} {count}", []).append((rate, p99))
                        note = f", {errors} non-2xx" if errors else ""
                        print(f"round {round_ + 1}: {label}, {count} instance"
                              f"{'s' if count == '2' else ''}: {rate:,.0f} req/s, "
                              f"p99 {p99:.1f} ms, load {load:.2f}{note}")  # fmt: skip
            mean = {
                name: (statistics.fmean(r for r, _ in runs), statistics.fmean(p for _, p in runs))
                for name, runs in results.items()
            }
            for label, *_ in cases:
                (rate1, p99_1), (rate2, p99_2) = mean[f"{label} 1"], mean[f"{label} 2"]
                print(f"{label}: one {rate1:,.0f} req/s p99 {p99_1:.0f} ms; two {rate2:,.0f} "
                      f"req/s p99 {p99_2:.0f} ms; two / one = {rate2 / rate1:.2f}x")  # fmt: skip
            for label in ("event list (50 rows)", "filing events"):
                for count in ("1", "2"):
                    share = mean[f"{label} {count}"][0] / mean[f"bare route {count}"][0]
                    print(f"{label}, {count}: {share:.1%} of the bare route's rate")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating one/two rounds")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--smoke", action="store_true", help="tiny: checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        print("# smoke mode: 200 events, 1 s of load per figure; the figures mean nothing")
        run(args.postgres, f"fq_smoke_cluster_{uuid.uuid4().hex[:8]}", 1, 200, 8, 1)
        return
    run(
        args.postgres, "fq_bench_cluster", args.seconds, args.events, args.connections,
        args.rounds,
    )  # fmt: skip


if __name__ == "__main__":
    main()
