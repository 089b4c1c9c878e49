"""PostgreSQL clusters and a PgBouncer of the tests' own: a primary made with initdb, a streaming
standby made from it with `pg_basebackup -R`, each on a free port in a temporary folder.

The tests run as root; PostgreSQL refuses to, so the servers run as the `postgres` user. The
machine's own server (127.0.0.1:5432) does not allow replication connections in its pg_hba.conf,
so the standby copies a primary of the tests' own instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

# Debian's server binaries (the postgresql package scripts/services.sh requires), newest major.
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    default=Path("/usr/lib/postgresql/15/bin"),
)
PGBOUNCER = Path("/usr/sbin/pgbouncer")
RUN_AS = "postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str | Path) -> list[str]:
    words = [str(word) for word in command]
    return words if os.geteuid() != 0 else ["runuser", "-u", RUN_AS, "--", *words]


def _run(*command: str | Path) -> None:
    subprocess.run(_as_postgres(*command), check=True, capture_output=True, timeout=120)


def workspace(prefix: str) -> Path:
    """A folder the servers' user may write: as root, in /tmp itself (pytest's tmp_path, or a
    TMPDIR made by tempfile, is root's with mode 700, which `postgres` cannot enter)."""
    if os.geteuid() != 0:
        return Path(tempfile.mkdtemp(prefix=prefix))
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    shutil.chown(folder, RUN_AS, RUN_AS)
    return folder


class Cluster:
    """One PostgreSQL server in `data`, listening on 127.0.0.1:`port` (trust auth)."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port

    @classmethod
    def primary(cls, root: Path) -> Cluster:
        """A new primary that streams WAL to standbys."""
        cluster = cls(root / "primary", free_port())
        _run(PG_BIN / "initdb", "-D", cluster.data, "-U", "postgres", "-A", "trust", "-E", "UTF8")
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "wal_level = replica\nmax_wal_senders = 5\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
            )
        cluster.start()
        return cluster

    def standby(self, root: Path) -> Cluster:
        """A hot standby of this primary, streaming from it (`pg_basebackup -R`)."""
        standby = Cluster(root / "standby", free_port())
        _run(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", standby.data, "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        standby.start()
        return standby

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        _run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.data / "log", "-w",
             "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        _run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "status"), capture_output=True
        )
        return status.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def sql(self, statement: str, database: str = "postgres") -> object:
        """Run one statement in autocommit; its first value (None when it returns no rows)."""
        with psycopg.connect(self.dsn(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            return None if row is None else row[0]


def caught_up(primary: Cluster, standby: Cluster) -> bool:
    """Whether the standby has replayed all the primary has written so far."""
    written = primary.sql("SELECT pg_current_wal_insert_lsn()::text")  # not yet flushed too
    return bool(standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"))


def wait_until(check: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Bouncer:
    """A PgBouncer in transaction mode in front of one server, on a free port."""

    def __init__(self, root: Path, host: str, port: int) -> None:
        self.root, self.port = root, free_port()
        self.ini = root / "pgbouncer.ini"
        (root / "userlist.txt").write_text('"postgres" ""\n')
        self.ini.write_text(
            "[databases]\n"
            f"* = host={host} port={port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {root}\n"
            "auth_type = trust\n"
            f"auth_file = {root / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            "default_pool_size = 10\nmax_client_conn = 200\n"
            "server_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {root / 'pgbouncer.log'}\n"
            f"pidfile = {root / 'pgbouncer.pid'}\n"
        )
        if os.geteuid() == 0:
            for path in root.iterdir():
                shutil.chown(path, RUN_AS, RUN_AS)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(_as_postgres(PGBOUNCER, "-q", self.ini))
        wait_until(self._answers, what=f"pgbouncer on port {self.port}")
        wait_until((self.root / "pgbouncer.pid").exists, what="pgbouncer's pid file")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """Stop it at once (SIGTERM: immediate shutdown, every connection closed)."""
        pid_file = self.root / "pgbouncer.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
        if self.process is not None:
            self.process.wait(30)
            self.process = None
        wait_until(lambda: not self._answers(), what="pgbouncer to stop")
        pid_file.unlink(missing_ok=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"
