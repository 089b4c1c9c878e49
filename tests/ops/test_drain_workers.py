"""The graceful drain with `fengqiao serve --workers N`: uvicorn's supervisor passes SIGTERM on to
every worker, and each worker process drains its own live streams (each ends with the reconnect
frame) while /healthz answers 503 `draining`, then stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fengqiao.command.live import RECONNECT_FRAME
from tests.ops.conftest import Copy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _holder(worker_pids: list[int], client_port: int) -> int | None:
    """The worker process holding the server's end of the connection from `client_port`."""
    inodes: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == client_port:
            inodes.add(fields[9])
    for pid in worker_pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def _connect(port: int, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"GET /api/v1/live/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Accept: text/event-stream\r\nAuthorization: {token}\r\n\r\n".encode()
    )
    return sock


def _opened(sock: socket.socket) -> None:
    got = b""
    while b"retry: 3000" not in got:
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got[:200]


def _read_to_end(sock: socket.socket) -> bytes:
    """The rest of the response: up to its last chunk (the connection itself may stay open)."""
    got = b""
    while not got.endswith(b"\r\n0\r\n\r\n") and (chunk := sock.recv(65536)):
        got += chunk
    return got


@pytest.fixture
def sqlite_copy(copy: Copy) -> Copy:
    if not copy.database.is_sqlite:
        pytest.skip("the drain is the server's, not the database's: one backend is enough")
    return copy


def test_every_worker_drains_its_own_streams_on_sigterm(sqlite_copy: Copy, tmp_path: Path) -> None:
    copy = sqlite_copy
    port = _free_port()
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        FENGQIAO_DATABASE_URL=copy.settings.database_url,
        FENGQIAO_DATA_DIR=str(tmp_path),
        FENGQIAO_SECRET_KEY=copy.settings.secret_key,
        FENGQIAO_DRAIN_SECONDS="3",
    )
    command = [
        str(Path(sys.executable).with_name("fengqiao")), "serve", "--port", str(port),
        "--workers", "2",
    ]  # fmt: skip
    log_path = tmp_path / "serve.log"
    process = subprocess.Popen(
        command, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
    )
    streams: dict[int, list[socket.socket]] = {}
    try:
        deadline = time.monotonic() + 90
        while True:  # both workers up
            workers = _children(process.pid)  # with the resource tracker
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                up = False
            started = log_path.read_text().count("Application startup complete")
            if up and len(workers) >= 3 and started >= 2:
                break
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        workers = [  # not multiprocessing's resource tracker, also a child
            pid
            for pid in _children(process.pid)
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        token = copy.auth("demo_district_operator")["Authorization"]
        # Two streams on each worker. An idle worker tends to win every accept; a stopped one
        # cannot accept, so the other takes a connection made while it is stopped (briefly: the
        # supervisor kills a worker that does not answer its health check).
        for pid in workers:
            others = [other for other in workers if other != pid]
            for _ in range(2):
                for other in others:
                    os.kill(other, signal.SIGSTOP)
                try:
                    sock = _connect(port, token)
                    until = time.monotonic() + 2
                    while (holder := _holder(workers, sock.getsockname()[1])) is None:
                        if time.monotonic() > until:
                            break
                        time.sleep(0.05)
                finally:
                    for other in others:
                        os.kill(other, signal.SIGCONT)
                _opened(sock)
                holder = holder or _holder(workers, sock.getsockname()[1])
                streams.setdefault(holder or 0, []).append(sock)
        assert sorted(streams) == sorted(workers)
        assert all(len(held) == 2 for held in streams.values())

        signaled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert (health.status_code, health.json()) == (503, {"status": "draining"})
        for held in streams.values():  # each worker ended each of its streams with the frame
            for sock in held:
                sock.settimeout(10)
                ended = _read_to_end(sock)
                assert ended.rstrip(b"\r\n0").endswith(RECONNECT_FRAME.rstrip(b"\n")), ended[-200:]
        ended_at = time.monotonic() - signaled
        assert ended_at < 3  # at the drain's start, not at its end
        process.wait(timeout=30)  # the workers kept serving out the drain, then all stopped
        assert time.monotonic() - signaled >= 3
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        for held in streams.values():
            for sock in held:
                sock.close()
        if process.poll() is None:
            process.kill()
        process.wait()
