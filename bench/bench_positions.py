"""Figures of the patrol hot path: phones posting GPS positions, each next to a bare limit
measured in the same run.

    .venv/bin/python bench/bench_positions.py [--requests 300] [--load-seconds 30] [--smoke]

1. `POST /api/v1/me/positions` with 100 points, over HTTP to one uvicorn worker (uvloop,
   httptools) on SQLite, sequential on one keep-alive connection, each request a different grid
   worker on a patrol started just before (200 workers; points 1 s apart from the start, all
   falling to the patrol, whose totals move on): p50 and p95. Limits: the same 100 rows
   written by raw sqlite3 with `executemany` in one `BEGIN IMMEDIATE` transaction, and the same
   body POSTed to a bare FastAPI endpoint of the same server that parses the JSON and does
   nothing else.
2. Server CPU of the district's load: 6,800 grid workers each recording a point every 30 s
   (226.7 points/s), for three ways a phone may send: a batch of 20 points every 10 minutes
   (11.3 requests/s, the app's default `FENGQIAO_PATROL_BATCH_POINTS`), a batch of 10 every 5
   minutes (22.7 requests/s) and a post per point every 30 s (226.7 requests/s). The requests are
   sent at exactly that rate for `--load-seconds` (open loop, 4 client threads), each by another
   worker, so none finds its caller in the principal cache (as with a post every 5 minutes).
   Measured: the server process's CPU seconds over the run (utime + stime from
   /proc/<pid>/stat, every thread); the fraction of one core is CPU seconds / wall seconds,
   that is requests/s × CPU per request. The bare endpoint is paced the same way with the same
   bodies, and again behind the app's authentication (by workers not in the principal cache) to
   show what authentication alone costs at the same pace (a cache miss: the first post after
   a restart or after accounts changed). Last, the batch-of-20 and batch-of-10 loads in the
   steady state: every worker has posted before, and principals stay in memory until accounts
   change.

Runs on a fresh Keqiao district (var/bench-positions.db, recreated each run; the seed's own
patrols included). Prints one line per figure. `--smoke`: a small district (one town, 100 grid
workers) in a temporary folder, 5 requests, 0.3 s of each paced load (checks the script runs;
its figures mean nothing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import shapely
from sqlalchemy import select

from fengqiao.auth.models import GridAssignment
from fengqiao.auth.security import issue_token
from fengqiao.db import Database
from fengqiao.migrate import upgrade
from fengqiao.org.models import OrgUnit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FENGQIAO = str(Path(PYTHON).with_name("fengqiao"))
WORKERS = 6800
SAMPLE_S = 30
BATCH = 100
LOAD_THREADS = 4
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
# The real app plus the bare endpoint, served by one process.
BENCH_APP = """
import orjson
from fastapi import FastAPI, Request

from fengqiao.app import create_app
from fengqiao.deps import CurrentPrincipal


