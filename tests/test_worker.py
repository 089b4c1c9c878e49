"""The worker: named jobs, one at a time or in rounds, one per SQLite file, time as a parameter."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fengqiao.cli import app as cli_app
from fengqiao.clock import FixedClock
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.migrate import upgrade
from fengqiao.worker import WorkerAlreadyRunning, jobs, lock_path, run_forever, single_worker

from .conftest import make_settings


def test_the_jobs_start_with_the_sweeper_and_end_with_the_sender() -> None:
    names = list(jobs())
    assert names[0] == "sla" and names[-1] == "outbox"
    # Messages the other jobs queue (the morning's bulletin) leave in the same round.
    assert "bulletin" in names
    assert all(job.description for job in jobs().values())


def test_a_second_worker_on_one_sqlite_file_refuses(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    other = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with single_worker(database):
        path = lock_path(database)
        assert path is not None and "pid" in path.read_text()
        with pytest.raises(WorkerAlreadyRunning, match="only one worker"), single_worker(other):
            pass
    with single_worker(other):  # free again once the first one stopped
        pass


def test_the_lock_holds_across_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code = (
        "import sys, time\n"
        "from fengqiao.db import Database\n"
        "from fengqiao.worker import single_worker\n"
        f"with single_worker(Database({url!r})):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WorkerAlreadyRunning), single_worker(Database(url)):
            pass
    finally:
        holder.communicate("\n", timeout=30)


def test_postgresql_workers_need_no_lock() -> None:
    database = Database("postgresql://postgres@127.0.0.1:5432/test")
    assert lock_path(database) is None
    with single_worker(database), single_worker(database):
        pass
    database.dispose()


def test_rounds_run_every_job_until_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    database = Database(url)
    settings = make_settings(url, tmp_path).model_copy(update={"worker_poll_seconds": 0.01})
    stop = threading.Event()
    rounds: list[dict[str, dict[str, int]]] = []

    def seen(counts: dict[str, dict[str, int]]) -> None:
        rounds.append(counts)
        if len(rounds) == 3:
            stop.set()

    clock = FixedClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    thread = threading.Thread(
        target=run_forever,
        args=(database, settings, clock),
        kwargs={"stop": stop, "on_round": seen},
    )
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(rounds) == 3
    assert all(set(r) == set(jobs()) for r in rounds)
    database.dispose()


def test_jobs_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(cli_app, ["jobs", "list"])
        assert listed.exit_code == 0 and "sla" in listed.output and "outbox" in listed.output
        ran = runner.invoke(cli_app, ["jobs", "run", "sla", "--now", "2026-12-01T09:00+08:00"])
        assert ran.exit_code == 0, ran.output
        assert "2026-12-01T09:00:00+08:00" in ran.output and "nothing due" in ran.output
        bare = runner.invoke(cli_app, ["jobs", "run", "sla", "--now", "2026-12-01T09:00"])
        assert "2026-12-01T09:00:00+08:00" in bare.output  # Beijing time without an offset
        unknown = runner.invoke(cli_app, ["jobs", "run", "nope"])
        assert unknown.exit_code == 2 and "sla" in unknown.output
        bad = runner.invoke(cli_app, ["jobs", "run", "sla", "--now", "tomorrow"])
        assert bad.exit_code == 2 and "ISO 8601" in bad.output
    finally:
        get_settings.cache_clear()
