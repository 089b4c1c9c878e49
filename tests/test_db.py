"""SQLite runs with WAL, foreign keys and write transactions that take the lock at BEGIN."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from fengqiao.db import Database, DatabaseBusy, UTCDateTime, normalise_url
from fengqiao.errors import install_handlers
from fengqiao.migrate import upgrade


def test_sqlite_pragmas(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with database.session() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 1234
        assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_write_sessions_take_the_lock_at_begin_and_readers_go_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    upgrade(url)
    first = Database(url, busy_timeout_ms=50)
    second = Database(url, busy_timeout_ms=50)
    writer = first.session(write=True)
    other_process = sqlite3.connect(tmp_path / "lock.db", timeout=0.05, isolation_level=None)
    try:
        reader = second.session()
        assert reader.execute(text("SELECT count(*) FROM org_unit")).scalar() == 0
        reader.close()
        # In this process a second writer queues on the process's lock; past the timeout it
        # gives up without having begun anything.
        with pytest.raises(DatabaseBusy):
            second.session(write=True)
        # Another process meets SQLite's own lock.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other_process.execute("BEGIN IMMEDIATE")
    finally:
        writer.rollback()
        writer.close()
    second.session(write=True).close()  # free again once the first writer is done
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            first.session(write=True)  # the process lock is free, SQLite's is not
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()


def test_the_write_lock_is_freed_however_the_transaction_ends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'free.db'}"
    upgrade(url)
    database = Database(url, busy_timeout_ms=50)
    session = database.session(write=True)
    session.commit()
    session = database.session(write=True)
    session.rollback()
    session = database.session(write=True)
    session.close()
    with pytest.raises(IntegrityError), database.transaction() as db:
        db.execute(text("INSERT INTO unit (code) VALUES (NULL)"))
    # A session begun on one thread and ended on another (FastAPI runs a dependency's setup and
    # teardown on different pool threads) frees the lock too.
    session = database.session(write=True)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(session.close).result()
    with database.transaction() as db:
        db.execute(text("SELECT 1"))
    database.dispose()


def test_run_write_runs_sqlite_writes_one_at_a_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    upgrade(url)
    database = Database(url)
    running, most = 0, 0
    guard = threading.Lock()

    def work() -> str:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with guard:
            running -= 1
        return threading.current_thread().name

    async def many() -> list[str]:
        return await asyncio.gather(*(database.run_write(work) for _ in range(8)))

    # On a thread of its own: browser tests leave an event loop running on the main thread.
    with ThreadPoolExecutor(1) as pool:
        names = pool.submit(asyncio.run, many()).result()
    assert most == 1 and len(set(names)) == 1
    database.dispose()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade(url)
    database = Database(url)
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO unit (code, name, unit_type, category, org_unit_id, active) VALUES ('u', 'u', 't', 'c', 999, 1)"
            )
        )


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)


def test_plain_postgresql_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "error",
    [
        DatabaseBusy("no write lock"),
        OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
    ],
)
def test_a_busy_database_is_a_503_that_says_nothing_was_stored(error: Exception) -> None:
    app = FastAPI()
    install_handlers(app)

    @app.post("/write")
    def write() -> None:
        raise error

    response = TestClient(app).post("/write")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert "nothing was stored" in body["detail"] and "未保存" in body["detail_zh"]


def test_other_database_errors_are_not_called_busy() -> None:
    app = FastAPI()
    install_handlers(app)

    @app.get("/broken")
    def broken() -> None:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

    response = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500
