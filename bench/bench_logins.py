"""Memory under a crowd of wrong logins: the RSS growth of one real uvicorn server while N
clients send wrong passwords at once, against one argon2 check alone (the bare cost) measured in
the same run on the same server.

    .venv/bin/python bench/bench_logins.py [--concurrent 40] [--rounds 3] [--pool 2] [--smoke]

Seeds the small demo district into a temporary SQLite file, starts `uvicorn --factory
fengqiao.app:create_app` with rate limits and the lockout out of the way (every attempt reaches
argon2), samples the server's VmRSS from /proc every 5 ms, and prints the baseline, the peak
growth of one login alone, and of N concurrent ones (the worst of `--rounds`). `--pool 64` shows
the unbounded behaviour this replaced. `--smoke`: 4 concurrent logins, one round.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "bench-logins-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakSampler:
    """The highest RSS of a process while running."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakSampler:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wrong_logins(base: str, count: int) -> list[int]:
    def one(n: int) -> int:
        form = {"username": "demo_operator", "password": f"wrong-{n}"}
        response = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=120)
        if response.status_code != 401:
            print("unexpected:", response.status_code, response.text[:300], file=sys.stderr)
        return response.status_code

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(one, range(count)))


def settle(pid: int, seconds: float = 1.0) -> float:
    time.sleep(seconds)
    return rss_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrent", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=2, help="FENGQIAO_PASSWORD_HASH_CONCURRENCY")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.concurrent, args.rounds = 4, 1
    sys.path.insert(0, str(ROOT / "src"))
    from fengqiao.db import Database
    from fengqiao.demo.seed import seed
    from fengqiao.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="fq-bench-logins-") as tmp:
        url = f"sqlite:///{tmp}/logins.db"
        upgrade(url)
        database = Database(url)
        seed(db=database, scale="small", password=PASSWORD)
        database.dispose()
        port = free_port()
        env = os.environ | {
            "FENGQIAO_DATABASE_URL": url,
            "FENGQIAO_DATA_DIR": tmp,
            "FENGQIAO_SECRET_KEY": "bench-logins-key-0123456789abcdef",
            "FENGQIAO_RATE_LIMIT_ENABLED": "false",
            "FENGQIAO_LOGIN_LOCKOUT_FAILURES": "1000000",
            "FENGQIAO_LOGIN_LOCKOUT_ADDRESS_FAILURES": "1000000",
            "FENGQIAO_PASSWORD_HASH_CONCURRENCY": str(args.pool),
            "FENGQIAO_PASSWORD_HASH_WAIT_SECONDS": "120",
        }
        server = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "fengqiao.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
             "--no-access-log"],
            env=env, cwd=tmp,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
            # Warm up: the first login loads the code paths and fills the pools.
            for _ in range(3):
                wrong_logins(base, 1)
                wrong_logins(base, min(2, args.concurrent))
            baseline = settle(server.pid)
            with PeakSampler(server.pid) as alone:
                started = time.perf_counter()
                assert wrong_logins(base, 1) == [401]
                alone_s = time.perf_counter() - started
            crowd_growth, crowd_s, busy = 0.0, 0.0, 0
            for _ in range(args.rounds):
                before = settle(server.pid)
                with PeakSampler(server.pid) as crowd:
                    started = time.perf_counter()
                    codes = wrong_logins(base, args.concurrent)
                    crowd_s = max(crowd_s, time.perf_counter() - started)
                # 503: the database was too busy to record the failure (SQLite under a loaded
                # machine); a refusal all the same.
                assert set(codes) <= {401, 503}, codes
                busy = max(busy, codes.count(503))
                crowd_growth = max(crowd_growth, crowd.peak - before)
            one = alone.peak - baseline
            load = os.getloadavg()
            print(f"server RSS at rest: {baseline:.0f} MB (hash pool {args.pool})")
            print(f"one wrong login alone (bare argon2 check): +{one:.0f} MB peak, {alone_s:.2f} s")
            print(
                f"{args.concurrent} concurrent wrong logins: +{crowd_growth:.0f} MB peak "
                f"(worst of {args.rounds}), all answered in {crowd_s:.2f} s ({busy} refused 503 "
                f"busy); "
                f"ratio to one alone {crowd_growth / max(one, 1):.1f}x"
            )
            print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
