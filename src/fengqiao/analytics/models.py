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
    "district_id": Integer,  # the town's district
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

    @property
    def by_district(self) -> bool:
        """Keyed by the district rather than the town (no town-level dimension)."""
        return "district_id" in self.dims


# What is asked of a reporter or a unit: how much and how good (有效上报), and what became of it.
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
#
# The district-keyed tables come first: a question about a district or an area above it (a
# city, a province) that needs no town-level dimension reads them, about fifteen times fewer rows
# than the town-keyed ones (a district has ~15 towns; a province's year of classes by town is
# millions of rows, by district ~100,000). A question about a town or below needs `town_id`,
# which they do not have, so it never picks them.
DISTRICT = ("district_id",)
SPECS: tuple[RollupSpec, ...] = (
    RollupSpec("day_district", "day", DISTRICT),
    RollupSpec("day_town", "day", ("town_id",)),
    RollupSpec("day_level_source", "day", ("town_id", "level", "source")),
    RollupSpec("day_unit", "day", ("town_id", "owner_unit_id")),
    RollupSpec("day_major", "day", ("town_id", "major_code"), ("platform",)),
    RollupSpec("day_class", "day", ("town_id", *CLASS), CLASS_DERIVED),
    RollupSpec("month_district", "month", DISTRICT),
    RollupSpec("month_district_major", "month", (*DISTRICT, "major_code"), ("platform",)),
    RollupSpec("month_district_level_source", "month", (*DISTRICT, "level", "source")),
    RollupSpec("month_district_how", "month", (*DISTRICT, "how"), counters=("new",)),
    # Only what is asked of a unit (assessment, the units' charts): a province's year of units
    # by district is ~580,000 rows, and every counter kept widens each of them.
    RollupSpec(
        "month_district_unit", "month", (*DISTRICT, "owner_unit_id"), counters=REPORTER_COUNTERS
    ),
    RollupSpec("month_district_class", "month", (*DISTRICT, *CLASS), CLASS_DERIVED),
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
    # The town's district rides along (derived: no more rows) for the active reporters' counts.
    RollupSpec(
        "month_reporter",
        "month",
        ("reporter_id", "source", "town_id"),
        DISTRICT,
        counters=REPORTER_COUNTERS,
    ),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def _table(spec: RollupSpec) -> Table:
    columns: list[Column[object]] = [Column("period", Integer, nullable=False)]
    columns += [Column(name, DIMENSION_TYPES[name], nullable=False) for name in spec.columns]
    columns += [Column(name, BigInteger, nullable=False, default=0) for name in spec.counters]
    if spec.grain == "day" and not spec.by_district:
        # The town's district (set on insert, never part of the key: it follows from the town);
        # the distribution column of a sharded deployment (migration 0040).
        columns.append(Column("district_id", Integer, ForeignKey("org_unit.id")))
    area = "district" if spec.by_district else "town"
    return Table(
        spec.table_name,
        Base.metadata,
        *columns,
        PrimaryKeyConstraint("period", *spec.dims, name=f"pk_{spec.table_name}"),
        Index(f"ix_{spec.table_name}_{area}_period", f"{area}_id", "period"),
        sqlite_with_rowid=False,
    )


TABLES: dict[str, Table] = {spec.name: _table(spec) for spec in SPECS}
TABLES["month_reporter"].append_constraint(
    Index("ix_rollup_month_reporter_district_period", "district_id", "period")
)
# How many reporters filed something, per month, district and source (analytics/active.py):
# counted from `rollup_month_reporter`, not summed from entries.
ACTIVE = Table(
    "rollup_month_active",
    Base.metadata,
    Column("period", Integer, nullable=False),
    Column("district_id", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("reporters", BigInteger, nullable=False),
    PrimaryKeyConstraint("period", "district_id", "source", name="pk_rollup_month_active"),
    sqlite_with_rowid=False,
)
# The town-keyed day tables: they carry `district_id`, and PostgreSQL partitions them by month
# of `period` (the district-keyed one is small: 365 rows a district a year).
DAY_TABLES = tuple(
    spec.table_name for spec in SPECS if spec.grain == "day" and not spec.by_district
)
