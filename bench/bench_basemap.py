"""The local base map layer: `GET /api/v1/basemap/features` for the whole Keqiao demo district
(the district operator: every road, river and lake), one uvicorn worker on loopback, against a
bare FastAPI endpoint served the same way that returns the same GeoJSON bytes (the limit).

    .venv/bin/python bench/bench_basemap.py [--requests 2000] [--smoke]

Seeds the Keqiao district (no events) into a temporary SQLite file, then times `--requests`
sequential requests on one keep-alive connection, gzip accepted as a browser does, after 100
warm-up requests. Prints the p50 of each and their ratio. `--smoke`: one town, 50 requests
(checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
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
WARM_UP = 100
BARE_APP = """
import gzip
from pathlib import Path
from fastapi import FastAPI, Request, Response

app = FastAPI()
BODY = Path(__file__).with_name("features.geojson").read_bytes()
ZIPPED = gzip.compress(BODY, compresslevel=5)

@app.get("/bare")
def bare(request: Request) -> Response:
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(ZIPPED, media_type="application/geo+json",
                        headers={"Content-Encoding": "gzip"})
    return Response(BODY, media_type="application/geo+json")
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


def p50_ms(url: str, headers: dict[str, str], requests: int) -> tuple[float, int]:
    """Median milliseconds of `requests` sequential GETs, and the body's size as sent."""
    samples = []
    sent = 0
    with httpx.Client(headers=headers | {"Accept-Encoding": "gzip"}) as client:
        for _ in range(WARM_UP):
            client.get(url).raise_for_status()
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - start)
            response.raise_for_status()
            sent = int(response.headers.get("content-length", len(response.content)))
    return statistics.median(samples) * 1000, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 50 requests: checks the script runs"
    )
    args = parser.parse_args()
    scale = "keqiao"
    if args.smoke:
        args.requests, scale = 50, "small"
        print("# smoke mode: one town, 50 requests; the figures below mean nothing")
    with tempfile.TemporaryDirectory(prefix="fq-bench-basemap-") as tmp:
        run(args, scale, Path(tmp))


def run(args: argparse.Namespace, scale: str, tmp: Path) -> None:
    env = dict(
        os.environ,
        FENGQIAO_DATABASE_URL=f"sqlite:///{tmp}/basemap.db",
        FENGQIAO_DATA_DIR=str(tmp),
        FENGQIAO_LOG_LEVEL="warning",
        FENGQIAO_DEMO_PASSWORD="bench-basemap-password",
        FENGQIAO_BASEMAP_URL="",
    )
    fengqiao = str(Path(PYTHON).with_name("fengqiao"))
    subprocess.run([fengqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([fengqiao, "seed", "--scale", scale], env=env, check=True, capture_output=True)
    port, bare_port = free_port(), free_port()
    server = serve("fengqiao.app:create_app", port, env, ROOT)
    try:
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "demo_district_operator", "password": env["FENGQIAO_DEMO_PASSWORD"]},
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        url = f"http://127.0.0.1:{port}/api/v1/basemap/features"
        body = httpx.get(url, headers=headers).content
        features = body.count(b'"Feature"')
        ours, sent = p50_ms(url, headers, args.requests)
    finally:
        server.terminate()
        server.wait()
    (tmp / "features.geojson").write_bytes(body)
    (tmp / "bare_app.py").write_text(BARE_APP)
    bare = serve("bare_app:app", bare_port, env, tmp)
    try:
        limit, _ = p50_ms(f"http://127.0.0.1:{bare_port}/bare", {}, args.requests)
    finally:
        bare.terminate()
        bare.wait()
    print(
        f"local base layer, whole district ({features} features, {len(body) / 1024:.0f} KB raw, "
        f"{sent / 1024:.0f} KB sent): p50 {ours:.2f} ms ({args.requests} sequential requests)"
    )
    print(f"bare FastAPI returning the same bytes: p50 {limit:.2f} ms")
    print(f"ratio: {ours / limit:.2f}x")


if __name__ == "__main__":
    main()
