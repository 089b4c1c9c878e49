"""Figures of the event center: filing events over HTTP, workflow steps, the event list at 1.1 M
events and the seed that makes them, each next to a bare limit measured in the same run.

    .venv/bin/python bench/bench_events.py [--seconds 60] [--big-db sqlite:///path]
                                           [--skip-post] [--skip-big] [--smoke]

1. `POST /api/v1/events` throughput, one uvicorn worker (uvloop, httptools) on SQLite, with wrk
   (Debian package `wrk`; else a Python client, whose figure is then a floor), against
   `POST /bench/bare`: one Core insert of one row in one write transaction, served by the same
   app in the same process. wrk runs on the same cores as the server.
2. `POST /api/v1/events/{id}/transitions` latency (accept, dispatch, sign), sequential on one
   keep-alive connection, against a bare `GET /bench/ping` on the same server.
3. The seed of 1.1 M events (when `--big-db` has to be built) against copying the same rows with
   one `INSERT … SELECT`, and `GET /api/v1/events` of a town with filters over those events,
   against the same SQL run with raw sqlite3. The big database is opened read-only.

Figures 1-2 run on a fresh Keqiao district without events (var/bench-events.db, recreated each
run). Prints one line per figure. `--smoke`: a small district (one town) in a temporary folder
for all three, 300 events as the "big" one, 1 s of load, 6 events stepped, 3 list requests
(checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import shapely
from shapely.geometry import shape
from sqlalchemy import event, select

from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.auth.service import load_principal
from fengqiao.db import Database
from fengqiao.events import queries
from fengqiao.geo.service import GridLocator
from fengqiao.migrate import upgrade
from fengqiao.org.models import OrgUnit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FENGQIAO = str(Path(PYTHON).with_name("fengqiao"))
BIG_EVENTS = 1_100_000
OPERATOR = "demo_district_operator"  # files hotline events anywhere in the district
# The real app plus the two limits, so that both are served by one process.
BENCH_APP = """
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

from fengqiao.app import create_app

bench_row = Table(
    "bench_row", MetaData(),
    Column("id", Integer, primary_key=True), Column("at", Text), Column("payload", Text),
)


