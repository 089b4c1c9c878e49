"""The read database's wiring on both backends: without FENGQIAO_READ_DATABASE_URL every read
uses the primary; a read URL that cannot be a standby (SQLite on either side) is refused at
start with a clear message; a PostgreSQL read URL gives the routing `ReadDatabase`."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengqiao.app import create_app
from fengqiao.db import Database, ReadDatabase
from tests.conftest import make_settings


def test_without_a_read_url_reads_use_the_primary(fresh_db: Database, tmp_path: Path) -> None:
    app = create_app(make_settings(fresh_db.url, tmp_path), database=fresh_db)
    assert app.state.read_db is app.state.db is fresh_db


def test_a_read_url_that_cannot_be_a_standby_is_refused(fresh_db: Database, tmp_path: Path) -> None:
    bad = f"sqlite:///{tmp_path / 'replica.db'}"
    if fresh_db.is_sqlite:
        bad = "postgresql://postgres@127.0.0.1:5432/test"  # a SQLite primary has no standby
    settings = make_settings(fresh_db.url, tmp_path, read_database_url=bad)
    with pytest.raises(ValueError, match="FENGQIAO_READ_DATABASE_URL"):
        create_app(settings, database=fresh_db)


def test_a_postgresql_read_url_routes_reads(fresh_db: Database, tmp_path: Path) -> None:
    if fresh_db.is_sqlite:
        pytest.skip("a read replica is PostgreSQL's (SQLite refuses one, test above)")
    settings = make_settings(fresh_db.url, tmp_path, read_database_url=fresh_db.url)
    app = create_app(settings, database=fresh_db)
    read = app.state.read_db
    assert isinstance(read, ReadDatabase) and read.primary is fresh_db
    try:
        assert read.state() is None and read.lag == 0  # a primary is never behind itself
        with read.session(write=True) as session:  # writes go to the primary's engine
            assert session.get_bind() is fresh_db.engine
        with read.session() as session:
            assert session.get_bind() is read.engine
    finally:
        read.dispose()
