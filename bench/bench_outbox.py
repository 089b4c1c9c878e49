"""The outbox sender's throughput to a local HTTP SMS gateway, on one worker, on SQLite.

    .venv/bin/python bench/bench_outbox.py [--messages 20000] [--parallel 1 8] [--smoke]

Queues N SMS messages (the `reminder` template) in a fresh migrated SQLite file, starts a
minimal gateway (a raw ASGI app on uvicorn with httptools, in its own process, answering 200 to
every POST), and times `fengqiao.notify.sender.send_due` with the real `sms` plugin delivering
them all (per message: claim, render, POST with its idempotency key, record), once per
`outbox_parallel` value given. The limit, in the same run: the same number of the same JSON
bodies POSTed to the same gateway by a bare httpx loop with the same concurrency (threads,
kept-alive connections) and no database. The gateway shares the 2 cores. Prints one line per
figure. `--smoke` sends 500 messages (a quick check that it runs).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.migrate import upgrade
from fengqiao.notify.channels import load_channels
from fengqiao.notify.sender import send_due
from fengqiao.outbox.service import Person, drafts_for, enqueue

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PAYLOAD = {"code": "001-20261201-0001", "category": "占道经营", "place": "柯桥街道某路",
           "unit": "柯桥街道综合行政执法中队", "due": "2026-12-03 09:00",
           "link": "http://127.0.0.1:8000/events/1"}  # fmt: skip
GATEWAY = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--smoke", action="store_true", help="500 messages")
    args = parser.parse_args()
    if args.smoke:
        args.messages = 500
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "gateway_app.py").write_text(GATEWAY)
        port = free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gateway_app:app", "--port", str(port),
             "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
             "--no-access-log"],
            cwd=tmp, env={**os.environ, "PYTHONPATH": tmp},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/send"
        try:
            for _ in range(100):
                try:
                    httpx.post(url, json={}, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for parallel in args.parallel:
                results.append(run(tmp, url, args.messages, parallel))
        finally:
            gateway.terminate()
            gateway.wait()
    for parallel, rate, limit in results:
        print(
            f"outbox sender, {args.messages:,} SMS to a local HTTP gateway, one worker, SQLite, "
            f"outbox_parallel={parallel}: {rate:,.0f} messages/s; bare httpx to the same gateway "
            f"with {parallel} thread(s): {limit:,.0f} requests/s; ratio {rate / limit:.2f}"
        )


def run(tmp: str, url: str, messages: int, parallel: int) -> tuple[int, float, float]:
    """(parallel, messages/s of the sender, requests/s of bare httpx) for one concurrency."""
    db_url = f"sqlite:///{tmp}/outbox-{parallel}.db"
    upgrade(db_url)
    database = Database(db_url)
    people = [Person(None, f"p{n}", phone=f"138{n:08d}") for n in range(messages)]
    with database.transaction() as db:
        drafts = drafts_for(
            people, channels=("sms",), template="reminder", payload=PAYLOAD, key="bench"
        )
        enqueue(db, drafts, now=NOW)
    settings = Settings(
        database_url=db_url, data_dir=Path(tmp), secret_key="bench",
        deliver_via={"sms": "sms"}, sms_gateway_url=url, outbox_parallel=parallel,
    )  # fmt: skip
    channels = load_channels(settings, database)
    start = time.perf_counter()
    counts = send_due(database, channels, NOW, settings)
    seconds = time.perf_counter() - start
    channels["sms"].close()
    database.dispose()
    assert counts == {"sent": messages}, counts

    bodies = [
        {"request_id": str(n), "phone": p.phone, "template_id": "reminder",
         "params": PAYLOAD, "text": "【枫桥】" + PAYLOAD["code"]}
        for n, p in enumerate(people)
    ]  # fmt: skip
    client = httpx.Client(limits=httpx.Limits(max_connections=16))
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        statuses = list(pool.map(lambda b: client.post(url, json=b).status_code, bodies))
    bare = time.perf_counter() - start
    client.close()
    assert set(statuses) == {200}
    return parallel, messages / seconds, messages / bare


if __name__ == "__main__":
    main()
