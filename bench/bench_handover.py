"""Handover to message in the recipient's inbox (issue 17): from an operator's 交办 to the message
in the unit handler's in-app inbox, with a real server and a real `fengqiao worker` running.

    .venv/bin/python bench/bench_handover.py [--dispatches 60] [--events 3000]
                                             [--outbox-poll 0.5] [--smoke]

Seeds the small demo district (one town) with `--events` events of history into a SQLite file
in a temporary folder (so the worker's other jobs have a year to sweep and roll up while it
sends), starts `fengqiao serve`'s app (one uvicorn worker) and `fengqiao worker` as separate
processes with the shipped settings (FENGQIAO_OUTBOX_POLL_SECONDS from `--outbox-poll`), then
N times: demo_grid_worker files an event, demo_operator accepts it and, at a random moment,
dispatches it; the clock starts before the dispatch request and stops when demo_handler's
`GET /api/v1/me/notifications` (polled every 20 ms) first lists the message about that event.

The limit, in the same run: the same dispatch request's own latency plus one inbox read (what
the figure would be if the message were in the inbox the moment the step committed); the rest is
the worker's wait for its next look at the outbox (half of `--outbox-poll` on average) and the
send. Prints one line per figure. `--smoke`: 3 dispatches on a district without history
(checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import shapely
from shapely.geometry import shape
from sqlalchemy import select

from fengqiao.auth.models import User
from fengqiao.db import Database
from fengqiao.events.filing import route
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FENGQIAO = str(Path(PYTHON).with_name("fengqiao"))
PASSWORD = "bench-handover-password"
POLL = 0.02  # how often the bench reads the handler's inbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def where_and_what(url: str) -> tuple[tuple[float, float], str]:
    """A point in demo_grid_worker's grid and a class that routes to demo_handler's unit."""
    database = Database(url)
    try:
        with database.session() as db:
            worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
            handler = db.scalars(select(User).where(User.username == "demo_handler")).one()
            grid = db.get(OrgUnit, worker.home_org_id)
            assert grid is not None and grid.geometry is not None
            point = shapely.get_coordinates(shape(grid.geometry).representative_point())[0]
            town_id = int(grid.path.strip("/").split("/")[1])
            rules = load_rules(db)
            for code, category in sorted(rules.categories.items()):
                proposal = route(
                    rules, category_code=code, level=max(category.default_level, 2),
                    place_ids=(grid.parent_id or 0, town_id),
                )  # fmt: skip
                if proposal.unit_id == handler.unit_id and category.default_level == 2:
                    return (float(point[1]), float(point[0])), code
    finally:
        database.dispose()
    raise SystemExit("no class routes to demo_handler's unit")


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=out)


def check(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise SystemExit(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:1000]}"
        )
    return response.json()


class Desk:
    """The demo users over HTTP."""

    def __init__(self, base: str, point: tuple[float, float], category: str) -> None:
        self.client = httpx.Client(base_url=base + "/api/v1", timeout=30)
        self.point, self.category = point, category
        self.headers: dict[str, dict[str, str]] = {}
        for user in ("demo_grid_worker", "demo_operator", "demo_handler"):
            token = check(
                self.client.post("/auth/token", data={"username": user, "password": PASSWORD}),
                200,
            )["access_token"]
            self.headers[user] = {"Authorization": f"Bearer {token}"}

    def accepted(self, n: int) -> dict[str, Any]:
        lat, lng = self.point
        body = {"source": "grid_worker", "category": self.category, "lat": lat, "lng": lng,
                "description": f"人行道上有人占道经营（测量 {n}）", "address": "柯桥街道某路"}  # fmt: skip
        event = check(
            self.client.post("/events", json=body, headers=self.headers["demo_grid_worker"]), 201
        )
        return self.step(event, "accept")

    def step(self, event: dict[str, Any], action: str) -> dict[str, Any]:
        body = {"action": action, "version": event["version"]}
        return dict(
            check(
                self.client.post(
                    f"/events/{event['id']}/transitions", json=body,
                    headers=self.headers["demo_operator"],
                ),
                200,
            )
        )  # fmt: skip

    def inbox_has(self, event_id: int) -> bool:
        listed = check(
            self.client.get(
                "/me/notifications", params={"limit": 20}, headers=self.headers["demo_handler"]
            ),
            200,
        )
        return any(n["event_id"] == event_id for n in listed["items"])

    def handover(
        self, n: int, rng: random.Random, timeout: float, cadence: float
    ) -> tuple[float, float, float]:
        """(seconds to the inbox, the dispatch request's own seconds, one inbox read's)."""
        event = self.accepted(n)
        # A random phase against the worker's cadence: the previous handover ended just after
        # one of its looks, so without this every dispatch would wait nearly a whole interval.
        time.sleep(rng.uniform(0.0, max(1.0, cadence)))
        started = time.perf_counter()
        event = self.step(event, "dispatch")
        stepped = time.perf_counter()
        while True:
            asked = time.perf_counter()
            if self.inbox_has(event["id"]):
                seen = time.perf_counter()
                return seen - started, stepped - started, seen - asked
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"no message about event {event['id']} after {timeout} s")
            time.sleep(POLL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatches", type=int, default=60)
    parser.add_argument("--events", type=int, default=3000, help="events of history to seed")
    parser.add_argument("--outbox-poll", type=float, default=0.5,
                        help="FENGQIAO_OUTBOX_POLL_SECONDS of the worker")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="3 dispatches, no history")
    args = parser.parse_args()
    if args.smoke:
        args.dispatches, args.events = 3, 0
        print("# smoke mode: 3 dispatches, no history; the figures below mean nothing")
    with tempfile.TemporaryDirectory(prefix="fq-bench-handover-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    url = f"sqlite:///{tmp / 'handover.db'}"
    env = dict(
        os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_DATA_DIR=str(tmp),
        FENGQIAO_SECRET_KEY="bench-handover-key-0123456789abcdef", FENGQIAO_LOG_LEVEL="warning",
        FENGQIAO_DEMO_PASSWORD=PASSWORD, FENGQIAO_MQTT_ENABLED="false",
        FENGQIAO_OUTBOX_POLL_SECONDS=str(args.outbox_poll),
    )  # fmt: skip
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    seed = [FENGQIAO, "seed", "--scale", "small"]
    if args.events:
        seed += ["--events", str(args.events)]
    subprocess.run(seed, env=env, check=True, capture_output=True)
    point, category = where_and_what(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(
        [PYTHON, "-m", "uvicorn", "fengqiao.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
         "--log-level", "warning", "--no-access-log"], env, tmp / "server.log",
    )  # fmt: skip
    worker = start([FENGQIAO, "worker"], env, tmp / "worker.log")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        desk = Desk(base, point, category)
        rng = random.Random(17)
        # The first handover waits for the worker to come up (and sweep the year): not counted.
        desk.handover(0, rng, timeout=600, cadence=args.outbox_poll)
        samples = [
            desk.handover(n, rng, timeout=60, cadence=args.outbox_poll)
            for n in range(1, args.dispatches + 1)
        ]
    finally:
        for process in (worker, server):
            process.terminate()
        for process in (worker, server):
            process.wait(30)
    total = [s[0] for s in samples]
    bare = [s[1] + s[2] for s in samples]
    p50, bare_p50 = statistics.median(total), statistics.median(bare)
    p90 = statistics.quantiles(total, n=10)[8] if len(total) >= 10 else max(total)
    print(
        f"handover to inbox, {len(total)} dispatches, server + worker on SQLite, "
        f"outbox_poll_seconds={args.outbox_poll}: p50 {p50 * 1000:.0f} ms, "
        f"p90 {p90 * 1000:.0f} ms, max {max(total) * 1000:.0f} ms"
    )
    print(
        f"bare limit (the dispatch request + one inbox read, as if delivered at commit): "
        f"p50 {bare_p50 * 1000:.0f} ms; worker's look at the outbox every "
        f"{args.outbox_poll * 1000:.0f} ms (half of it on average)"
    )
    print(f"ratio handover/bare: {p50 / bare_p50:.1f}")


if __name__ == "__main__":
    main()
