"""Messages sent once under faults, with real worker processes on PostgreSQL: two workers, a
local SMS gateway that fails and stalls at random (seeded), repeated kill -9s over a simulated
month; and, without any crash, a gateway slower than the lease (issue 15, item 9).

The workers are `fengqiao.worker.run_forever`, the loop `fengqiao worker` runs, in their own
processes, with a compressed clock: a simulated month passes in under a minute, so messages fall
due, fail and are retried over the whole month while the workers are killed and restarted."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fengqiao.db import Database
from fengqiao.outbox.models import Outbox
from fengqiao.outbox.service import Person, drafts_for, enqueue

from .test_outbox import PAYLOAD

START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
MONTH = timedelta(days=30)

# A worker process: the worker's own loop with a clock that runs `speed` times fast from
# `start` at the wall time `epoch` (shared by every worker of a test, restarted ones included).
WORKER = """
import os, sys, time
from datetime import datetime, timedelta
from pathlib import Path
from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.worker import jobs
from fengqiao.worker import run_forever

class Compressed(Clock):
    def __init__(self, start, epoch, speed):
        self.start, self.epoch, self.speed = start, epoch, speed
    def now(self):
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.speed)

start, epoch, speed = datetime.fromisoformat(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
settings = Settings()
jobs()  # imported: from here on it works (the test kills only workers that got this far)
Path(sys.argv[4], str(os.getpid())).touch()
run_forever(Database(settings.database_url), settings, Compressed(start, epoch, speed))
"""


class Gateway:
    """A local HTTP SMS gateway: counts what it accepts by idempotency key; with a seed, fails
    (503) and stalls at random."""

    def __init__(self, *, seed: int | None = None, stall: float = 0.0,
                 always_stall: bool = False) -> None:  # fmt: skip
        self.accepted: Counter[str] = Counter()
        self.requests = 0
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key") or body["request_id"]
                with gateway.lock:
                    gateway.requests += 1
                    roll = gateway.random.random() if seed is not None else 1.0
                    fails = roll < 0.08 or 0.10 <= roll < 0.11
                    stalls = always_stall or 0.08 <= roll < 0.11
                    if not fails:  # accepted: the SMS goes out, whatever happens to the answer
                        gateway.accepted[key] += 1
                if stalls:
                    time.sleep(stall)
                status = 503 if fails else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a worker killed mid-request: its answer has nowhere to go

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Workers:
    """Worker processes on one database and gateway, started, killed and restarted."""

    def __init__(self, database: Database, gateway: Gateway, tmp_path: Path, speed: float,
                 **settings: Any) -> None:  # fmt: skip
        self.epoch = time.time()
        self.speed = speed
        self.env = {
            **os.environ,
            "FENGQIAO_DATABASE_URL": database.url,
            "FENGQIAO_DATA_DIR": str(tmp_path),
            "FENGQIAO_SECRET_KEY": "test-key-for-worker-processes-0123456789",
            "FENGQIAO_DELIVER_VIA": json.dumps(
                {"sms": "sms", "email": "log", "app": "app", "log": "log"}
            ),
            "FENGQIAO_SMS_GATEWAY_URL": gateway.url,
            "FENGQIAO_MQTT_ENABLED": "false",
            "FENGQIAO_WORKER_POLL_SECONDS": "0.05",
            "FENGQIAO_LOG_LEVEL": "warning",
        } | {f"FENGQIAO_{k.upper()}": str(v) for k, v in settings.items()}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log = tmp_path / "workers.log"
        self.ready = tmp_path / "ready"
        self.ready.mkdir()

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, START.isoformat(), repr(self.epoch),
                 str(self.speed), str(self.ready)], env=self.env, stdout=log, stderr=log,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def is_ready(self, process: subprocess.Popen[bytes]) -> bool:
        return (self.ready / str(process.pid)).exists()

    def now(self) -> datetime:
        return START + timedelta(seconds=(time.time() - self.epoch) * self.speed)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., Gateway]]:
    made: list[Gateway] = []

    def make(**kwargs: Any) -> Gateway:
        made.append(Gateway(**kwargs))
        return made[-1]

    yield make
    for gateway in made:
        gateway.close()


def _counts(database: Database) -> dict[str, int]:
    with database.session() as db:
        return dict(db.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.parametrize("fresh_db", ["postgresql"], indirect=True)
def test_kills_over_a_month_lose_nothing_and_repeat_at_most_one_per_kill(
    fresh_db: Database, tmp_path: Path, make_gateway: Callable[..., Gateway]
) -> None:
    messages = 600
    people = [Person(None, f"p{n}", phone=f"139{n:08d}") for n in range(messages)]
    with fresh_db.transaction() as db:  # due over the whole month
        enqueue(db, drafts_for(people, channels=("sms",), template="reminder", payload=PAYLOAD,
                               key="month"), now=START)  # fmt: skip
        ids = list(db.scalars(select(Outbox.id).order_by(Outbox.id)))
        spread = [{"row": i, "due": START + MONTH * n / messages} for n, i in enumerate(ids)]
        for row in spread:
            db.execute(update(Outbox).where(Outbox.id == row["row"])
                       .values(next_attempt_at=row["due"]))  # fmt: skip
    gateway = make_gateway(seed=20261205, stall=1.2)
    # 30 simulated days in 50 s; a 1 s lease (renewed every third of it) against 1.2 s stalls.
    workers = Workers(fresh_db, gateway, tmp_path, speed=MONTH.total_seconds() / 50,
                      outbox_lease_seconds=1.0, outbox_max_attempts=50,
                      outbox_backoff_seconds=600, sms_timeout_seconds=5)  # fmt: skip
    chaos = random.Random(15)
    running = [workers.start(), workers.start()]
    kills = 0
    try:
        while workers.now() < START + MONTH:  # kill -9 a working one every 1.5-3 s
            time.sleep(chaos.uniform(1.5, 3.0))
            ready = [n for n, process in enumerate(running) if workers.is_ready(process)]
            if not ready:
                continue
            victim = chaos.choice(ready)
            running[victim].send_signal(signal.SIGKILL)
            running[victim].wait()
            kills += 1
            running[victim] = workers.start()
        # Nothing stays stuck once the dead workers' leases end: the survivors finish the month.
        finished = _wait(lambda: _counts(fresh_db) == {"sent": messages}, timeout=60)
    finally:
        workers.stop()
    counts = _counts(fresh_db)
    assert finished, (counts, (tmp_path / "workers.log").read_text()[-3000:])
    assert kills >= 6
    assert len(gateway.accepted) == messages  # nothing lost
    repeats = sum(gateway.accepted.values()) - messages
    print(f"{messages} messages, {gateway.requests} requests, {kills} kills, {repeats} repeats")
    assert repeats <= kills, (repeats, kills)


@pytest.mark.parametrize("fresh_db", ["postgresql"], indirect=True)
def test_a_gateway_slower_than_the_lease_is_sent_each_message_once(
    fresh_db: Database, tmp_path: Path, make_gateway: Callable[..., Gateway]
) -> None:
    people = [Person(None, f"p{n}", phone=f"137{n:08d}") for n in range(6)]
    with fresh_db.transaction() as db:
        enqueue(db, drafts_for(people, channels=("sms",), template="reminder", payload=PAYLOAD,
                               key="slow"), now=START)  # fmt: skip
    gateway = make_gateway(stall=1.5, always_stall=True)
    # The clock runs 100 times fast, the gateway takes 1.5 s, the lease is 1 s (renewed).
    workers = Workers(fresh_db, gateway, tmp_path, speed=100, outbox_lease_seconds=1.0)
    workers.start(), workers.start()
    try:
        finished = _wait(lambda: _counts(fresh_db) == {"sent": 6}, timeout=30)
        time.sleep(2)  # a late repeat would still arrive now
    finally:
        workers.stop()
    assert finished, workers.log.read_text()[-3000:]
    assert gateway.accepted == Counter({key: 1 for key in gateway.accepted})
    assert len(gateway.accepted) == 6
