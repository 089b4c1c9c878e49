"""Graceful drain of `fengqiao serve`: once SIGTERM begins the drain, /healthz answers 503
`draining` (so a load balancer takes the instance out) while requests are still served, a request
in flight when the signal came finishes, and only then the process stops. Ctrl-C does not wait."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from fengqiao import drain
from fengqiao.app import create_app
from fengqiao.db import Database
from fengqiao.events.models import Event
from tests.conftest import make_settings
from tests.events.conftest import make_world
from tests.ops.conftest import Copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def draining() -> Iterator[None]:
    """Forget the drain after the test: the test process keeps serving other tests."""
    drain.reset()
    yield
    drain.reset()


def test_healthz_answers_503_draining_once_the_drain_begins(
    client: TestClient, draining: None
) -> None:
    assert client.get("/healthz").status_code == 200
    drain.begin_drain()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}


def test_healthz_stays_up_on_a_database_a_newer_release_migrated(
    fresh_db: Database, tmp_path: Path
) -> None:
    """A rolling upgrade migrates first: the instances of the previous release keep serving
    until each is restarted; a release whose migrations are not applied yet is kept out."""
    settings = make_settings(fresh_db.url, tmp_path)
    with TestClient(create_app(settings, database=fresh_db)) as client:
        with fresh_db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
        ahead = client.get("/healthz")
        assert ahead.status_code == 200
        assert ahead.json()["migrations"] == "ahead"
        with fresh_db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        behind = client.get("/healthz")
        assert behind.status_code == 503
        assert behind.json()["migrations"] == "behind"


def _serve(copy: Copy, tmp_path: Path, drain_seconds: float) -> tuple[subprocess.Popen[bytes], int]:
    """`fengqiao serve --workers 1` on the copy, up and answering; its process and port."""
    port = free_port()
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        FENGQIAO_DATABASE_URL=copy.settings.database_url,
        FENGQIAO_DATA_DIR=str(tmp_path),
        FENGQIAO_SECRET_KEY=copy.settings.secret_key,
        FENGQIAO_DRAIN_SECONDS=str(drain_seconds),
    )
    command = [str(Path(sys.executable).with_name("fengqiao")), "serve", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.fixture
def sqlite_copy(copy: Copy) -> Copy:
    if not copy.database.is_sqlite:
        pytest.skip("the drain is the server's, not the database's: one backend is enough")
    return copy


def test_a_request_in_flight_at_sigterm_finishes_and_new_ones_are_served_while_draining(
    sqlite_copy: Copy, tmp_path: Path
) -> None:
    copy = sqlite_copy
    with copy.database.session() as session:
        world = make_world(session)
    lat, lng = world.grid_point
    body = json.dumps({
        "source": "grid_worker", "category": world.handler_category, "lat": lat, "lng": lng,
        "description": "排水沟堵塞，雨后积水", "address": "柯桥街道某路",
    }, ensure_ascii=False).encode()  # fmt: skip
    token = copy.auth("demo_grid_worker")["Authorization"]
    process, port = _serve(copy, tmp_path, drain_seconds=1.5)
    base = f"http://127.0.0.1:{port}"
    try:
        # A phone on a slow line: the headers and half the body are sent, then SIGTERM comes.
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = (
            f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Idempotency-Key: slow-line-1\r\n\r\n"
        )
        slow.sendall(head.encode() + body[:20])
        time.sleep(0.3)
        signaled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        health = httpx.get(base + "/healthz", timeout=5)
        assert (health.status_code, health.json()) == (503, {"status": "draining"})
        listed = httpx.get(base + "/api/v1/events?size=5", headers={"Authorization": token})
        assert listed.status_code == 200  # still served until the balancer takes it out
        # After the drain it stops listening, but the slow request is still in flight.
        while time.monotonic() - signaled < 2.5:
            time.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/healthz", timeout=2)
        assert process.poll() is None
        slow.sendall(body[20:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = slow.recv(65536)
            assert chunk, answer
            answer += chunk
        slow.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        process.wait(timeout=30)
    finally:
        _stop(process)
    with copy.database.session() as session:
        filed = session.scalar(
            select(func.count()).select_from(Event).where(Event.idempotency_key == "slow-line-1")
        )
    assert filed == 1


def test_ctrl_c_stops_at_once_without_waiting_for_the_drain(
    sqlite_copy: Copy, tmp_path: Path
) -> None:
    process, _ = _serve(sqlite_copy, tmp_path, drain_seconds=60)
    try:
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        assert time.monotonic() - started < 10
    finally:
        _stop(process)
