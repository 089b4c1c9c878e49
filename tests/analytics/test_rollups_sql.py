"""The rollup rebuild in SQL (PostgreSQL's INSERT … SELECT … GROUP BY) gives the rows the
Python rebuild gives, on a seeded district's year of events; SQLite keeps the Python rebuild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fengqiao.analytics.models import SPECS
from fengqiao.analytics.rollups import compare, compute, rebuild, stored
from fengqiao.db import Database
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed

UNTIL = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)


def _stored(db: Database) -> dict[str, dict[tuple[object, ...], tuple[int, ...]]]:
    with db.engine.connect() as connection:
        return {spec.name: stored(connection, spec) for spec in SPECS}


def test_rollups_rebuilt_in_sql_equal_the_python_rebuild(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    seed_events(db=fresh_db, count=2500, until=UNTIL)
    python = rebuild(fresh_db, in_sql=False)
    by_python = _stored(fresh_db)
    with fresh_db.engine.connect() as connection:
        assert by_python == compute(connection)
    assert sum(len(rows) for rows in by_python.values()) > 1000
    if fresh_db.is_sqlite:
        # SQLite: the default rebuild is the Python one (no time zones in SQL to find local days).
        assert rebuild(fresh_db).rows == python.rows
        assert _stored(fresh_db) == by_python
        return
    in_sql = rebuild(fresh_db)  # the default on PostgreSQL
    assert in_sql.events == python.events == 2500
    assert in_sql.rows == python.rows
    assert _stored(fresh_db) == by_python
    with fresh_db.engine.connect() as connection:
        assert compare(connection) == {}
    # Every table's district column filled from the town, as the Python rebuild fills it.
    with fresh_db.engine.connect() as connection:
        for spec in SPECS:
            if spec.grain == "day":
                missing = connection.exec_driver_sql(
                    f"SELECT count(*) FROM {spec.table_name} WHERE district_id IS NULL"
                ).scalar_one()
                assert missing == 0, spec.name


@pytest.mark.parametrize("grain", ["day", "month"])
def test_sql_rebuild_keys_are_local_days(grain: str) -> None:
    from fengqiao.analytics.rollups_sql import entries_sql, insert_sql

    sql = entries_sql()
    assert "AT TIME ZONE 'Asia/Shanghai'" in sql
    spec = next(s for s in SPECS if s.grain == grain)
    assert insert_sql(spec).startswith(f"INSERT INTO {spec.table_name} (period, ")
