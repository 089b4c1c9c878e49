"""Two `fengqiao serve` instances and two workers on PostgreSQL behind HAProxy
(scripts/cluster.py): a rolling restart of each instance under a steady load of reads and
writes fails no request, and loses or duplicates no event.

Readers list events; writers file events, each with its own Idempotency-Key, and retry a failed
POST with the same key as a phone would. Every response must be a 2xx (a retry is counted as a
failure too, so the load balancer and the drain must hide the restarts entirely), and every key
must be stored exactly once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fengqiao.events.models import Event
from scripts.cluster import Cluster, running
from tests.events.conftest import make_world
from tests.ops.conftest import Copy

READERS = 2
WRITERS = 3


@dataclass
class Load:
    """What the clients saw: (when, what) of every request and of every failure."""

    stop: threading.Event = field(default_factory=threading.Event)
    done: list[tuple[float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: httpx.Response | Exception) -> bool:
        ok = isinstance(response, httpx.Response) and 200 <= response.status_code < 300
        with self.lock:
            self.done.append((time.monotonic(), kind))
            if not ok:
                what = (
                    f"{response.status_code} {response.text[:200]}"
                    if isinstance(response, httpx.Response)
                    else repr(response)
                )
                self.failures.append(f"{kind}: {what}")
        return ok


def _read(base: str, headers: dict[str, str], load: Load) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while not load.stop.is_set():
            try:
                response: httpx.Response | Exception = client.get("/api/v1/events?size=20")
            except httpx.HTTPError as exc:
                response = exc
            load.record("GET /api/v1/events", response)


def _write(base: str, headers: dict[str, str], body: dict[str, object], n: int, load: Load) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        number = 0
        while not load.stop.is_set():
            number += 1
            key = f"cluster-{n}-{number}"
            with load.lock:
                load.keys.append(key)
            for _attempt in range(5):  # a phone retries with the same key until it is filed
                try:
                    response: httpx.Response | Exception = client.post(
                        "/api/v1/events", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.HTTPError as exc:
                    response = exc
                if load.record("POST /api/v1/events", response):
                    break
                time.sleep(0.2)
            time.sleep(0.05)


def test_a_rolling_restart_under_load_fails_no_request_and_loses_no_event(
    copy: Copy, tmp_path: Path
) -> None:
    if copy.database.is_sqlite:
        pytest.skip("several instances share a PostgreSQL server; SQLite is one process's file")
    with copy.database.session() as session:
        world = make_world(session)
    lat, lng = world.grid_point
    body: dict[str, object] = {
        "source": "grid_worker", "category": world.handler_category, "lat": lat, "lng": lng,
        "description": "路灯不亮，夜间行人不便", "address": "柯桥街道某路",
    }  # fmt: skip
    cluster = Cluster(
        database_url=copy.settings.database_url, run_dir=tmp_path / "cluster",
        instances=2, workers=2,
        env={"FENGQIAO_SECRET_KEY": copy.settings.secret_key, "FENGQIAO_DRAIN_SECONDS": "2",
             "FENGQIAO_LOG_LEVEL": "warning"},
    )  # fmt: skip
    load = Load()
    with running(cluster):
        old_pids = [server.pid for server in cluster.servers if server is not None]
        threads = [
            threading.Thread(
                target=_read, args=(cluster.url, copy.auth("demo_operator"), load), daemon=True
            )
            for _ in range(READERS)
        ]
        threads += [
            threading.Thread(
                target=_write,
                args=(cluster.url, copy.auth("demo_grid_worker"), body, n, load),
                daemon=True,
            )
            for n in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        windows = []
        for index in range(cluster.instances):
            began = time.monotonic()
            cluster.restart_instance(index)
            windows.append((began, time.monotonic()))
        time.sleep(1.0)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        new_pids = [server.pid for server in cluster.servers if server is not None]

    assert not set(old_pids) & set(new_pids), "every instance was restarted"
    assert load.failures == []
    # The load ran through each restart: both kinds of request were answered while it went on.
    for began, ended in windows:
        kinds = {kind for at, kind in load.done if began <= at <= ended}
        assert kinds == {"GET /api/v1/events", "POST /api/v1/events"}
    assert len(load.keys) >= 10
    with copy.database.session() as session:
        stored = dict(
            session.execute(
                select(Event.idempotency_key, func.count())
                .where(Event.idempotency_key.like("cluster-%"))
                .group_by(Event.idempotency_key)
            ).all()
        )
    assert stored == {key: 1 for key in load.keys}
