"""How many reporters were active, per month, district and source (`rollup_month_active`).

Not a sum of entries like the other rollups: a reporter counts once in a month however many
events they filed, so the count is taken from `rollup_month_reporter` (a row per reporter,
source and town a month, carrying the town's district) and kept beside it — every change to
that table's rows recounts the (month, district, source) cells it touched, in the same
transaction; a rebuild recounts them all. A district and the areas above it read these counts
(a province's year is ~3.5 million reporter rows, a thousand here); a city or province adds its
districts' counts up, so a reporter active in two districts in one month counts in each (a grid
worker reports in the grid they are assigned to).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fengqiao.analytics.models import ACTIVE

Cell = tuple[int, int, str]  # (yyyymm, district id, source)

REBUILD = (
    "INSERT INTO rollup_month_active (period, district_id, source, reporters) "
    "SELECT period, district_id, source, count(DISTINCT reporter_id) FROM rollup_month_reporter "
    "WHERE new > 0 GROUP BY period, district_id, source"
)


def recount(connection: Connection, cells: Iterable[Cell]) -> None:
    """Count the cells again from the reporter rows (in a fixed order: no lock cycles).

    A reporter has one row per town in a month, and a district's towns are its own: the
    distinct reporters of a cell are its rows' distinct reporter ids."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    count = (
        "SELECT count(DISTINCT reporter_id) FROM rollup_month_reporter "
        f"WHERE period = {marker} AND district_id = {marker} AND source = {marker} AND new > 0"
    )
    upsert = (
        "INSERT INTO rollup_month_active (period, district_id, source, reporters) "
        f"VALUES ({marker}, {marker}, {marker}, {marker}) "
        "ON CONFLICT (period, district_id, source) DO UPDATE SET reporters = excluded.reporters"
    )
    remove = (
        "DELETE FROM rollup_month_active "
        f"WHERE period = {marker} AND district_id = {marker} AND source = {marker}"
    )
    for cell in sorted(set(cells)):
        reporters = int(connection.exec_driver_sql(count, cell).scalar_one())
        if reporters:
            connection.exec_driver_sql(upsert, (*cell, reporters))
        else:
            connection.exec_driver_sql(remove, cell)


def rebuild(connection: Connection) -> int:
    """Every cell counted again from the reporter rows; the number of cells."""
    connection.execute(ACTIVE.delete())
    return connection.exec_driver_sql(REBUILD).rowcount


def stored(connection: Connection) -> dict[Cell, int]:
    return {
        (row[0], row[1], row[2]): int(row[3])
        for row in connection.execute(select(ACTIVE)).all()
        if row[3]
    }
