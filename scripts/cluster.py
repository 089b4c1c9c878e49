"""Several `fengqiao serve` instances and workers on PostgreSQL behind Debian's HAProxy.

    .venv/bin/python scripts/cluster.py up [--instances 2] [--workers 2] [--port 8000]
                                           [--stats-port 8404] [--run-dir var/cluster]
    .venv/bin/python scripts/cluster.py restart [--run-dir var/cluster]

`up` (what `make cluster N=2` runs) needs FENGQIAO_DATABASE_URL pointing at PostgreSQL (migrated:
`fengqiao db upgrade`). It starts N `fengqiao serve --workers 1` instances, each on a port of its
own, and `--workers` `fengqiao worker` processes, writes its own haproxy.cfg into the run folder
and runs `haproxy` in the foreground with it (never Debian's system service), then waits until
HAProxy's health checks see every instance up and serves until Ctrl-C. The balancer listens on
`--port`, its stats page on `--stats-port` (/stats). Logs go to the run folder.

`restart` asks the running `up` (its pid is in the run folder) for a rolling restart: for each
instance in turn, SIGTERM (the instance drains: /healthz answers 503 until HAProxy takes it out,
requests in flight finish), wait until it exited, start it again, wait until HAProxy sees it up.

Tests and benches use `Cluster` directly (tests/ops/test_cluster.py, bench/bench_cluster.py).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
HAPROXY = "/usr/sbin/haproxy"
BACKEND = "fengqiao"

# HAProxy's configuration; every choice is explained in docs/scaling.md.
HAPROXY_CFG = """\
global
    # No maxconn: HAProxy derives it from the file descriptors it may open (`ulimit -n`), as
    # high as this machine allows; live streams (SSE) hold a connection each.
    log stdout format short local0 notice

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    timeout http-request 15s
    timeout http-keep-alive 10s
    timeout queue 10s
    # A check's answer may take this long beyond `inter` (a busy instance is slow, not down).
    timeout check 2s
    # WebSockets (call signalling) once upgraded; live streams (SSE) send a heartbeat well
    # within `timeout server`.
    timeout tunnel 1h
    timeout client-fin 5s
    # A connection that failed, or a server that closed without answering (an instance
    # stopping), is retried, on another instance (redispatch).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind {bind}:{port}
    option forwardfor
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    # A POST is retried only when it carries an Idempotency-Key (filing an event): the
    # instance that gets it again answers with the event filed the first time.
    http-request disable-l7-retry if METH_POST !{{ req.hdr(Idempotency-Key) -m found }}
    http-request disable-l7-retry if !METH_GET !METH_HEAD !METH_POST
    default-server inter 500ms fastinter 250ms downinter 1s rise 2 fall 2
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
    stats refresh 2s
