"""PostgreSQL's monthly partitions of the big tables (migration 0040) and their upkeep.

The trail (`event_log`, by its event's filing time `filed_at`), the GPS fixes (`position`, by
`at`) and the rollup day tables (by `period`, a local yyyymmdd) are range-partitioned by local
(Asia/Shanghai) month: `<table>_p<yyyymm>`, plus `<table>_default` for a row whose month has no
partition yet. The `partitions.maintain` job (partitions/jobs.py) creates months ahead, moves rows
out of the default partition, and drops position months past the retention. SQLite keeps plain
tables: everything here is a no-op there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from fengqiao.clock import LOCAL_TZ


@dataclass(frozen=True)
class Partitioned:
    """One partitioned table: its partition key, and whether that is a time or a yyyymmdd."""

    table: str
    key: str
    kind: str  # "time" (timestamptz, local months) or "day" (integer yyyymmdd)
    retained: bool = False  # old months are dropped after `position_retention_months`


DAY_ROLLUPS = (
    "rollup_day_town", "rollup_day_level_source", "rollup_day_unit", "rollup_day_major",
    "rollup_day_class",
)  # fmt: skip
TABLES: tuple[Partitioned, ...] = (
    Partitioned("event_log", "filed_at", "time"),
    Partitioned("position", "at", "time", retained=True),
    *(Partitioned(name, "period", "day") for name in DAY_ROLLUPS),
)
BY_NAME = {spec.table: spec for spec in TABLES}
_PARTITION = re.compile(r"^(?P<table>[a-z_]+)_(?:p(?P<month>\d{6})|default)$")


def partition_name(table: str, month: date) -> str:
    """`<table>_p<yyyymm>` of the month that holds `month` (any day of it)."""
    return f"{table}_p{month.year:04d}{month.month:02d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partition(name: str | None) -> bool:
    """Whether `name` is one of the partitions (not modelled: alembic leaves them alone)."""
    found = _PARTITION.match(name or "")
    return found is not None and found["table"] in BY_NAME


def month_of(at: datetime) -> date:
    """The first day of the local month of `at`."""
    local = at.astimezone(LOCAL_TZ)
    return date(local.year, local.month, 1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month` (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def bounds(spec: Partitioned, month: date) -> tuple[str, str]:
    """The FROM and TO literals of a month's partition of `spec` (SQL text)."""
    after = add_months(month, 1)
    if spec.kind == "day":
        return str(month.year * 10000 + month.month * 100 + 1), str(
            after.year * 10000 + after.month * 100 + 1
        )
    return f"'{month.isoformat()} 00:00:00+08'", f"'{after.isoformat()} 00:00:00+08'"


def create_sql(spec: Partitioned, month: date) -> str:
    """CREATE TABLE of one month's partition (IF NOT EXISTS: idempotent)."""
    low, high = bounds(spec, month)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(spec.table, month)} PARTITION OF "
        f"{spec.table} FOR VALUES FROM ({low}) TO ({high})"
    )


def months_sql(spec: Partitioned, relation: str) -> str:
    """SELECT of the distinct local months (as yyyymm integers) of the rows of `relation`."""
    if spec.kind == "day":
        return f"SELECT DISTINCT {spec.key} / 100 FROM {relation}"
    return (
        f"SELECT DISTINCT CAST(to_char({spec.key} AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') "
        f"AS integer) FROM {relation}"
    )


def yyyymm_month(value: int) -> date:
    return date(value // 100, value % 100, 1)
