"""Figures of the live streams that scale (issue 21, item 5): N open SSE streams on one instance.

    .venv/bin/python bench/bench_streams.py [--streams 5000] [--idle 30] [--smoke]

One `fengqiao serve` (one process, uvloop and httptools) on a throwaway PostgreSQL database
with the small demo district. A client in another process (asyncio, raw sockets) opens N
`GET /api/v1/live/stream` as the district operator (a command room: each stream follows the
district's towns and the operator's messages). Measured on the server's process: its extra
memory (RSS with the streams open less RSS before; /proc), its CPU over `--idle` seconds with
every stream open and nothing happening (utime + stime from /proc, as % of one core), and one
urgent event filed through the API: the time from the request to each stream's `alarm` frame
(p50, p99, max; CLOCK_REALTIME of the same machine in both processes), with the CPU the
server and the client (one uvloop process reading every stream) spent meanwhile: on a loaded
2-core machine the client can be the bottleneck, for the bare limit as for ours.

Bare limit, in the same run: a bare Starlette app under the same uvicorn settings whose SSE
endpoint holds N streams, each waiting on an asyncio event that a POST sets (no database, no
auth, no fan-out): the same three figures and the ratios.
`--smoke`: 50 streams and a 3-second idle window (checks the script runs; the figures mean
nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
PASSWORD = "bench-streams-password"
POSTGRES = os.environ.get(
    "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
OPEN_AT_ONCE = 100  # streams the client opens concurrently (a room's browsers arrive over time)

BARE_APP = textwrap.dedent(
    """
    import asyncio
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    fired = asyncio.Event()

    async def stream(request):
        async def events():
            yield b"retry: 3000\\n\\n"
            while True:
                try:
                    await asyncio.wait_for(fired.wait(), 15)
                except TimeoutError:
                    yield b": keep-alive\\n\\n"
                    continue
                yield b'event: alarm\\ndata: {"id": 1}\\n\\n'
                await asyncio.sleep(3600)
        return StreamingResponse(events(), media_type="text/event-stream")

    async def fire(request):
        fired.set()
        return PlainTextResponse("ok", status_code=201)

    async def health(request):
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/stream", stream), Route("/fire", fire, methods=["POST"]),
                            Route("/healthz", health)])
    """
)


# --- the client (a process of its own) ------------------------------------------------------


async def _open(port: int, path: str, token: str, opened: asyncio.Future[None]) -> float | None:
    """One stream: `opened` once its first frame came, then the arrival time of the first
    `alarm` frame after the client is armed (None if the stream ends first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{auth}\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    # Lines are read whole: the chunked encoding's size lines come on lines of their own.
    while True:
        line = await reader.readline()
        if not line:
            return None
        if not opened.done() and line.startswith(b"retry:"):
            opened.set_result(None)
        elif line.startswith(b"event: alarm") and ARMED.is_set():
            return time.time()


ARMED = asyncio.Event()


async def client(port: int, path: str, token: str, count: int) -> None:
    """Open `count` streams; say so; on "arm", time each one's next alarm frame."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    started = time.monotonic()
    done: list[None] = []

    async def one() -> asyncio.Task[float | None]:
        async with gate:
            opened: asyncio.Future[None] = loop.create_future()
            task = asyncio.create_task(_open(port, path, token, opened))
            waits: set[asyncio.Future[Any]] = {opened, task}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not opened.done():
                task.result()  # a refused stream raises here
                raise RuntimeError("a stream ended before it opened")
            done.append(None)
            return task

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            print(f"# {len(done)} of {count} open", file=sys.stderr, flush=True)

    shown = asyncio.create_task(progress())
    tasks = await asyncio.gather(*(one() for _ in range(count)))
    shown.cancel()
    print(f"open {count} {time.monotonic() - started:.2f}", flush=True)
    command = await loop.run_in_executor(None, sys.stdin.readline)
    assert command.strip() == "arm", command
    ARMED.set()
    cpu0, wall0 = time.process_time(), time.monotonic()
    print("armed", flush=True)
    arrivals = await asyncio.wait_for(asyncio.gather(*tasks), 120)
    # The client's own CPU from "armed" to the last alarm frame: near 100 % of its wall time means
    # the client (one process reading every stream) was the bottleneck, not the server.
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    print("times " + json.dumps({"arrivals": arrivals, "cpu": cpu, "wall": wall}), flush=True)


# --- the server's side ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def measure(
    pid: int, port: int, path: str, token: str, count: int, idle: float, fire: object
) -> dict[str, float]:
    """Open `count` streams from a client process, then the figures of the server `pid`."""
    # One stream opened and closed first: what the first one loads (code paths, caches, the
    # listener's connection) is not counted as the streams' memory.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.stream("GET", f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30) as r:
        next(r.iter_lines())
    time.sleep(1.0)
    before = rss_bytes(pid)
    streams = subprocess.Popen(
        [sys.executable, __file__, "--client", str(port), path, token, str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert streams.stdin is not None and streams.stdout is not None
    try:
        opened = streams.stdout.readline().split()
        assert opened[:2] == ["open", str(count)], opened
        time.sleep(2.0)  # the first rounds' reads settle
        after = rss_bytes(pid)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(idle)
        idle_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        streams.stdin.write("arm\n")
        streams.stdin.flush()
        assert streams.stdout.readline().strip() == "armed"
        cpu_alarm0 = cpu_seconds(pid)
        sent = time.time()
        fire()  # type: ignore[operator]
        line = streams.stdout.readline()
        assert line.startswith("times "), line
        got = json.loads(line.removeprefix("times "))
        arrivals = got["arrivals"]
        assert None not in arrivals, "a stream ended before its alarm"
        latencies = sorted(a - sent for a in arrivals)
        return {
            "open_s": float(opened[2]),
            "extra_mb": (after - before) / 2**20,
            "idle_cpu": idle_cpu * 100,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "max": latencies[-1],
            "client_cpu": got["cpu"],
            "client_wall": got["wall"],
            "server_cpu_alarm": cpu_seconds(pid) - cpu_alarm0,
        }
    finally:
        streams.kill()
        streams.wait()


def report(name: str, figures: dict[str, float], count: int) -> None:
    print(
        f"{name}: {count} streams open in {figures['open_s']:.1f} s; extra memory "
        f"{figures['extra_mb']:.1f} MB; idle CPU {figures['idle_cpu']:.2f} % of a core; "
        f"one alarm to all: p50 {figures['p50'] * 1000:.0f} ms, p99 "
        f"{figures['p99'] * 1000:.0f} ms, max {figures['max'] * 1000:.0f} ms; CPU during the "
        f"alarm: server {figures['server_cpu_alarm']:.2f} s, client {figures['client_cpu']:.2f} s "
        f"of its {figures['client_wall']:.2f} s"
    )


def run_fengqiao(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    base = make_url(POSTGRES).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"fq_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": url,
        "FENGQIAO_DATA_DIR": str(folder),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-streams-not-secret-0123456789abcdef",
        "FENGQIAO_RATE_LIMIT_ENABLED": "false",
        "FENGQIAO_LOG_LEVEL": "warning",
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [FENGQIAO, "seed", "--scale", "small"], env=env, check=True, capture_output=True
        )
        port = free_port()
        server = subprocess.Popen(
            [FENGQIAO, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        wait_up(port, server)
        api = f"http://127.0.0.1:{port}/api/v1"

        def token(user: str) -> str:
            response = httpx.post(
                f"{api}/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
            )
            response.raise_for_status()
            return str(response.json()["access_token"])

        operator, worker = token("demo_district_operator"), token("demo_grid_worker")
        point = _grid_point(url)

        def fire() -> None:
            body = {
                "source": "grid_worker", "category": point[2], "urgent": True,
                "description": "一键报警：基准", "lat": point[0], "lng": point[1],
            }  # fmt: skip
            response = httpx.post(
                f"{api}/events", json=body, headers={"Authorization": f"Bearer {worker}"},
                timeout=60,
            )  # fmt: skip
            response.raise_for_status()

        return measure(
            server.pid, port, "/api/v1/live/stream", operator, args.streams, args.idle, fire
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _grid_point(url: str) -> tuple[float, float, str]:
    """A point in the grid worker's grid and a class to file there (as the tests find them)."""
    from fengqiao.db import Database

    sys.path.insert(0, str(ROOT))
    from tests.events.conftest import make_world

    database = Database(url)
    try:
        with database.session() as db:
            world = make_world(db)
            return world.grid_point[0], world.grid_point[1], world.handler_category
    finally:
        database.dispose()


def run_bare(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    (folder / "bare_sse.py").write_text(BARE_APP)
    port = free_port()
    server = subprocess.Popen(
        [UVICORN, "bare_sse:app", "--port", str(port), "--loop", "uvloop", "--http",
         "httptools", "--log-level", "warning"],
        cwd=folder,
    )  # fmt: skip
    try:
        wait_up(port, server)

        def fire() -> None:
            httpx.post(f"http://127.0.0.1:{port}/fire").raise_for_status()

        return measure(server.pid, port, "/stream", "", args.streams, args.idle, fire)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, path, token, count = sys.argv[2:6]
        uvloop.run(client(int(port), path, token, int(count)))  # the server's loop, too
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=30.0, help="idle CPU window, seconds")
    parser.add_argument("--smoke", action="store_true", help="50 streams, a 3 s idle window")
    args = parser.parse_args()
    if args.smoke:
        print("# smoke mode: 50 streams, 3 s idle; the figures below mean nothing")
        args.streams, args.idle = 50, 3.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.streams * 2 + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="fq-streams-") as tmp:
        ours = run_fengqiao(args, Path(tmp))
        bare = run_bare(args, Path(tmp))
    report("fengqiao serve, GET /api/v1/live/stream (district operator)", ours, args.streams)
    report("bare Starlette SSE, asyncio event", bare, args.streams)
    print(
        f"  ratios: memory {ours['extra_mb'] / max(bare['extra_mb'], 0.1):.1f}x, idle CPU "
        f"{ours['idle_cpu'] / max(bare['idle_cpu'], 0.01):.1f}x, p99 "
        f"{ours['p99'] / max(bare['p99'], 0.001):.1f}x"
    )
    print(f"  load average {os.getloadavg()[0]:.2f} (2 cores shared with other work)")


if __name__ == "__main__":
    main()
