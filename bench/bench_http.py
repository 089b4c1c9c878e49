"""HTTP figures of the foundation: `GET /api/v1/grids/locate` latency and throughput, one uvicorn
worker on loopback, against a bare FastAPI endpoint served the same way (the limit).

    .venv/bin/python bench/bench_http.py [--db sqlite:///var/bench-keqiao.db] [--seconds 10]
                                         [--requests 5000] [--smoke]

Seeds the Keqiao demo district into the given SQLite file first when it is empty. Throughput is
measured with wrk (Debian package `wrk`) when installed, else with a Python keep-alive client,
which then is the bottleneck and the figure is a floor. Prints one line per figure. `--smoke`:
a small district (one town) in a temporary folder, 100 sequential requests, 1 s of load (checks
the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/bare")
async def bare(lat: float, lng: float) -> dict[str, float]:
    return {"lat": lat, "lng": lng}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(target: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    args = [PYTHON, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
            "--no-access-log"]  # fmt: skip
    if target.endswith("create_app"):
        args.append("--factory")
    process = subprocess.Popen(args, env=env, cwd=cwd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server {target} did not start")


def sample_points(n: int) -> list[tuple[float, float]]:
    rng = random.Random(7)
    return [(rng.uniform(30.0, 30.15), rng.uniform(120.40, 120.60)) for _ in range(n)]


def latency_p50(url: str, headers: dict[str, str], points: list[tuple[float, float]]) -> float:
    samples = []
    with httpx.Client(headers=headers) as client:
        for lat, lng in points[:200]:
            client.get(url, params={"lat": lat, "lng": lng})  # warm up
        for lat, lng in points:
            start = time.perf_counter()
            response = client.get(url, params={"lat": lat, "lng": lng})
            samples.append(time.perf_counter() - start)
            if response.status_code not in (200, 422):
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")
    return statistics.median(samples) * 1000


def wrk_rate(
    url: str, headers: dict[str, str], points: list[tuple[float, float]], seconds: int
) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        paths = ",".join(f'"?lat={lat:.6f}&lng={lng:.6f}"' for lat, lng in points[:2000])
        script.write(f"local q = {{{paths}}}\nlocal i = 0\n")
        for name, value in headers.items():
            script.write(f'wrk.headers["{name}"] = "{value}"\n')
        script.write(
            "request = function()\n  i = i % #q + 1\n  return wrk.format(nil, wrk.path .. q[i])\nend\n"
        )
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", "16", "-d", f"{seconds}s", "-s", script.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(script.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors and int(errors.group(1)) > 0:
        print(f"# wrk saw {errors.group(1)} non-2xx responses", file=sys.stderr)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def python_rate(
    url: str, headers: dict[str, str], points: list[tuple[float, float]], seconds: int
) -> float:
    done, deadline = 0, time.monotonic() + seconds
    with httpx.Client(headers=headers) as client:
        while time.monotonic() < deadline:
            lat, lng = points[done % len(points)]
            client.get(url, params={"lat": lat, "lng": lng})
            done += 1
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'var' / 'bench-keqiao.db'}")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--requests", type=int, default=5000, help="sequential requests for the p50"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 100 requests, 1 s: checks the script runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args, "keqiao")
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-http-") as tmp:
        args.db, args.seconds, args.requests = f"sqlite:///{tmp}/http.db", 1, 100
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # the secret key and the like, not var/
        print("# smoke mode: one town, 100 requests, 1 s of load; the figures below mean nothing")
        run(args, "small")


def run(args: argparse.Namespace, scale: str) -> None:
    env = dict(os.environ, FENGQIAO_DATABASE_URL=args.db, FENGQIAO_LOG_LEVEL="warning")
    env.setdefault("FENGQIAO_DEMO_PASSWORD", "bench-password")
    fengqiao = str(Path(PYTHON).with_name("fengqiao"))
    subprocess.run([fengqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [fengqiao, "seed", "--scale", scale, "--if-empty"], env=env, check=True,
        capture_output=True,
    )  # fmt: skip

    port, bare_port = free_port(), free_port()
    points = sample_points(args.requests)
    rate = wrk_rate if shutil.which("wrk") else python_rate
    tool = "wrk -t1 -c16" if shutil.which("wrk") else "python client (floor)"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_app.py").write_text(BARE_APP)
        server = serve("fengqiao.app:create_app", port, env, ROOT)
        try:
            login = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/token",
                data={"username": "demo_device", "password": env["FENGQIAO_DEMO_PASSWORD"]},
            )
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            url = f"http://127.0.0.1:{port}/api/v1/grids/locate"
            p50 = latency_p50(url, headers, points)
            rps = rate(url, headers, points, args.seconds)
        finally:
            server.terminate()
            server.wait()
        bare = serve("bare_app:app", bare_port, env, Path(tmp))
        try:
            bare_url = f"http://127.0.0.1:{bare_port}/bare"
            bare_p50 = latency_p50(bare_url, {}, points)
            bare_rps = rate(bare_url, {}, points, args.seconds)
        finally:
            bare.terminate()
            bare.wait()
    print(f"locate p50 (one connection, sequential): {p50:.2f} ms")
    print(f"bare FastAPI p50 (one connection, sequential): {bare_p50:.2f} ms")
    print(f"locate throughput ({tool}, {args.seconds} s): {rps:,.0f} requests/s")
    print(f"bare FastAPI throughput ({tool}, {args.seconds} s): {bare_rps:,.0f} requests/s")
    print(f"ratio locate/bare: {rps / bare_rps:.2f}")


if __name__ == "__main__":
    main()
