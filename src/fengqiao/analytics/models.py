"""The rollup tables: one per (time grain, dimensions), each a sum of the events' entries.

Each table's key is its period (yyyymmdd or yyyymm, a local day or month) and its dimensions;
its columns are every counter of `facts.COUNTERS`. Narrow tables serve the common questions
fast (a year of the district's major classes is a few thousand rows); the wide day table
answers any town-level combination to the day.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table

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

    @property
    def table_name(self) -> str:
        return f"rollup_{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.dims + self.derived


CLASS = ("category_code",)
CLASS_DERIVED = ("major_code", "platform")
SPECS: tuple[RollupSpec, ...] = (
    RollupSpec("day_town", "day", ("town_id",)),
    RollupSpec("day_major", "day", ("town_id", "major_code"), ("platform",)),
    RollupSpec(
        "day_cube",
        "day",
        ("town_id", *CLASS, "level", "source", "owner_unit_id"),
        CLASS_DERIVED,
    ),
    # Month tables, smallest first: a question is answered by the first one that has its
    # dimensions.
    RollupSpec("month_major", "month", ("town_id", "major_code"), ("platform",)),
    RollupSpec("month_level_source", "month", ("town_id", "level", "source")),
    RollupSpec("month_unit", "month", ("town_id", "owner_unit_id")),
    RollupSpec("month_class", "month", ("town_id", *CLASS), CLASS_DERIVED),
    RollupSpec("month_how", "month", ("town_id", "how")),
    RollupSpec("month_village", "month", ("town_id", "village_id", "major_code"), ("platform",)),
    RollupSpec("month_grid", "month", ("town_id", "village_id", "grid_id")),
    RollupSpec("month_reporter", "month", ("town_id", "village_id", "reporter_id", "source")),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def _table(spec: RollupSpec) -> Table:
    columns: list[Column[object]] = [Column("period", Integer, nullable=False)]
    columns += [Column(name, DIMENSION_TYPES[name], nullable=False) for name in spec.columns]
    columns += [Column(name, BigInteger, nullable=False, default=0) for name in COUNTERS]
    return Table(
        spec.table_name,
        Base.metadata,
        *columns,
        PrimaryKeyConstraint("period", *spec.dims, name=f"pk_{spec.table_name}"),
        Index(f"ix_{spec.table_name}_town_period", "town_id", "period"),
        sqlite_with_rowid=False,
    )


TABLES: dict[str, Table] = {spec.name: _table(spec) for spec in SPECS}
