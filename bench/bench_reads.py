"""The command room's hot reads under load: `GET /api/v1/command/situation`,
`GET /api/v1/command/events.geojson` and `GET /api/v1/events?size=50` with wrk (Debian package
`wrk`) at `--connections` concurrent clients, one uvicorn instance on SQLite, the demo year.

    .venv/bin/python bench/bench_reads.py [--events 100000] [--seconds 10] [--connections 50]
    .venv/bin/python bench/bench_reads.py --smoke      # a small town, 300 events, 1 s each, no uncached run

For each read, in the same run:
- `cached`: the server as shipped (read caches on), every client with the same bearer token
  and `Accept-Encoding: gzip`, as the screens of one command room;
- `uncached`: the same server with `FENGQIAO_READ_CACHE_SECONDS=0` (every request reads the
  database: the indexes and query shapes alone);
- `304`: the cached read with the answer's ETag in `If-None-Match` (a polling page);
- `bare`: the limit: a bare FastAPI app on the same uvicorn flags returning the same bytes
  (gzip-compressed ahead, as ours are) without authentication or database.

The district (`--scale keqiao`, `--events` over the past year, as `make demo` seeds) is built once
into `--db` and reused. The machine's load average is printed before and after: other work on
the machine shows in the figures. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_http import free_port  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
PASSWORD = "bench-reads-password"
READS = {
    "situation": "/api/v1/command/situation",
    "events.geojson": "/api/v1/command/events.geojson",
    "events?size=50": "/api/v1/events?size=50",
}
TARGET_P99_MS = {"situation": 100, "events.geojson": 300, "events?size=50": 150}
BARE_APP = """
from pathlib import Path
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()
FOLDER = Path(__file__).parent
BODIES = {p.stem: (p.read_bytes(), (FOLDER / (p.stem + ".gz")).read_bytes())
          for p in FOLDER.glob("*.body")}

@app.get("/bare/{name}")
async def bare(name: str, request: Request) -> Response:
    raw, packed = BODIES[name]
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type="application/json",
                        headers={"Content-Encoding": "gzip"})
    return Response(raw, media_type="application/json")

@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
"""


@dataclass
class Figure:
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int


def build(db: Path, env: dict[str, str], *, scale: str, events: int) -> None:
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    if db.exists() and db.stat().st_size > 1_000_000:
        probe = subprocess.run(
            [FENGQIAO, "seed", "--scale", scale, "--if-empty"], env=env, capture_output=True
        )
        if probe.returncode == 0:
            return
    started = time.perf_counter()
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"# built {db} ({scale}, {events} events) in {time.perf_counter() - started:.0f} s")


def serve(args: list[str], env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [UVICORN, *args, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"],
        env=env, cwd=cwd,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"server {args} did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, headers: dict[str, str], *, seconds: int, connections: int) -> Figure:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
               "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    assert rate and percentiles, out
    return Figure(
        _ms(percentiles["50"]),
        _ms(percentiles["99"]),
        float(rate.group(1)),
        int(errors.group(1) if errors else 0) + int(timeouts.group(1) if timeouts else 0),
    )


def line(label: str, figure: Figure, target: float | None = None) -> str:
    goal = f", target p99 <= {target:.0f} ms" if target else ""
    bad = f", {figure.errors} errors/timeouts" if figure.errors else ""
    return (
        f"{label}: p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms, "
        f"{figure.rps:,.0f} req/s{goal}{bad}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--user", default="demo_district_operator")
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="small town, 300 events, 1 s each, no uncached run"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (scripts/browser_deps.sh)")
    scale = "small" if args.smoke else "keqiao"
    events = 300 if args.smoke else args.events
    seconds = 1 if args.smoke else args.seconds
    user = "demo_operator" if args.smoke else args.user
    # The smoke run builds its tiny district in the temporary folder (the smoke test's own).
    folder = Path(tempfile.gettempdir()) if args.smoke else ROOT / "var"
    db = args.db or folder / f"bench-reads-{scale}-{events}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="fq-reads-"))
    env = os.environ | {
        "FENGQIAO_DATABASE_URL": f"sqlite:///{db}",
        "FENGQIAO_DATA_DIR": str(data),
        "FENGQIAO_DEMO_PASSWORD": PASSWORD,
        "FENGQIAO_SECRET_KEY": "bench-reads-not-secret-0123456789abcdef",
        "FENGQIAO_LOG_LEVEL": "warning",
    }
    build(db, env, scale=scale, events=events)
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# wrk -t2 -c{args.connections} -d{seconds}s, user {user}, {events} events ({scale})")

    figures: dict[str, dict[str, Figure]] = {name: {} for name in READS}
    bodies: dict[str, tuple[bytes, str]] = {}
    modes = [("cached", "5")] if args.smoke else [("cached", "5"), ("uncached", "0")]
    for mode, cache_seconds in modes:
        port = free_port()
        server = serve(
            ["--factory", "fengqiao.app:create_app"],
            env | {"FENGQIAO_READ_CACHE_SECONDS": cache_seconds},
            port,
            ROOT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            login = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}
            )
            login.raise_for_status()
            headers = {
                "Authorization": f"Bearer {login.json()['access_token']}",
                "Accept-Encoding": "gzip",
            }
            for name, path in READS.items():
                first = httpx.get(base + path, headers=headers, timeout=60)
                first.raise_for_status()
                bodies.setdefault(name, (first.content, first.headers["etag"]))
                figures[name][mode] = wrk(
                    base + path, headers, seconds=seconds, connections=args.connections
                )
                if mode == "cached":
                    figures[name]["304"] = wrk(
                        base + path,
                        headers | {"If-None-Match": first.headers["etag"]},
                        seconds=seconds,
                        connections=args.connections,
                    )
        finally:
            stop(server)

    folder = Path(tempfile.mkdtemp(prefix="fq-reads-bare-"))
    (folder / "bare_app.py").write_text(BARE_APP)
    for index, (_name, (body, _etag)) in enumerate(bodies.items()):
        (folder / f"r{index}.body").write_bytes(body)
        (folder / f"r{index}.gz").write_bytes(gzip.compress(body, 6))
    bare_port = free_port()
    bare = serve(["bare_app:app"], env, bare_port, folder)
    try:
        for index, name in enumerate(READS):
            url = f"http://127.0.0.1:{bare_port}/bare/r{index}"
            figures[name]["bare"] = wrk(
                url, {"Accept-Encoding": "gzip"}, seconds=seconds, connections=args.connections
            )
    finally:
        stop(bare)

    for name in READS:
        size = len(bodies[name][0])
        row = figures[name]
        print(f"GET {READS[name]} ({size / 1024:.0f} KB JSON)")
        print("  " + line("cached", row["cached"], TARGET_P99_MS[name]))
        if "uncached" in row:
            print("  " + line("uncached (cache off)", row["uncached"]))
        print("  " + line("304 (If-None-Match)", row["304"]))
        print("  " + line("bare FastAPI, same bytes", row["bare"]))
        print(
            f"  ratio cached/bare: {row['cached'].rps / row['bare'].rps:.2f} of the bare "
            f"throughput, p99 {row['cached'].p99_ms / max(row['bare'].p99_ms, 0.001):.1f}x"
        )
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
