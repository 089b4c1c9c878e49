"""SQLite runs with WAL, foreign keys and write transactions that take the lock at BEGIN."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from fengqiao.db import Database, UTCDateTime, normalise_url
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
    try:
        reader = second.session()
        assert reader.execute(text("SELECT count(*) FROM org_unit")).scalar() == 0
        reader.close()
        with pytest.raises(OperationalError, match="locked"):
            second.session(write=True)
    finally:
        writer.rollback()
        writer.close()
    second.session(write=True).close()  # free again once the first writer is done


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