def factory() -> FastAPI:
    app = create_app()

    @app.post("/bench/auth")
    async def authenticated(request: Request, principal: CurrentPrincipal) -> dict[str, int]:
        body = orjson.loads(await request.body())
        return {"stored": 0, "duplicates": 0, "points": len(body["points"])}

    @app.post("/bench/bare")
    async def bare(request: Request) -> dict[str, int]:
        body = orjson.loads(await request.body())
        return {"stored": 0, "duplicates": 0, "points": len(body["points"])}

    @app.get("/bench/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app
"""


# --- plumbing -----------------------------------------------------------------------------


def cli(url: str, *args: str) -> None:
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_LOG_LEVEL="warning")
    subprocess.run([FENGQIAO, *args], env=env, check=True, capture_output=True)


def fresh_district(path: Path, scale: str = "keqiao") -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)  # in process: one CLI start-up less
    cli(url, "seed", "--scale", scale)
    return url


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(url: str, key: str, **settings: str) -> Iterator[tuple[str, int]]:
    """The bench app on `url`, one uvicorn worker as `fengqiao serve` runs it, with extra
    `FENGQIAO_*` settings: (base URL, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_app.py").write_text(BENCH_APP)
        env = dict(
            os.environ,
            FENGQIAO_DATABASE_URL=url,
            FENGQIAO_SECRET_KEY=key,
            FENGQIAO_LOG_LEVEL="warning",
            FENGQIAO_DATA_DIR=tmp,
            PYTHONPATH=os.pathsep.join(p for p in (tmp, os.environ.get("PYTHONPATH")) if p),
            **{f"FENGQIAO_{name.upper()}": value for name, value in settings.items()},
        )
        args = [PYTHON, "-m", "uvicorn", "bench_app:factory", "--factory", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        process = subprocess.Popen(args, env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/bench/ping", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"server on {url} did not start") from None
                    time.sleep(0.2)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def cpu_ratio(cpu: float, bare_cpu: float) -> str:
    """The ratio of two CPU times read in clock ticks; a short run may see no tick at all."""
    return f"{cpu / bare_cpu:.1f}x" if bare_cpu else "n/a (the bare run took under one clock tick)"


def check(response: httpx.Response, *expected: int) -> dict[str, Any]:
    if response.status_code not in expected:
        raise SystemExit(
            f"{response.request.method} {response.request.url} -> {response.status_code}, "
            f"expected {expected}: {response.text[:2000]}"
        )
    body: dict[str, Any] = response.json()
    return body


def p50_p95(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    return statistics.median(samples) * 1000, statistics.quantiles(samples, n=20)[18] * 1000


# --- the district's workers ---------------------------------------------------------------


class Workers:
    """Every grid worker of the district: a token, and a point inside their grid to walk from."""

    def __init__(self, url: str, key: str) -> None:
        database = Database(url)
        with database.session() as db:
            rows = db.execute(
                select(GridAssignment.user_id, OrgUnit.geometry)
                .join(OrgUnit, OrgUnit.id == GridAssignment.grid_id)
                .order_by(GridAssignment.user_id)
            ).all()
        database.dispose()
        self.ids = [user_id for user_id, _ in rows]
        self.tokens = {u: issue_token(user_id=u, key=key, minutes=600) for u in self.ids}
        self.starts = {}
        for user_id, geometry in rows:
            point = shapely.from_geojson(json.dumps(geometry)).representative_point()
            self.starts[user_id] = (point.y, point.x)
        self.sent: dict[int, int] = {u: 0 for u in self.ids}
        # Every worker's points run forward from 6 hours ago: all inside the 7-day window, none
        # more than 5 minutes ahead of the server.
        self.origin = datetime.now(UTC) - timedelta(hours=6)
        self.origin_of: dict[int, datetime] = {}
        self.every_of: dict[int, float] = {}

    def walking(self, user_id: int, every_s: float) -> None:
        """From now on the worker records a point every `every_s`, starting now (a patrol that
        has just begun: its points must not be older than its start)."""
        self.origin_of[user_id] = datetime.now(UTC)
        self.every_of[user_id] = every_s
        self.sent[user_id] = 0

    def body(self, user_id: int, count: int) -> bytes:
        """The worker's next `count` points, 30 s (or as `walking` said) and ~30 m apart."""
        lat, lng = self.starts[user_id]
        first = self.sent[user_id]
        self.sent[user_id] += count
        origin = self.origin_of.get(user_id, self.origin)
        every = self.every_of.get(user_id, SAMPLE_S)
        points = [
            {
                "at": (origin + timedelta(seconds=every * k)).isoformat(),
                "lat": round(lat + 0.00025 * (k % 40), 7),
                "lng": round(lng + 0.0001 * ((k // 40) % 10), 7),
                "accuracy": 8.0,
                "speed": 1.1,
            }
            for k in range(first, first + count)
        ]
        return orjson.dumps({"points": points})


# --- figure 1: one batch of 100 -----------------------------------------------------------


def batch_figures(base: str, url: str, workers: Workers, requests: int) -> None:
    # A different worker for each request (up to 200, then round again).
    chosen = workers.ids[:: max(1, len(workers.ids) // 200)][: min(200, requests + 20)]
    with httpx.Client(base_url=base) as client:
        for user_id in chosen:  # each on an open patrol, like a phone mid-walk
            headers = {"Authorization": f"Bearer {workers.tokens[user_id]}"}
            check(client.post("/api/v1/me/patrol/start", headers=headers), 200, 201)
            # Points a second apart from the start, so two batches stay within the 5 minutes
            # a point may lie ahead of the server; the spacing does not change the work.
            workers.walking(user_id, 1.0)
        timings, bare, stored = [], [], 0
        for index in range(requests + 20):
            user_id = chosen[index % len(chosen)]
            headers = {
                "Authorization": f"Bearer {workers.tokens[user_id]}",
                "Content-Type": "application/json",
            }
            body = workers.body(user_id, BATCH)
            start = time.perf_counter()
            answer = check(client.post("/api/v1/me/positions", content=body, headers=headers), 200)
            elapsed = time.perf_counter() - start
            start = time.perf_counter()
            check(client.post("/bench/bare", content=body, headers=headers), 200)
            bare_elapsed = time.perf_counter() - start
            if index >= 20:  # the first requests load the grid index and the principals
                timings.append(elapsed)
                bare.append(bare_elapsed)
                stored += answer["stored"]
                if answer["patrol_id"] is None:
                    raise SystemExit(f"worker {user_id}'s points fell to no patrol")
    p50, p95 = p50_p95(timings)
    bare_p50, _ = p50_p95(bare)
    raw = raw_executemany(url, workers, 200)
    print(
        f"POST /api/v1/me/positions, {BATCH} points (HTTP, one connection, sequential, "
        f"{requests} requests, {stored:,} points stored): p50 {p50:.2f} ms, p95 {p95:.2f} ms "
        "(target ≤ 20 ms)"
    )
    print(f"bare FastAPI POST of the same body (parse JSON, nothing else): p50 {bare_p50:.2f} ms")
    print(
        f"raw sqlite3 executemany of the same {BATCH} rows in one BEGIN IMMEDIATE transaction: "
        f"p50 {raw:.2f} ms; ratio app/raw {p50 / raw:.1f}x"
    )


def raw_executemany(url: str, workers: Workers, runs: int) -> float:
    """p50 ms of inserting 100 position rows with raw sqlite3, the bare limit of figure 1."""
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    user_id = workers.ids[-1]
    lat, lng = workers.starts[user_id]
    origin = workers.origin - timedelta(days=1)  # apart from every point the app stored
    samples = []
    for run in range(runs + 10):
        rows = [
            (user_id, (origin + timedelta(seconds=SAMPLE_S * (run * BATCH + k))).isoformat(" "),
             lat + 1e-5 * k, lng, 8.0, 1.1, None, None)
            for k in range(BATCH)
        ]  # fmt: skip
        start = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO position (user_id, at, lat, lng, accuracy, speed, patrol_id, grid_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, at) DO NOTHING",
            rows,
        )
        connection.execute("COMMIT")
        if run >= 10:
            samples.append(time.perf_counter() - start)
    connection.close()
    return p50_p95(samples)[0]


# --- figure 2: the district's CPU ---------------------------------------------------------


def paced(
    base: str,
    pid: int,
    path: str,
    bodies: list[tuple[int, bytes]],
    tokens: dict[int, str],
    rate: float,
) -> tuple[float, float]:
    """Send `bodies` at `rate` requests/s (open loop, from a pool of client threads), as the
    district's phones would; (server CPU seconds over the run, wall seconds)."""
    failures: list[str] = []
    lock = threading.Lock()
    queue = iter(enumerate(bodies))
    start = time.perf_counter() + 0.2

    def run() -> None:
        with httpx.Client(base_url=base) as client:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                index, (user_id, body) = item
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                response = client.post(
                    path, content=body,
                    headers={"Authorization": f"Bearer {tokens[user_id]}",
                             "Content-Type": "application/json"},
                )  # fmt: skip
                if response.status_code != 200:
                    failures.append(response.text[:300])

    threads = [threading.Thread(target=run) for _ in range(LOAD_THREADS)]
    cpu_before = cpu_seconds(pid)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu_before
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return cpu, wall


def cpu_figures(base: str, pid: int, workers: Workers, seconds: float) -> None:
    points_per_second = WORKERS / SAMPLE_S
    # Each run uses workers the runs before did not, so every request misses the principal
    # cache, as the first post of each phone after a restart does.
    cycle = itertools.cycle(workers.ids)
    for per_request, label in (
        (20, "a batch of 20 points every 10 min"),
        (10, "a batch of 10 points every 5 min"),
        (1, "one point every 30 s"),
    ):
        rate = points_per_second / per_request
        count = round(rate * seconds)
        bodies = [(u, workers.body(u, per_request)) for u in itertools.islice(cycle, count)]
        cpu, wall = paced(base, pid, "/api/v1/me/positions", bodies, workers.tokens, rate)
        bare_cpu, bare_wall = paced(base, pid, "/bench/bare", bodies, workers.tokens, rate)
        print(
            f"6,800 workers, {label}: {rate:.1f} requests/s; server CPU {cpu / count * 1000:.2f} ms "
            f"per request ({count:,} requests paced over {wall:.0f} s) = {cpu / wall:.1%} of one "
            f"core (target ≤ 5 %); bare endpoint, same bodies and pace: "
            f"{bare_cpu / count * 1000:.2f} ms = {bare_cpu / bare_wall:.1%}; "
            f"ratio {cpu_ratio(cpu, bare_cpu)}"
        )
        if per_request == 20:
            # What authentication alone costs at this pace: the bare endpoint behind the app's
            # authentication, called by workers not in the principal cache.
            others = itertools.islice(cycle, count)
            fresh = [(u, body) for u, (_, body) in zip(others, bodies, strict=True)]
            auth_cpu, auth_wall = paced(base, pid, "/bench/auth", fresh, workers.tokens, rate)
            print(
                f"  the bare endpoint behind authentication (a principal cache miss each), same "
                f"pace: {auth_cpu / count * 1000:.2f} ms per request = {auth_cpu / auth_wall:.1%}"
            )


def cached_figure(
    base: str, pid: int, workers: Workers, seconds: float, per_request: int, label: str
) -> None:
    """A batched load in the steady state: every worker posted before, and principals stay in
    memory until accounts change (the `users` change counter)."""
    rate = WORKERS / SAMPLE_S / per_request
    count = round(rate * seconds)
    chosen = workers.ids[:count]
    # Each worker's previous post, unmeasured, put them in the cache.
    warm = [(u, workers.body(u, per_request)) for u in chosen]
    paced(base, pid, "/api/v1/me/positions", warm, workers.tokens, 200.0)
    bodies = [(u, workers.body(u, per_request)) for u in chosen]
    cpu, wall = paced(base, pid, "/api/v1/me/positions", bodies, workers.tokens, rate)
    bare_cpu, bare_wall = paced(base, pid, "/bench/bare", bodies, workers.tokens, rate)
    print(
        f"6,800 workers, {label}, steady state (every caller posted before, principals kept "
        f"until accounts change): {rate:.1f} requests/s; server CPU {cpu / count * 1000:.2f} ms "
        f"per request = {cpu / wall:.1%} of one core (target ≤ 5 %); bare endpoint, same bodies "
        f"and pace: {bare_cpu / count * 1000:.2f} ms = {bare_cpu / bare_wall:.1%}; "
        f"ratio {cpu_ratio(cpu, bare_cpu)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "var" / "bench-positions.db"))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument(
        "--smoke", action="store_true", help="a small district, a few requests: checks it runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args, "keqiao")
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-positions-") as tmp:
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # what the CLI writes, not into var/
        print("# smoke mode: one town, 5 requests, 0.3 s of each load; "
              "the figures below mean nothing")  # fmt: skip
        args.db, args.requests, args.load_seconds = str(Path(tmp) / "positions.db"), 5, 0.3
        run(args, "small")


def run(args: argparse.Namespace, scale: str) -> None:
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    url = fresh_district(Path(args.db), scale)
    key = secrets.token_urlsafe(32)
    workers = Workers(url, key)
    steady = [
        (20, "a batch of 20 points every 10 min (the app's default)"),
        (10, "a batch of 10 points every 5 min"),
    ]
    with served(url, key) as (base, pid):
        batch_figures(base, url, workers, args.requests)
        cpu_figures(base, pid, workers, args.load_seconds)
        if args.smoke:  # one steady-state run on the same server checks that figure runs
            cached_figure(base, pid, workers, args.load_seconds, *steady[0])
            return
    # Fresh servers: the steady state is reached by the warm-up round of `cached_figure`.
    for per_request, label in steady:
        with served(url, key) as (base, pid):
            cached_figure(base, pid, workers, args.load_seconds, per_request, label)


if __name__ == "__main__":
    main()
