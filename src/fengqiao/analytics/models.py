"""The rollup tables: one per (time grain, dimensions), each a sum of the events' entries.

Each table's key is its period (yyyymmdd or yyyymm, a local day or month) and its dimensions;
its columns are the counters of `facts.COUNTERS` it keeps (all, or the few it is asked for). Narrow tables serve the common questions
fast (a year of the district's major classes is a few thousand rows); the wide day table
answers any town-level combination to the day.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from fengqiao.analytics.facts import COUNTERS
from fengqiao.db import Base

# Dimensions an event has, with their column types (the sentinel for "none" is 0 / "").
DIMENSION_TYPES: dict[str, type[Integer] | String] = {
    "town_id": Integer,
    "village_id": Integer,
    "grid_id": Integer,
    "category_code": String(8),
    "major_code": String(8),
    "platform": String(16),
    "level": Integer,
    "source": String(16),
    "owner_unit_id": Integer,
    "reporter_id": Integer,
    "how": Integer,  # hour of the week of the entry, 0-167
}


@dataclass(frozen=True)
class RollupSpec:
    """One rollup: its table name, time grain and dimensions (the key after the period)."""

    name: str
    grain: str  # "day" or "month"
    dims: tuple[str, ...]
    # Dimensions that follow from others (major and platform from the class): stored so
    # queries can group by them, but they add no rows.
    derived: tuple[str, ...] = ()
    # The counters it keeps: all by default; a table that answers few questions keeps fewer,
    # and then holds no rows for entries that add nothing to them (e.g. closings to `new`).
    counters: tuple[str, ...] = COUNTERS

    @property
    def table_name(self) -> str:
        return f"rollup_{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.dims + self.derived


# What is asked of a reporter: how much and how good (有效上报), and what became of it.
REPORTER_COUNTERS = (
    "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue", "rejected",
    "voided", "merged", "self_handled", "returned_events", "reworked_events", "handle_seconds",
    "rated", "satisfaction_sum",
)  # fmt: skip
CLASS = ("category_code",)
CLASS_DERIVED = ("major_code", "platform")
# Smallest first within each grain: a question is answered by the first table that has its
# dimensions. The day tables answer any town-level question to the day; the month tables answer
# whole months with fewer rows, and alone hold hours of the week, villages, grids and reporters
# (at the day grain those would be nearly as many rows as the events).
SPECS: tuple[RollupSpec, ...] = (
    RollupSpec("day_town", "day", ("town_id",)),
    RollupSpec("day_level_source", "day", ("town_id", "level", "source")),
    RollupSpec("day_unit", "day", ("town_id", "owner_unit_id")),
    RollupSpec("day_major", "day", ("town_id", "major_code"), ("platform",)),
    RollupSpec("day_class", "day", ("town_id", *CLASS), CLASS_DERIVED),
    RollupSpec("month_major", "month", ("town_id", "major_code"), ("platform",)),
    RollupSpec("month_level_source", "month", ("town_id", "level", "source")),
    RollupSpec("month_unit", "month", ("town_id", "owner_unit_id")),
    RollupSpec("month_class", "month", ("town_id", *CLASS), CLASS_DERIVED),
    RollupSpec("month_how", "month", ("town_id", "how"), counters=("new",)),
    RollupSpec("month_village", "month", ("town_id", "village_id", "major_code"), ("platform",)),
    RollupSpec(
        "month_grid",
        "month",
        ("town_id", "village_id", "grid_id"),
        counters=("new", "closed", "overdue", "open", "open_overdue"),
    ),
    # Keyed reporter first, so "per reporter per month" is read in key order without a sort.
    RollupSpec(
        "month_reporter", "month", ("reporter_id", "source", "town_id"), counters=REPORTER_COUNTERS
    ),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def _table(spec: RollupSpec) -> Table:
    columns: list[Column[object]] = [Column("period", Integer, nullable=False)]
    columns += [Column(name, DIMENSION_TYPES[name], nullable=False) for name in spec.columns]
    columns += [Column(name, BigInteger, nullable=False, default=0) for name in spec.counters]
    if spec.grain == "day":
        # The town's district (set on insert, never part of the key: it follows from the town);
        # the distribution column of a sharded deployment (migration 0040).
        columns.append(Column("district_id", Integer, ForeignKey("org_unit.id")))
    return Table(
        spec.table_name,
        Base.metadata,
        *columns,
        PrimaryKeyConstraint("period", *spec.dims, name=f"pk_{spec.table_name}"),
        Index(f"ix_{spec.table_name}_town_period", "town_id", "period"),
        sqlite_with_rowid=False,
    )


TABLES: dict[str, Table] = {spec.name: _table(spec) for spec in SPECS}
# The day tables: they carry `district_id`, and PostgreSQL partitions them by month of `period`.
DAY_TABLES = tuple(spec.table_name for spec in SPECS if spec.grain == "day")