def factory() -> FastAPI:
    app = create_app()
    database = app.state.db

    @app.post("/bench/bare")
    async def bare(request: Request) -> dict[str, int]:
        payload = (await request.body()).decode()

        def write() -> int:
            with database.transaction() as db:
                statement = insert(bench_row).values(
                    at=datetime.now(UTC).isoformat(), payload=payload
                )
                return int(db.execute(statement.returning(bench_row.c.id)).scalar_one())

        return {"id": await database.run_write(write)}

    @app.get("/bench/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app
"""


# --- plumbing -----------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise SystemExit(f"{url}: this benchmark measures SQLite; give sqlite:///path")
    return Path(url.removeprefix("sqlite:///"))


def read_only(url: str) -> str:
    """The same SQLite file opened read-only: figure 3 must not write to it."""
    return f"sqlite:///file:{sqlite_path(url).resolve()}?mode=ro&uri=true"


def cli(url: str, *args: str) -> None:
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_LOG_LEVEL="warning")
    subprocess.run([FENGQIAO, *args], env=env, check=True, capture_output=True)


def fresh_district(url: str, scale: str = "keqiao") -> None:
    """A migrated Keqiao district without events, and the bare endpoint's table."""
    path = sqlite_path(url)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(url)  # in process: one CLI start-up less
    cli(url, "seed", "--scale", scale)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_row (id INTEGER PRIMARY KEY, at TEXT, payload TEXT)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(url: str, key: str) -> Iterator[str]:
    """The bench app on `url`, one uvicorn worker as `fengqiao serve` runs it; yields its base URL."""
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
            yield base
        finally:
            process.terminate()
            process.wait()


def token_for(url: str, username: str, key: str) -> str:
    database = Database(url)
    with database.session() as db:
        user_id = db.scalar(select(User.id).where(User.username == username))
    database.dispose()
    if user_id is None:
        raise SystemExit(f"no user {username} in {url}")
    return issue_token(user_id=user_id, key=key, minutes=600)


def p50_p90(samples: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    return statistics.median(samples) * 1000, statistics.quantiles(samples, n=10)[8] * 1000


def check(response: httpx.Response, *expected: int) -> dict[str, Any]:
    if response.status_code not in expected:
        raise SystemExit(
            f"{response.request.method} {response.request.url} -> {response.status_code}, "
            f"expected {expected}: {response.text[:2000]}"
        )
    body: dict[str, Any] = response.json()
    return body


# --- figure 1: filing events --------------------------------------------------------------


def district_points(url: str, count: int) -> list[tuple[float, float]]:
    """(lat, lng) inside the grids: each grid's representative point plus jitter, checked with
    the same grid index the server uses."""
    rng = random.Random(7)
    database = Database(url)
    locator = GridLocator(0)
    with database.session() as db:
        locator.refresh(db)
        grids = list(
            db.execute(
                select(OrgUnit.id, OrgUnit.geometry).where(
                    OrgUnit.kind == "grid",
                    OrgUnit.valid_to.is_(None),
                    OrgUnit.geometry.is_not(None),
                )
            )
        )
    database.dispose()
    rng.shuffle(grids)
    points = []
    for index in range(count):
        grid_id, geometry = grids[index % len(grids)]
        polygon = shape(geometry)
        anchor = polygon.representative_point()
        lng, lat = anchor.x, anchor.y
        for _ in range(20):
            candidate = (anchor.x + rng.uniform(-1e-3, 1e-3), anchor.y + rng.uniform(-1e-3, 1e-3))
            if shapely.contains_xy(polygon, *candidate):
                lng, lat = candidate
                break
        if locator.locate(lng, lat).grid_id != grid_id:
            raise SystemExit(f"point {lat},{lng} does not locate to grid {grid_id}")
        points.append((round(lat, 6), round(lng, 6)))
    return points


def event_bodies(points: list[tuple[float, float]], categories: list[str]) -> list[bytes]:
    rng = random.Random(11)
    return [
        orjson.dumps(
            {
                "source": "hotline",
                "category": rng.choice(categories),
                "lat": lat,
                "lng": lng,
                "description": "bench: 市民来电反映",
                "address": f"bench {index}",
                "contact_phone": f"139{rng.randrange(10**8):08d}",
            }
        )
        for index, (lat, lng) in enumerate(points)
    ]


@dataclass(frozen=True)
class Load:
    """What a load run saw; latencies and timeouts only when wrk measured them."""

    rate: float
    responses: int
    failed: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    timeouts: int = 0

    def latency(self) -> str:
        if self.p50_ms is None or self.p99_ms is None:
            return ""
        return (
            f"; latency under load p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.0f} ms, "
            f"{self.timeouts} over wrk's 2 s timeout"
        )


def _wrk_ms(out: str, percent: int) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert match, out
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def wrk_post(url: str, token: str, bodies: list[bytes], seconds: int) -> Load:
    """wrk posting the bodies in turn over 16 connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        # Lua long strings need no escaping; the bodies are UTF-8 JSON without "]]".
        script.write("local bodies = {\n")
        script.writelines(f"[[{body.decode()}]],\n" for body in bodies)
        script.write("}\nlocal i = 0\n")
        script.write('wrk.method = "POST"\n')
        script.write('wrk.headers["Content-Type"] = "application/json"\n')
        script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        script.write(
            "request = function()\n  i = i % #bodies + 1\n"
            "  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t", "1", "-c", "16", "-d", f"{seconds}s", "--latency", "-s", script.name,
             url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    assert rate and done, out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    return Load(
        rate=float(rate.group(1)),
        responses=int(done.group(1)),
        failed=int(errors.group(1)) if errors else 0,
        p50_ms=_wrk_ms(out, 50),
        p99_ms=_wrk_ms(out, 99),
        timeouts=int(timeouts.group(1)) if timeouts else 0,
    )


def python_post(url: str, token: str, bodies: list[bytes], seconds: int) -> Load:
    """The fallback without wrk: one sequential client, so the figure is a floor."""
    done = failed = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + seconds
    with httpx.Client(headers=headers) as client:
        while time.monotonic() < deadline:
            response = client.post(url, content=bodies[done % len(bodies)])
            done += 1
            failed += not response.is_success
    return Load(rate=done / seconds, responses=done, failed=failed)


def count_rows(url: str, table: str) -> int:
    with sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def post_figures(
    url: str, seconds: int, transitions: int, scale: str = "keqiao", points_count: int = 10_000
) -> None:
    key = secrets.token_urlsafe(32)
    fresh_district(url, scale)
    token = token_for(url, OPERATOR, key)
    headers = {"Authorization": f"Bearer {token}"}
    points = district_points(url, points_count)
    have_wrk = shutil.which("wrk") is not None
    load = wrk_post if have_wrk else python_post
    tool = "wrk -t1 -c16, sharing the 2 cores" if have_wrk else "python client, a floor"
    with served(url, key) as base, httpx.Client(base_url=base, headers=headers) as client:
        # Classes that ask required extra questions (intake) are left out: the bodies answer none.
        intake = client.get("/api/v1/intake/classes")
        check(intake, 200)
        asking = {
            c["category"] for c in intake.json() if any(q["required"] for q in c["questions"])
        }
        categories = [
            c["code"] for c in check(client.get("/api/v1/categories"), 200)["categories"]
            if c["active"] and c["code"] not in asking
        ]  # fmt: skip
        bodies = event_bodies(points, categories)
        first = check(client.post("/api/v1/events", content=bodies[0]), 201)
        print(f"# check: POST /api/v1/events -> 201 {first['code']} in {first['town']['name']}")
        check(client.post("/bench/bare", content=bodies[0]), 200)
        before = count_rows(url, "event")
        events = load(f"{base}/api/v1/events", token, bodies, seconds)
        stored = count_rows(url, "event") - before
        bare = load(f"{base}/bench/bare", token, bodies, seconds)
        print(
            f"POST /api/v1/events ({tool}, {seconds} s): {events.rate:,.0f} events/s"
            f"{events.latency()}"
        )
        print(f"  stored {stored:,} events for {events.responses:,} responses; "
              f"non-2xx: {events.failed:,}")  # fmt: skip
        print(
            f"bare POST, one Core insert in one write transaction, same app ({tool}, {seconds} s):"
            f" {bare.rate:,.0f} requests/s (non-2xx: {bare.failed:,}){bare.latency()}"
        )
        print(f"ratio events/bare: {events.rate / bare.rate:.2f} (target ≥ 500 events/s, ≥ 0.4)")
        transition_figures(client, url, key, bodies, transitions)


# --- figure 2: workflow steps -------------------------------------------------------------


def handler_tokens(url: str, key: str) -> dict[int, str]:
    """A token of one handler per unit (the one `sign` needs)."""
    with sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT u.unit_id, min(u.id) FROM user_account u JOIN user_role r ON r.user_id = u.id"
            " WHERE r.role = 'handler' AND u.unit_id IS NOT NULL GROUP BY u.unit_id"
        ).fetchall()
    return {unit: issue_token(user_id=user, key=key, minutes=600) for unit, user in rows}


def transition_figures(
    client: httpx.Client, url: str, key: str, bodies: list[bytes], count: int
) -> None:
    events = []
    for body in bodies[1:]:
        created = check(client.post("/api/v1/events", content=body), 201)
        if created["routing_state"] == "proposed":
            events.append(created["id"])
        if len(events) == count:
            break
    handlers = handler_tokens(url, key)
    timings: dict[str, list[float]] = {"accept": [], "dispatch": [], "sign": []}
    unsigned = 0
    for event_id in events:
        for action, version in (("accept", 1), ("dispatch", 2)):
            start = time.perf_counter()
            response = client.post(
                f"/api/v1/events/{event_id}/transitions",
                json={"action": action, "version": version},
            )
            timings[action].append(time.perf_counter() - start)
            out = check(response, 200)
        handler = handlers.get(out["owner_unit"]["id"])
        if handler is None:
            unsigned += 1
            continue
        as_handler = {"Authorization": f"Bearer {handler}"}
        # Untimed read first: a handler's first request loads them into the principal cache.
        check(client.get(f"/api/v1/events/{event_id}", headers=as_handler), 200)
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/events/{event_id}/transitions",
            json={"action": "sign", "version": 3},
            headers=as_handler,
        )
        timings["sign"].append(time.perf_counter() - start)
        check(response, 200)
    pings = []
    for _ in range(500):
        start = time.perf_counter()
        check(client.get("/bench/ping"), 200)
        pings.append(time.perf_counter() - start)
    ping_p50, _ = p50_p90(pings)
    for action, samples in timings.items():
        p50, p90 = p50_p90(samples)
        print(
            f"transition {action} (HTTP, one connection, sequential, {len(samples)}): "
            f"p50 {p50:.2f} ms, p90 {p90:.2f} ms (target p50 ≤ 10 ms)"
        )
    both_p50, both_p90 = p50_p90(timings["accept"] + timings["dispatch"] + timings["sign"])
    print(f"transitions, all three: p50 {both_p50:.2f} ms, p90 {both_p90:.2f} ms")
    print(f"bare GET /bench/ping, same server and connection: p50 {ping_p50:.2f} ms")
    print(f"ratio transition/bare GET p50: {both_p50 / ping_p50:.1f}x")
    if unsigned:
        print(f"# {unsigned} events not signed: no handler in their unit", file=sys.stderr)


# --- figure 3: the list at 1.1 M events ---------------------------------------------------


def build_big(url: str, events: int = BIG_EVENTS, scale: str = "keqiao") -> None:
    """Seed the district with 1.1 M events through the CLI, timed, and the copy limit."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)  # in process: one CLI start-up less
    start = time.perf_counter()
    cli(url, "seed", "--scale", scale, "--events", str(events))
    seconds = time.perf_counter() - start
    copy_url = f"sqlite:///{path.with_name(path.stem + '-copy.db')}"
    copy_path = sqlite_path(copy_url)
    try:
        upgrade(copy_url)
        connection = sqlite3.connect(copy_path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("ATTACH ? AS seeded", (f"file:{path}?mode=ro",))
        start = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO event SELECT * FROM seeded.event")
        connection.execute("INSERT INTO event_log SELECT * FROM seeded.event_log")
        connection.execute("COMMIT")
        copy = time.perf_counter() - start
        trail = connection.execute("SELECT count(*) FROM event_log").fetchone()[0]
        connection.close()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy_path}{suffix}").unlink(missing_ok=True)
    print(
        f"fengqiao seed --scale {scale} --events {events:,} (CLI, SQLite): {seconds:.1f} s "
        "(target ≤ 300 s)"
    )
    print(
        f"limit: INSERT … SELECT of the same {events:,} events and {trail:,} trail rows "
        f"into an empty migrated file: {copy:.1f} s; ratio seed/copy: {seconds / copy:.1f}x"
    )


def list_cases(url: str) -> tuple[str, list[tuple[str, dict[str, str]]]]:
    """The busiest town and the list queries to time there."""
    with sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True) as connection:
        town_id, events = connection.execute(
            "SELECT town_id, count(*) FROM event GROUP BY town_id ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        name = connection.execute("SELECT name FROM org_unit WHERE id = ?", (town_id,)).fetchone()
        majors = connection.execute(
            "SELECT major_code, count(*) FROM event WHERE town_id = ? GROUP BY major_code "
            "ORDER BY 2 DESC",
            (town_id,),
        ).fetchall()
    town = {"town": str(town_id), "size": "50"}
    common, rare = majors[0][0], majors[-1][0]
    cases = [
        ("town", town),
        ("town, status=dispatched,signed&level=2", {**town, "status": "dispatched,signed",
                                                    "level": "2"}),
        ("town, overdue=true", {**town, "overdue": "true"}),
        ("town, light=red", {**town, "light": "red"}),
        (f"town, category={common} (its commonest major class)", {**town, "category": common}),
        (f"town, category={rare} (its rarest major class)", {**town, "category": rare}),
    ]  # fmt: skip
    return f"{name[0]} (id {town_id}, {events:,} events)", cases


def list_sql(url: str, params: dict[str, str]) -> tuple[str, Any]:
    """The page query the app runs for these parameters, captured at the driver."""
    database = Database(url)
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    with database.session() as db:
        user_id = db.scalar(select(User.id).where(User.username == OPERATOR))
        principal = load_principal(db=db, user_id=user_id or 0)
        assert principal is not None
        given: dict[str, Any] = {k: v for k, v in params.items() if k != "size"}
        if "overdue" in given:
            given["overdue"] = given["overdue"] == "true"
        filters = asyncio.run(queries.event_filters(**given))  # a FastAPI dependency
        seen.clear()
        queries.page(db, filters, principal, datetime.now(UTC), size=int(params["size"]))
    database.dispose()
    return next((s, p) for s, p in seen if re.search(r"\bFROM event\s", s))


def raw_p50(url: str, statement: str, parameters: Any, runs: int) -> float:
    connection = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
    samples = []
    for index in range(runs + 10):
        start = time.perf_counter()
        connection.execute(statement, parameters).fetchall()
        if index >= 10:  # the first runs warm the page cache
            samples.append(time.perf_counter() - start)
    connection.close()
    return p50_p90(samples)[0]


def list_figures(url: str, runs: int) -> None:
    key = secrets.token_urlsafe(32)
    ro_url = read_only(url)
    town, cases = list_cases(url)
    token = token_for(ro_url, OPERATOR, key)
    total = count_rows(url, "event")
    print(f"# list: {total:,} events; town {town}; as {OPERATOR}; {runs} requests each")
    with (
        served(ro_url, key) as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        for label, params in cases:
            samples, items = [], 0
            for index in range(runs + 10):
                start = time.perf_counter()
                response = client.get("/api/v1/events", params=params)
                if index >= 10:
                    samples.append(time.perf_counter() - start)
                items = len(check(response, 200)["items"])
            p50, p90 = p50_p90(samples)
            statement, parameters = list_sql(ro_url, params)
            bare = raw_p50(url, statement, parameters, runs)
            print(
                f"GET /api/v1/events {label}, {items} items: p50 {p50:.1f} ms, p90 {p90:.1f} ms "
                f"(target p50 ≤ 50 ms); same SQL in raw sqlite3: p50 {bare:.2f} ms; "
                f"ratio {p50 / bare:.1f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--db",
        default=f"sqlite:///{ROOT / 'var' / 'bench-events.db'}",
        help="Small database for figures 1-2, recreated each run.",
    )
    parser.add_argument(
        "--big-db",
        default=f"sqlite:///{ROOT / 'var' / 'bench-events-1m.db'}",
        help="Database with 1.1 M events for figure 3 (built when missing; only read).",
    )
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--transitions", type=int, default=300)
    parser.add_argument("--list-requests", type=int, default=100)
    parser.add_argument("--skip-post", action="store_true", help="Skip figures 1-2.")
    parser.add_argument("--skip-big", action="store_true", help="Skip figure 3.")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="A small district in a temporary folder: checks the script runs.",
    )
    args = parser.parse_args()  # fmt: skip
    if args.smoke:
        with tempfile.TemporaryDirectory(prefix="fq-bench-events-") as tmp:
            os.environ["FENGQIAO_DATA_DIR"] = tmp  # what the CLI writes, not into var/
            print("# smoke mode: one town, 300 events for the list, 1 s of load; "
                  "the figures below mean nothing")  # fmt: skip
            post_figures(f"sqlite:///{tmp}/events.db", 1, 6, "small", 200)
            build_big(f"sqlite:///{tmp}/big.db", 300, "small")
            list_figures(f"sqlite:///{tmp}/big.db", 3)
        return
    if not args.skip_post:
        post_figures(args.db, args.seconds, args.transitions)
    if not args.skip_big:
        if not sqlite_path(args.big_db).exists():
            build_big(args.big_db)
        list_figures(args.big_db, args.list_requests)


if __name__ == "__main__":
    main()
