"""PostgreSQL's monthly partitions (migration 0040, fengqiao/partitions): the maintenance job
makes months ahead and drops old position months, a row of a month without a partition lands
in the default and is moved, the trail stays append-only, and the hot queries touch one or two
partitions. SQLite keeps plain tables (the job is a no-op there); the migration with rows in it
goes down and up on both backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.events.models import Event, EventLog
from fengqiao.migrate import downgrade, upgrade
from fengqiao.outbox.models import OUTBOX_PENDING_SQL, Outbox
from fengqiao.partitions import BY_NAME, TABLES, partition_name
from fengqiao.partitions.jobs import DEFAULT_ROWS, MOVED, maintain, maintain_table
from fengqiao.patrol.models import Position

from .conftest import START, Desk

POSTGRES_ONLY = "native partitioning is PostgreSQL's; SQLite keeps plain tables"


def _postgres_only(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip(POSTGRES_ONLY)


def _partitions(db: Session, table: str) -> set[str]:
    rows = db.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"
        ),
        {"t": table},
    )
    return set(rows.scalars())


def _where(db: Session, table: str, condition: str, **params: Any) -> list[str]:
    rows = db.execute(
        text(f"SELECT tableoid::regclass::text FROM {table} WHERE {condition}"), params
    )
    return list(rows.scalars())


def test_the_job_is_a_no_op_on_sqlite(bound: Any) -> None:
    if not bound.is_sqlite:
        pytest.skip("the SQLite half of the job")
    assert maintain(bound, now=START, ahead=3, retention=1) == {}


def test_maintain_makes_months_ahead_drops_old_positions_and_is_idempotent(
    bound: Any, db: Session
) -> None:
    _postgres_only(bound)
    now = datetime(2031, 3, 15, 4, 0, tzinfo=UTC)
    first = maintain(bound, now=now, ahead=2, retention=3)
    for spec in TABLES:
        made = _partitions(db, spec.table)
        for month in (date(2031, 3, 1), date(2031, 4, 1), date(2031, 5, 1)):
            assert partition_name(spec.table, month) in made
        assert partition_name(spec.table, date(2031, 3, 1)) in first[spec.table].created
    again = maintain(bound, now=now, ahead=2, retention=3)
    assert all(not r.created and not r.dropped and not r.moved for r in again.values())
    # A position month older than the retention goes, with its rows; younger ones stay.
    with bound.transaction() as session:
        connection = session.connection()
        for month in (date(2030, 11, 1), date(2030, 12, 1)):
            connection.exec_driver_sql(
                f"CREATE TABLE {partition_name('position', month)} PARTITION OF position "
                f"FOR VALUES FROM ('{month} 00:00+08') TO "
                f"('{(month + timedelta(days=31)).replace(day=1)} 00:00+08')"
            )
    user = db.scalar(text("SELECT id FROM user_account ORDER BY id LIMIT 1"))
    old = datetime(2030, 11, 20, 2, 0, tzinfo=UTC)
    kept = datetime(2030, 12, 20, 2, 0, tzinfo=UTC)
    for at in (old, kept):
        db.add(Position(user_id=user, at=at, lat=30.0, lng=120.5))
    db.commit()
    later = maintain(bound, now=now, ahead=2, retention=3)
    assert later["position"].dropped == ["position_p203011"]
    assert not later["event_log"].dropped  # only positions are dropped
    remaining = {row.at for row in db.execute(select(Position.at).where(Position.user_id == user))}
    assert kept in remaining and old not in remaining


def test_a_row_of_a_month_without_a_partition_lands_in_the_default_and_is_moved(
    bound: Any, db: Session
) -> None:
    _postgres_only(bound)
    at = datetime(2033, 7, 9, 1, 0, tzinfo=UTC)
    user = db.scalar(text("SELECT id FROM user_account ORDER BY id LIMIT 1"))
    town = db.scalar(text("SELECT id FROM org_unit WHERE kind = 'town' ORDER BY id LIMIT 1"))
    db.add(Position(user_id=user, at=at, lat=30.0, lng=120.5))
    db.execute(
        text(
            "INSERT INTO rollup_day_town (period, town_id, district_id, "
            + ", ".join(c for c in _counters(db))
            + ") VALUES (20330709, :town, NULL, "
            + ", ".join("0" for _ in _counters(db))
            + ")"
        ),
        {"town": town},
    )
    db.commit()
    # Nothing is lost: the rows are stored, in the default partitions.
    assert _where(db, "position", "at = :at", at=at) == ["position_default"]
    assert _where(db, "rollup_day_town", "period = 20330709") == ["rollup_day_town_default"]
    moved_before = MOVED.labels("position")._value.get()
    with bound.transaction() as session:
        report = maintain_table(
            session.connection(), BY_NAME["position"], now=START, ahead=1, retention=120
        )
    assert DEFAULT_ROWS.labels("position")._value.get() >= 1  # the metric says so
    assert "position_p203307" in report.created and report.moved >= 1
    assert MOVED.labels("position")._value.get() - moved_before == report.moved
    assert _where(db, "position", "at = :at", at=at) == ["position_p203307"]
    assert db.scalar(text("SELECT count(*) FROM position_default")) == 0
    maintain(bound, now=START, ahead=1, retention=120)
    assert _where(db, "rollup_day_town", "period = 20330709") == ["rollup_day_town_p203307"]


def _counters(db: Session) -> list[str]:
    rows = db.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'rollup_day_town' AND column_name NOT IN ('period', 'town_id', 'district_id')"
        )
    )
    return list(rows.scalars())


def test_the_partitioned_trail_stays_append_only_after_a_move(
    desk: Desk, bound: Any, db: Session
) -> None:
    _postgres_only(bound)
    filed = desk.file()
    event = db.get(Event, filed["id"])
    assert event is not None
    maintain(bound, now=START, ahead=1, retention=120)
    month = partition_name("event_log", date(START.year, START.month, 1))
    assert set(_where(db, "event_log", "event_id = :id", id=event.id)) == {month}
    for statement in (
        f"UPDATE event_log SET note = 'x' WHERE event_id = {event.id}",
        f"DELETE FROM event_log WHERE event_id = {event.id}",
        f"UPDATE {month} SET note = 'x' WHERE event_id = {event.id}",
        "TRUNCATE event_log",
    ):
        with pytest.raises(Exception, match="append-only"), bound.transaction() as session:
            session.execute(text(statement))


def _scanned(db: Session, statement: Any) -> list[str]:
    """The relations a plan of the (compiled) statement reads."""
    compiled = statement.compile(dialect=db.get_bind().dialect)
    connection = db.connection()
    plan = connection.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.construct_params()
    ).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _of(table: str, relations: list[str]) -> list[str]:
    return [r for r in relations if r == table or r.startswith(f"{table}_")]


def test_the_hot_queries_touch_one_or_two_partitions(bound: Any, db: Session) -> None:
    _postgres_only(bound)
    maintain(bound, now=START, ahead=3, retention=120)
    month = date(START.year, START.month, 1)
    for spec in TABLES:
        assert len(_partitions(db, spec.table)) >= 5  # so pruning has something to prune
    created = START + timedelta(hours=1)
    trail = (
        select(EventLog)
        .where(EventLog.event_id == 1, EventLog.filed_at == created)
        .order_by(EventLog.seq)
    )
    assert _of("event_log", _scanned(db, trail)) == [partition_name("event_log", month)]
    day_start = START.replace(hour=0)
    day = (
        select(Position.at, Position.lat, Position.lng)
        .where(
            Position.user_id == 1, Position.at >= day_start, Position.at < day_start + timedelta(1)
        )
        .order_by(Position.at)
    )
    assert _of("position", _scanned(db, day)) == [partition_name("position", month)]
    rollup = text(
        "SELECT town_id, sum(new) FROM rollup_day_town WHERE period BETWEEN 20261201 AND "
        "20261231 AND town_id = 5 GROUP BY town_id"
    ).columns()
    assert _of("rollup_day_town", _scanned(db, rollup)) == ["rollup_day_town_p202612"]
    across = text(
        "SELECT sum(new) FROM rollup_day_town WHERE period BETWEEN 20261115 AND 20261214"
    ).columns()
    assert len(_of("rollup_day_town", _scanned(db, across))) == 2
    # Unpartitioned by design: the town's list reads the events, the sender the outbox alone.
    town_list = select(Event.id).where(Event.town_id == 5).order_by(Event.created_at.desc())
    assert set(_scanned(db, town_list.limit(50))) == {"event"}
    pending = (
        select(Outbox.id)
        .where(text(OUTBOX_PENDING_SQL), Outbox.next_attempt_at <= START)
        .order_by(Outbox.next_attempt_at)
        .limit(100)
    )
    assert set(_scanned(db, pending)) == {"outbox"}


def test_the_migration_goes_down_and_up_with_rows_in_it(fresh_db: Database, tmp_path: Path) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    seed_events(db=fresh_db, count=300, until=datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    tables = ("event", "event_log", "position", "outbox", "rollup_day_town")

    def counts() -> dict[str, int]:
        with fresh_db.engine.connect() as connection:
            return {
                t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in tables
            }

    before = counts()
    assert before["event"] == 300 and before["event_log"] and before["position"]
    if not fresh_db.is_sqlite:  # the seed made its months first: nothing went to the default
        with fresh_db.engine.connect() as connection:
            stray = connection.execute(text("SELECT count(*) FROM event_log_default"))
            assert stray.scalar_one() == 0
    downgrade(fresh_db.url, "0039_province")
    fresh_db.dispose()
    assert counts() == before
    upgrade(fresh_db.url)
    fresh_db.dispose()
    assert counts() == before
    with fresh_db.engine.connect() as connection:
        for table in ("event", "event_log", "position", "rollup_day_town"):
            missing = connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE district_id IS NULL")
            ).scalar_one()
            assert missing == 0, table
        strays = connection.execute(
            text(
                "SELECT count(*) FROM event_log l JOIN event e ON e.id = l.event_id "
                "WHERE l.filed_at <> e.created_at"
            )
        ).scalar_one()
        assert strays == 0
        if not fresh_db.is_sqlite:
            kind = connection.execute(
                text("SELECT relkind FROM pg_class WHERE relname = 'event_log'")
            ).scalar_one()
            assert kind == "p"
            # The copied rows went to their months; the id sequences go on after them.
            last = connection.execute(text("SELECT max(id) FROM event_log")).scalar_one()
            following = connection.execute(
                text("SELECT nextval(pg_get_serial_sequence('event_log', 'id'))")
            ).scalar_one()
            assert following > last
