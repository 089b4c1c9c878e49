"""Residents' SMS sign-in: how long a code request takes until its code is in the outbox, and
whether a flood of wrong codes for one number slows anyone else.

    .venv/bin/python bench/bench_sms_code.py [--requests 200] [--flood 1000] [--smoke]

Seeds the small demo district into a temporary SQLite file and starts one real uvicorn server
(`--factory fengqiao.app:create_app`, the default limits and lockout; 127.0.0.1 is a trusted
proxy so each simulated phone can come from its own address in X-Forwarded-For). Then:

1. the bare limit: p50 of `GET /r/manifest.webmanifest` (a route that touches nothing);
2. `POST /api/v1/auth/sms-code` for `--requests` distinct numbers, one after the other: p50 and
   p95 of request → answer, the code's outbox row committed before the answer (each checked);
3. `--flood` wrong codes for one number at `POST /api/v1/auth/token`, 8 at a time from rotating
   addresses (a botnet, so no address limit helps): how many are refused after the number's
   limit, and meanwhile the p50 of other numbers' code requests, against step 2's.

`--smoke`: 20 requests, a flood of 60.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.flood = 20, 60
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import select

    from fengqiao.db import Database
    from fengqiao.demo.seed import seed
    from fengqiao.migrate import upgrade
    from fengqiao.outbox.models import Outbox

    with tempfile.TemporaryDirectory(prefix="fq-bench-sms-") as tmp:
        url = f"sqlite:///{tmp}/sms.db"
        upgrade(url)
        database = Database(url)
        seed(db=database, scale="small", password="bench-sms-password")
        port = free_port()
        env = os.environ | {
            "FENGQIAO_DATABASE_URL": url,
            "FENGQIAO_DATA_DIR": tmp,
            "FENGQIAO_SECRET_KEY": "bench-sms-key-0123456789abcdef",
            "FENGQIAO_TRUSTED_PROXIES": "127.0.0.1",
        }
        server = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "fengqiao.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
             "--no-access-log"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not come up")
                time.sleep(0.1)
            client = httpx.Client(base_url=base, timeout=60)
            counter = iter(range(1, 10**7))

            def ask(phone: str) -> httpx.Response:
                return client.post(
                    "/api/v1/auth/sms-code", json={"phone": phone},
                    headers={"X-Forwarded-For": address(next(counter))},
                )  # fmt: skip

            for _ in range(20):  # warm up
                client.get("/r/manifest.webmanifest")
            bare = [
                timed(lambda: client.get("/r/manifest.webmanifest")) for _ in range(args.requests)
            ]

            sms: list[float] = []
            for n in range(args.requests):
                phone = f"138{n:08d}"
                start = time.perf_counter()
                response = ask(phone)
                sms.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 202, response.text
            with database.session() as db:
                queued = set(
                    db.scalars(select(Outbox.recipient).where(Outbox.template == "sms_code"))
                )
            assert all(f"138{n:08d}" in queued for n in range(args.requests)), "a code is missing"

            victim = "13999999999"
            assert ask(victim).status_code == 202
            outcomes: Counter[str] = Counter()
            stop = threading.Event()
            during: list[float] = []

            def wrong(n: int) -> None:
                response = client.post(
                    "/api/v1/auth/token", data={"phone": victim, "code": f"{n % 10**6:06d}"},
                    headers={"X-Forwarded-For": address(10**6 + n)},
                )  # fmt: skip
                kind = response.json().get("type", "").rsplit("/", 1)[-1]
                outcomes[f"{response.status_code} {kind}"] += 1

            bare_during: list[float] = []

            def others() -> None:
                n = 0
                while not stop.is_set():
                    phone = f"137{n:08d}"
                    during.append(timed(lambda phone=phone: ask(phone)))
                    bare_during.append(timed(lambda: client.get("/r/manifest.webmanifest")))
                    n += 1

            watcher = threading.Thread(target=others)
            watcher.start()
            flood_start = time.perf_counter()
            with ThreadPoolExecutor(8) as threads:
                list(threads.map(wrong, range(args.flood)))
            flood_s = time.perf_counter() - flood_start
            stop.set()
            watcher.join()
        finally:
            server.terminate()
            server.wait(timeout=20)
            database.dispose()

    bare_p50, sms_p50 = statistics.median(bare), statistics.median(sms)
    print(f"bare route GET /r/manifest.webmanifest: p50 {bare_p50:.1f} ms ({len(bare)} requests)")
    print(
        f"SMS code request → code in the outbox: p50 {sms_p50:.1f} ms, p95 {pct(sms, 0.95):.1f} ms "
        f"({len(sms)} numbers; {sms_p50 / bare_p50:.1f}× the bare route)"
    )
    print(f"flood: {args.flood} wrong codes for one number in {flood_s:.1f} s, outcomes:")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome}: {count}")
    during_p50 = statistics.median(during) if during else float("nan")
    bare_during_p50 = statistics.median(bare_during) if bare_during else float("nan")
    print(
        f"other numbers' code requests during the flood: p50 {during_p50:.1f} ms "
        f"({len(during)} requests; {during_p50 / sms_p50:.2f}× without the flood)"
    )
    print(
        f"the bare route during the flood: p50 {bare_during_p50:.1f} ms; other numbers' requests "
        f"{during_p50 / bare_during_p50:.1f}× the bare route (before the flood: "
        f"{sms_p50 / bare_p50:.1f}×)"
    )


if __name__ == "__main__":
    main()