"""


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """N instances, W workers and HAProxy in front, all on one PostgreSQL database."""

    database_url: str
    run_dir: Path
    instances: int = 2
    workers: int = 2
    port: int = 0  # the balancer's; 0 picks a free one
    stats_port: int = 0
    bind: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)  # extra FENGQIAO_* settings
    ports: list[int] = field(default_factory=list)  # the instances'; empty picks free ones
    extra_config: str = ""  # more HAProxy sections (bench/bench_cluster.py's frontends)
    servers: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    worker_processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The balancer's base URL."""
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "*") else self.bind
        return f"http://{host}:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}/stats"

    def _env(self, metrics: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            FENGQIAO_DATABASE_URL=self.database_url,
            FENGQIAO_DATA_DIR=str(self.run_dir / "data"),
            FENGQIAO_METRICS_DIR=str(self.run_dir / "metrics" / metrics),
        )
        env.update(self.env)
        return env

    def _log(self, name: str) -> IO[bytes]:
        out = (self.run_dir / f"{name}.log").open("ab")
        self._logs.append(out)
        return out

    def write_config(self) -> Path:
        """haproxy.cfg in the run folder, naming every instance's port."""
        servers = "\n".join(
            f"    server app{i} 127.0.0.1:{port} check" for i, port in enumerate(self.ports)
        )
        path = self.run_dir / "haproxy.cfg"
        path.write_text(
            HAPROXY_CFG.format(
                bind=self.bind, port=self.port, backend=BACKEND, servers=servers,
                stats_port=self.stats_port,
            ) + self.extra_config,
            encoding="utf-8",
        )  # fmt: skip
        return path

    def start(self, timeout: float = 90) -> None:
        """Start workers, instances and HAProxy; return once HAProxy sees every instance up."""
        if not self.database_url.startswith("postgresql"):
            raise RuntimeError("cluster: FENGQIAO_DATABASE_URL must be PostgreSQL")
        if not Path(HAPROXY).exists():
            raise RuntimeError("cluster: haproxy missing; bash scripts/browser_deps.sh installs it")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "data").mkdir(exist_ok=True)
        key = self.run_dir / "data" / "secret_key"
        if not self._env("-").get("FENGQIAO_SECRET_KEY") and not key.exists():
            # Every instance must sign and read the same tokens: made once, before any starts.
            key.write_text(secrets.token_urlsafe(48))
            key.chmod(0o600)
        self.port = self.port or free_port()
        self.stats_port = self.stats_port or free_port()
        self.ports = self.ports or [free_port() for _ in range(self.instances)]
        self.servers = [None] * self.instances
        for index in range(self.workers):
            worker = subprocess.Popen(
                [FENGQIAO, "worker"], env=self._env("workers"),
                stdout=self._log(f"worker{index}"), stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self.worker_processes.append(worker)
        for index in range(self.instances):
            self.start_instance(index)
        config = self.write_config()
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], capture_output=True)
        if check.returncode != 0:
            raise RuntimeError(f"cluster: haproxy.cfg refused: {check.stderr.decode()}")
        self.haproxy = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)],
            stdout=self._log("haproxy"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        for index in range(self.instances):
            self.wait_state(index, "UP", timeout=timeout)

    def start_instance(self, index: int) -> None:
        """`fengqiao serve --workers 1` on the instance's own port."""
        command = [FENGQIAO, "serve", "--host", "127.0.0.1", "--port", str(self.ports[index]),
                   "--workers", "1"]  # fmt: skip
        server = subprocess.Popen(
            command, env=self._env(f"app{index}"), stdout=self._log(f"app{index}"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.servers[index] = server
        (self.run_dir / f"app{index}.pid").write_text(str(server.pid))

    def states(self) -> dict[str, str]:
        """HAProxy's view of each instance (`app0` → `UP`, `DOWN`, `UP 1/2`, …), from its stats."""
        response = httpx.get(self.stats_url + ";csv", timeout=2)
        rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
        return {row["svname"]: row["status"] for row in rows if row["pxname"] == BACKEND}

    def wait_state(self, index: int, state: str, timeout: float = 60) -> None:
        """Wait until HAProxy reports the instance in `state` (`UP` or `DOWN`)."""
        deadline = time.monotonic() + timeout
        seen = "?"
        while time.monotonic() < deadline:
            server = self.servers[index]
            if state == "UP" and server is not None and server.poll() is not None:
                raise RuntimeError(f"app{index} exited ({server.returncode}): see its log")
            if self.haproxy is not None and self.haproxy.poll() is not None:
                log = (self.run_dir / "haproxy.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"haproxy exited ({self.haproxy.returncode}): {log}")
            with contextlib.suppress(httpx.HTTPError):
                seen = self.states().get(f"app{index}", "?")
                if seen == state:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"app{index} still {seen}, not {state}, after {timeout} s")

    def restart_instance(self, index: int, timeout: float = 90) -> float:
        """SIGTERM one instance, wait until it exited, start it again, wait until it is UP;
        the seconds it took."""
        started = time.monotonic()
        server = self.servers[index]
        assert server is not None
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=timeout)
        self.start_instance(index)
        self.wait_state(index, "UP", timeout=timeout)
        return time.monotonic() - started

    def rolling_restart(self) -> list[float]:
        """Restart every instance in turn; the seconds each took."""
        return [self.restart_instance(index) for index in range(self.instances)]

    def stop(self) -> None:
        """Stop everything: instances (draining, in parallel), workers, then HAProxy."""
        running = [s for s in self.servers if s is not None and s.poll() is None]
        running += [w for w in self.worker_processes if w.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for out in self._logs:
            out.close()
        self._logs.clear()


@contextlib.contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    """Start the cluster; stop it whatever happens."""
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _up(args: argparse.Namespace) -> None:
    url = os.environ.get("FENGQIAO_DATABASE_URL", "")
    cluster = Cluster(
        database_url=url, run_dir=Path(args.run_dir).resolve(), instances=args.instances,
        workers=args.workers, port=args.port, stats_port=args.stats_port, bind=args.bind,
    )  # fmt: skip
    restart, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: restart.set())
    # Ctrl-C or SIGTERM (systemd, kill) stops everything it started, draining the instances.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running(cluster):
        pid_file = cluster.run_dir / "cluster.pid"
        pid_file.write_text(str(os.getpid()))
        print(f"cluster: {cluster.instances} instances on {cluster.ports}, {cluster.workers} "
              f"workers; HAProxy on {cluster.url}, stats on {cluster.stats_url}; logs in "
              f"{cluster.run_dir}; Ctrl-C stops", flush=True)  # fmt: skip
        try:
            while not stop.wait(1):
                if restart.is_set():
                    restart.clear()
                    print("cluster: rolling restart", flush=True)
                    took = cluster.rolling_restart()
                    print(
                        f"cluster: restarted, {', '.join(f'{t:.1f} s' for t in took)}", flush=True
                    )
                for index, server in enumerate(cluster.servers):
                    if server is not None and server.poll() is not None:
                        print(
                            f"cluster: app{index} exited ({server.returncode}); starting it",
                            flush=True,
                        )
                        cluster.start_instance(index)
            print("cluster: stopping", flush=True)
        finally:
            pid_file.unlink(missing_ok=True)


def _restart(args: argparse.Namespace) -> None:
    pid_file = Path(args.run_dir) / "cluster.pid"
    if not pid_file.exists():
        raise SystemExit(f"cluster: no running cluster ({pid_file} missing)")
    os.kill(int(pid_file.read_text()), signal.SIGUSR1)
    print("cluster: rolling restart requested; `up` prints when it is done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    up = sub.add_parser("up", help="start the cluster and serve until Ctrl-C")
    up.add_argument("--instances", type=int, default=2)
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--port", type=int, default=8000, help="HAProxy's port")
    up.add_argument("--stats-port", type=int, default=8404)
    up.add_argument("--bind", default="127.0.0.1", help="HAProxy's address")
    up.add_argument("--run-dir", default="var/cluster")
    restart = sub.add_parser("restart", help="rolling restart of the running cluster")
    restart.add_argument("--run-dir", default="var/cluster")
    args = parser.parse_args()
    if args.command == "restart":
        _restart(args)
    else:
        if args.command is None:
            args = up.parse_args([])
        _up(args)


if __name__ == "__main__":
    main()
