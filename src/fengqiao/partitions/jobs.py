"""`partitions.maintain`: PostgreSQL's monthly partitions made ahead, the default emptied, old
position months dropped. Idempotent; a no-op on SQLite."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Connection

from fengqiao.db import Database
from fengqiao.jobs import JobContext, job
from fengqiao.partitions import (
    TABLES,
    Partitioned,
    add_months,
    create_sql,
    default_name,
    month_of,
    months_sql,
    partition_name,
    yyyymm_month,
)

log = logging.getLogger("fengqiao.partitions")
# The first key of the job's advisory locks (the second is the table name's hash).
LOCK_CLASS = 2140

DEFAULT_ROWS = Gauge(
    "fengqiao_partition_default_rows",
    "Rows found in a table's default partition (their month had no partition) at the last "
    "maintenance round, before they were moved into their month.",
    ["table"],
)
MOVED = Counter(
    "fengqiao_partition_rows_moved_total",
    "Rows moved out of a default partition into the month partition made for them.",
    ["table"],
)


@dataclass(frozen=True)
class TableReport:
    created: list[str]
    dropped: list[str]
    moved: int


def _partitions(connection: Connection, table: str) -> set[str]:
    rows = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table,),
    )
    return {row[0] for row in rows}


def _months(connection: Connection, spec: Partitioned, relation: str) -> set[date]:
    return {
        yyyymm_month(int(row[0]))
        for row in connection.exec_driver_sql(months_sql(spec, relation))
        if row[0] is not None
    }


def maintain_table(
    connection: Connection, spec: Partitioned, *, now: datetime, ahead: int, retention: int
) -> TableReport:
    """Make the months from now to `ahead` (and those of any rows in the default partition),
    move the default's rows into them, and drop position months past `retention`."""
    table, default = spec.table, default_name(spec.table)
    current = month_of(now)
    existing = _partitions(connection, table)
    stray = connection.exec_driver_sql(f"SELECT count(*) FROM {default}").scalar_one()
    DEFAULT_ROWS.labels(table).set(stray)
    wanted = {add_months(current, n) for n in range(ahead + 1)}
    if stray:
        wanted |= _months(connection, spec, default)
    missing = sorted(m for m in wanted if partition_name(table, m) not in existing)
    moved = 0
    if stray:
        log.warning(
            "%s: %d rows in the default partition (no partition for their month); "
            "moving them into %s",
            table, stray, ", ".join(partition_name(table, m) for m in missing),
        )  # fmt: skip
        # The default is detached (under the parent's exclusive lock until commit: writers wait,
        # none fail), the months made, a new empty default attached, and the old default's rows
        # put back through the parent, which routes them to their months; then it is dropped,
        # never deleted from (the trail's rows are append-only).
        holding = f"{default}_moving"
        connection.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {default}")
        connection.exec_driver_sql(f"ALTER TABLE {default} RENAME TO {holding}")
        for month in missing:
            connection.exec_driver_sql(create_sql(spec, month))
        connection.exec_driver_sql(f"CREATE TABLE {default} PARTITION OF {table} DEFAULT")
        moved = connection.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {holding}").rowcount
        connection.exec_driver_sql(f"DROP TABLE {holding}")
        MOVED.labels(table).inc(moved)
    else:
        for month in missing:
            connection.exec_driver_sql(create_sql(spec, month))
    dropped: list[str] = []
    if spec.retained:
        oldest_kept = add_months(current, -retention)
        for name in sorted(_partitions(connection, table)):
            suffix = name.removeprefix(f"{table}_p")
            if suffix.isdigit() and yyyymm_month(int(suffix)) < oldest_kept:
                connection.exec_driver_sql(f"DROP TABLE {name}")
                dropped.append(name)
    created = [partition_name(table, m) for m in missing]
    return TableReport(created=created, dropped=dropped, moved=moved)


def maintain(
    database: Database, *, now: datetime, ahead: int, retention: int
) -> dict[str, TableReport]:
    """Maintain every partitioned table, each in its own transaction; nothing on SQLite."""
    if database.is_sqlite:
        return {}
    reports = {}
    for spec in TABLES:
        with database.transaction() as db:
            connection = db.connection()
            # One worker at a time per table (several run on PostgreSQL): the others skip it
            # this round rather than queue on the parent's lock or race to create a month.
            took = connection.exec_driver_sql(
                "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, spec.table)
            ).scalar_one()
            if not took:
                continue
            reports[spec.table] = maintain_table(
                connection, spec, now=now, ahead=ahead, retention=retention
            )
    return reports


@job(
    "partitions.maintain",
    "PostgreSQL partitions: months made ahead, rows in a default partition moved to their month, "
    "position months past the retention dropped (nothing on SQLite)",
)
def run(context: JobContext) -> dict[str, int]:
    reports = maintain(
        context.database,
        now=context.now,
        ahead=context.settings.partition_months_ahead,
        retention=context.settings.position_retention_months,
    )
    return {
        "created": sum(len(r.created) for r in reports.values()),
        "dropped": sum(len(r.dropped) for r in reports.values()),
        "moved": sum(r.moved for r in reports.values()),
    }
