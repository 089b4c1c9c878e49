"""Figures of bounded input (issue 15): how fast and how cheaply a real uvicorn server refuses a
body that is too large, against a bare ASGI app refusing the same body in the same run.

    .venv/bin/python bench/bench_bounds.py [--db sqlite:///var/bench-bounds.db] [--runs 20]
    .venv/bin/python bench/bench_bounds.py --smoke

The bodies: the report of the finding (`answers: {"a": [1]*500000}`, 1 MB, posted by the demo
resident to `POST /api/v1/events`), the same sent chunked (no Content-Length), and a 50 MB body.
For each: the p50 and the worst time from the first byte sent to the answer read, and the
server's peak RSS growth over the request (VmHWM, reset before each request through
/proc/PID/clear_refs, minus VmRSS before it). One line per figure.

The helpers (`Server`, `send_body`) are shared with tests/test_bounds.py, which asserts the
issue's looser bound (< 1 s, < 50 MB) on every backend.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MIB = 1024 * 1024
CHUNK = 64 * 1024


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The limit: an ASGI app that answers 413 from the headers alone, reading nothing."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b'{"status":413}'})


def status_kib(pid: int, key: str) -> int:
    """One `VmRSS`/`VmHWM` line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Server:
    """A uvicorn process serving `target` on a socket bound here (no race for the port)."""

    process: subprocess.Popen[bytes]
    port: int

    @classmethod
    def start(cls, target: str, env: dict[str, str], *, factory: bool = False) -> Server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        port = int(sock.getsockname()[1])
        args = [sys.executable, "-m", "uvicorn", target, "--fd", str(sock.fileno()),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        if factory:
            args.append("--factory")
        process = subprocess.Popen(
            args, env={**os.environ, **env}, cwd=ROOT, pass_fds=(sock.fileno(),)
        )
        sock.close()
        server = cls(process, port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{target} exited with {process.returncode}")
            try:
                httpx.get(f"http://{HOST}:{port}/healthz", timeout=1)
                return server
            except httpx.HTTPError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"{target} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def reset_peak(self) -> int:
        """Reset the process's peak RSS to its current RSS; returns that RSS in KiB."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return status_kib(self.process.pid, "VmRSS")

    def peak_kib(self) -> int:
        return status_kib(self.process.pid, "VmHWM")


@dataclass
class Refusal:
    status: int
    body: bytes
    seconds: float
    growth_mib: float
    sent_bytes: int


def _chunks(body: bytes, chunked: bool) -> Iterator[bytes]:
    for start in range(0, len(body), CHUNK):
        piece = body[start : start + CHUNK]
        yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def send_body(
    server: Server, path: str, body: bytes, headers: dict[str, str], *, chunked: bool = False
) -> Refusal:
    """POST `body` over a raw socket, stopping as soon as the server answers (as a client whose
    upload is refused would); the time runs from the first byte to the whole answer."""
    head = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{server.port}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    before = server.reset_peak()
    sent = 0
    answer = b""
    start = time.perf_counter()
    with socket.create_connection((HOST, server.port)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for piece in _chunks(body, chunked):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # answered already: a refused upload stops here
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        try:
            while chunk := sock.recv(CHUNK):
                answer += chunk
                if _complete(answer):
                    break
        except ConnectionResetError:
            pass
    seconds = time.perf_counter() - start
    growth = max(0, server.peak_kib() - before) / 1024
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return Refusal(status, answer.partition(b"\r\n\r\n")[2], seconds, growth, sent)


def _complete(answer: bytes) -> bool:
    head, sep, rest = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def report_body(items: int) -> bytes:
    """The finding's report: a resident's event whose `answers` holds a list of `items` ones."""
    report = {"source": "resident", "category": "0101", "lat": 30.08, "lng": 120.49,
              "description": "路灯坏了", "answers": {"a": [1] * items}}  # fmt: skip
    return orjson.dumps(report)


def resident_headers(database_url: str, key: str) -> dict[str, str]:
    """A bearer token of the seeded demo resident, and the JSON content type."""
    from sqlalchemy import select

    from fengqiao.auth.models import User
    from fengqiao.auth.security import issue_token
    from fengqiao.db import Database

    database = Database(database_url)
    with database.session() as db:
        user_id = db.scalar(select(User.id).where(User.username == "demo_resident"))
    database.dispose()
    assert user_id is not None, "the database has no demo resident: seed it first"
    token = issue_token(user_id=user_id, key=key, minutes=60)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def app_env(database_url: str, data_dir: Path, key: str) -> dict[str, str]:
    return {
        "FENGQIAO_DATABASE_URL": database_url,
        "FENGQIAO_DATA_DIR": str(data_dir),
        "FENGQIAO_SECRET_KEY": key,
    }


def _seed_if_empty(url: str) -> None:
    from sqlalchemy import func, select

    from fengqiao.auth.models import User
    from fengqiao.db import Database
    from fengqiao.demo.seed import seed
    from fengqiao.migrate import upgrade

    upgrade(url)
    database = Database(url)
    with database.session() as db:
        users = db.scalar(select(func.count()).select_from(User))
    if not users:
        seed(db=database, scale="small", password="bench-bounds-password")
    database.dispose()


def measure(server: Server, body: bytes, headers: dict[str, str], runs: int, **kw: Any) -> str:
    results = [send_body(server, "/api/v1/events", body, headers, **kw) for _ in range(runs)]
    statuses = sorted({r.status for r in results})
    times = [r.seconds * 1000 for r in results]
    return (
        f"status {statuses} p50 {statistics.median(times):.2f} ms max {max(times):.2f} ms, "
        f"peak RSS growth max {max(r.growth_mib for r in results):.2f} MiB, "
        f"sent before the answer ≤ {max(r.sent_bytes for r in results) / MIB:.2f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--db", help="SQLAlchemy URL (seeded with the small district if empty)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--big-mib", type=int, default=50, help="size of the big body")
    parser.add_argument("--smoke", action="store_true", help="3 runs, a 5 MiB big body")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.big_mib = 3, 5
    key = "bench-bounds-signing-key-0123456789abcdef"
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bounds.db"
        _seed_if_empty(url)
        headers = resident_headers(url, key)
        bodies = {
            "1 MB list body": (report_body(500_000), {}),
            "1 MB list body, chunked": (report_body(500_000), {"chunked": True}),
            f"{args.big_mib} MiB body": (b"[" + b"1," * (args.big_mib * MIB // 2) + b"1]", {}),
        }
        print(f"load average before: {os.getloadavg()}")
        for name, target, factory in (
            ("fengqiao", "fengqiao.app:create_app", True),
            ("bare ASGI 413", "bench.bench_bounds:bare_app", False),
        ):
            server = Server.start(target, app_env(url, Path(tmp), key), factory=factory)
            try:
                send_body(server, "/api/v1/events", report_body(10), headers)  # warm up
                for label, (body, options) in bodies.items():
                    print(
                        f"{name}: {label}: {measure(server, body, headers, args.runs, **options)}"
                    )
            finally:
                server.stop()
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
