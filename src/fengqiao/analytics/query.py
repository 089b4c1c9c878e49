"""Sums over the rollups for a scope and a range of local days: the one read path of analysis.

`aggregate` picks, for the dimensions asked for, the smallest rollup table that has them: whole
months from a month table and the days at either end from a day table. When only a month table
has the dimensions (grids, villages, reporters, hours of the week), a district or town range is
widened to whole months and the result says so (`start`/`end` are the range actually summed);
a village or grid, small enough to read directly, is summed exactly from its events with the same
entries the rollups are made of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from fengqiao.analytics.facts import (
    COUNTER_INDEX,
    KEY_COLUMNS,
    day_number,
    dimension,
    entries,
    month_number,
)
from fengqiao.analytics.models import ACTIVE, SPECS, TABLES, RollupSpec
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.changes import STATE_COLUMNS, EventState
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit

TIME_DIMENSIONS = ("day", "month")
# The town's district and city: no rollup keeps them, every rollup is keyed by town; grouped in
# SQL through the town's row (a province's ranking of its cities reads 11 sums, not 1,360).
TREE_DIMENSIONS = ("district", "city")
DIMENSIONS = (*TIME_DIMENSIONS, *TREE_DIMENSIONS, "how", *KEY_COLUMNS)
SCOPE_COLUMN = {"town": "town_id", "village": "village_id", "grid": "grid_id"}


ABOVE_TOWN = ("province", "city", "district")


@dataclass(frozen=True)
class Scope:
    """The area a question is about: a province, city or district, a town, a village or a grid.

    An area above the town is everything when it is the whole tree (`towns` None); when other
    districts share the database, it is the rows of its towns in a town-keyed rollup and of its
    `districts` in a district-keyed one (unknown: those tables are not read for it).
    """

    level: str  # province / city / district / town / village / grid
    org_id: int
    name: str = ""
    towns: tuple[int, ...] | None = None
    districts: tuple[int, ...] | None = None

    @property
    def column(self) -> str | None:
        return SCOPE_COLUMN.get(self.level)

    def town_filter(self, column: Any) -> ColumnElement[bool] | None:
        """The condition on a town column limiting rows to this area above the town, if any."""
        if self.column is not None or self.towns is None:
            return None
        return column.in_(self.towns) if self.towns else false()

    @property
    def by_district(self) -> bool:
        """Whether the district-keyed rollups can answer for this area: a district or above,
        the whole tree or with its districts known."""
        return self.level in ABOVE_TOWN and (self.towns is None or self.districts is not None)

    def district_filter(self, column: Any) -> ColumnElement[bool] | None:
        """The condition on a district column limiting rows to this area, if any."""
        if self.towns is None:
            return None
        return column.in_(self.districts) if self.districts else false()


@dataclass
class Aggregate:
    """Rows of (dimensions…, counters…) and the range they cover."""

    by: tuple[str, ...]
    counters: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    start: date
    end: date
    sources: list[str] = field(default_factory=list)

    @property
    def widened(self) -> bool:
        return bool(self.sources) and any(s.startswith("widened") for s in self.sources)

    def dicts(self) -> list[dict[str, Any]]:
        names = self.by + self.counters
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def total(self, counter: str) -> int:
        index = len(self.by) + self.counters.index(counter)
        return sum(row[index] for row in self.rows)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _split(
    start: date, end: date, today: date | None = None
) -> tuple[tuple[date, date] | None, tuple[date, date] | None, tuple[date, date] | None]:
    """(head days, whole months, tail days) of an inclusive range; None where empty.

    Nothing is filed or closed after today, so a range that reaches today takes the current
    month whole from a month table: the month's row holds exactly the days so far."""
    first_full = start if start.day == 1 else _next_month(start)
    last_full_end = _next_month(end) - timedelta(days=1)
    if today is not None and end >= today:
        end = last_full_end
    if last_full_end != end:
        last_full_end = _month_start(end) - timedelta(days=1)
    if first_full > last_full_end:
        return (start, end), None, None
    head = (start, first_full - timedelta(days=1)) if first_full > start else None
    tail = (last_full_end + timedelta(days=1), end) if last_full_end < end else None
    return head, (first_full, last_full_end), tail


def _candidates(
    grain: str, needed: set[str], counters: tuple[str, ...], by_district: bool
) -> list[RollupSpec]:
    return [
        s
        for s in SPECS
        if s.grain == grain
        and needed <= set(s.columns)
        and set(counters) <= set(s.counters)
        and (by_district or not s.by_district)
    ]


def _tables(
    scope: Scope, dims: set[str], counters: tuple[str, ...], daily: bool
) -> tuple[list[RollupSpec], list[RollupSpec]]:
    """The day and month rollups that can answer, smallest first, each grain on its own:
    district-keyed ones for a district or an area above it when they have every dimension
    asked for (a district or city grouping is then their own key), else the town-keyed ones
    (the grouping through the town). A year of a province's levels thus reads its whole months
    by district and only the days at its ends by town."""
    plain = {d for d in dims if d not in TIME_DIMENSIONS and d not in TREE_DIMENSIONS}
    if scope.column:
        plain.add(scope.column)
    choices = []
    if scope.by_district:
        choices.append((plain | {"district_id"}, True))
    tree = any(d in TREE_DIMENSIONS for d in dims)
    choices.append((plain | ({"town_id"} if tree else set()), False))
    days: list[RollupSpec] = []
    months: list[RollupSpec] = []
    for needed, by_district in choices:
        days = days or _candidates("day", needed, counters, by_district)
        if daily:
            months = months or _candidates("month", needed, counters, by_district)
    return days, months


def aggregate(
    db: Session,
    *,
    scope: Scope,
    start: date,
    end: date,
    by: Sequence[str] = (),
    counters: Sequence[str] = ("new",),
    where: Mapping[str, Any] | None = None,
    distinct: str | None = None,
    today: date | None = None,
) -> Aggregate:
    """Sums of `counters` grouped by `by` over the local days start..end in `scope`, of the
    rows whose dimensions equal `where` (e.g. {"source": "grid_worker"}); with `distinct`, each
    row ends with how many values of that dimension have a non-zero first counter (e.g. how
    many grid workers reported in each month)."""
    by, counters, where = tuple(by), tuple(counters), dict(where or {})
    unknown = [d for d in (*by, *where) if d not in DIMENSIONS] + [
        c for c in counters if c not in COUNTER_INDEX
    ]
    if unknown or (distinct is not None and distinct not in DIMENSIONS):
        raise ValueError(f"unknown dimensions or counters: {unknown or distinct}")
    if end < start:
        return Aggregate(by, counters, [], start, end)
    if any(d in TREE_DIMENSIONS for d in (*where, *([distinct] if distinct else []))):
        raise ValueError("district and city are grouping dimensions only")
    if (
        distinct == "reporter_id"
        and scope.by_district
        and by == ("month",)
        and set(where) <= {"source"}
    ):
        return _with_active(db, scope, start, end, by, counters, where, today)
    dims = {*by, *where, *([distinct] if distinct else [])}
    days, months = _tables(scope, dims, counters, "day" not in by)
    result = Aggregate(by, counters, [], start, end)
    parts: list[tuple[RollupSpec, date, date]] = []
    if days:
        head, whole, tail = _split(start, end, today)
        if whole and months:
            parts = [(months[0], *whole)]
            parts += [(days[0], *edge) for edge in (head, tail) if edge]
        else:
            parts = [(days[0], start, end)]
        result.sources = [spec.name for spec, _, _ in parts]
    elif months and scope.level in (*ABOVE_TOWN, "town"):
        result.start, result.end = _month_start(start), _next_month(end) - timedelta(days=1)
        parts = [(months[0], result.start, result.end)]
        if today is not None and end >= today:
            result.end = end  # the rest of the current month has not happened yet
        widened = (result.start, result.end) != (start, end)
        result.sources = [f"widened:{months[0].name}" if widened else months[0].name]
    if distinct is not None and len(parts) != 1:
        return _with_distinct(db, scope, start, end, by, counters, where, distinct, today)
    if distinct is not None:
        spec, low, high = parts[0]
        result.counters = (*counters, f"distinct_{distinct}")
        rows = _sum_table(db, spec, scope, low, high, by, counters, where, distinct)
    elif parts:
        pieces = [
            _sum_table(db, spec, scope, low, high, by, counters, where) for spec, low, high in parts
        ]
        rows = pieces[0] if len(pieces) == 1 else _merged(pieces, len(by))
    else:
        sums: dict[tuple[Any, ...], list[int]] = {}
        _sum_events(db, scope, start, end, by, counters, where, sums)
        result.sources.append("events")
        rows = [key + tuple(values) for key, values in sums.items()]
    width = len(by)
    result.rows = sorted(row for row in rows if any(row[width:]))
    return result


def _with_distinct(
    db: Session,
    scope: Scope,
    start: date,
    end: date,
    by: tuple[str, ...],
    counters: tuple[str, ...],
    where: Mapping[str, Any] | None,
    distinct: str,
    today: date | None,
) -> Aggregate:
    inner = aggregate(
        db, scope=scope, start=start, end=end, by=(*by, distinct), counters=counters,
        where=where, today=today,
    )  # fmt: skip
    width = len(by)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row in inner.rows:
        values = groups.setdefault(row[:width], [0] * (len(counters) + 1))
        for i, value in enumerate(row[width + 1 :]):
            values[i] += value
        if row[width + 1]:
            values[-1] += 1
    result = Aggregate(by, (*counters, f"distinct_{distinct}"), [], inner.start, inner.end)
    result.sources = inner.sources
    result.rows = sorted(key + tuple(values) for key, values in groups.items())
    return result


def _with_active(
    db: Session,
    scope: Scope,
    start: date,
    end: date,
    by: tuple[str, ...],
    counters: tuple[str, ...],
    where: dict[str, Any],
    today: date | None,
) -> Aggregate:
    """Distinct reporters per month of a district or an area above it: the counters summed as
    any question, over whole months (the reporters are counted per month), and the counts of
    `rollup_month_active` beside them (analytics/active.py)."""
    low, high = _month_start(start), _next_month(end) - timedelta(days=1)
    shown_high = end if today is not None and end >= today else high
    summed = aggregate(db, scope=scope, start=low, end=min(high, shown_high), by=by,
                       counters=counters, where=where, today=today)  # fmt: skip
    period = ACTIVE.c.period
    conditions = [period >= low.year * 100 + low.month, period <= high.year * 100 + high.month]
    conditions += [ACTIVE.c[name] == value for name, value in where.items()]
    area = scope.district_filter(ACTIVE.c.district_id)
    if area is not None:
        conditions.append(area)
    total = cast(func.sum(ACTIVE.c.reporters), BigInteger)
    statement = select(period, total).where(and_(*conditions)).group_by(period)
    reporters = {tuple(row[:-1]): int(row[-1] or 0) for row in _fetch(db, statement)}
    result = Aggregate(by, (*counters, "distinct_reporter_id"), [], low, shown_high)
    rows = {tuple(row[: len(by)]): row[len(by) :] for row in summed.rows}
    for key in sorted(set(rows) | {k for k, v in reporters.items() if v}):
        values = rows.get(key, (0,) * len(counters))
        result.rows.append((*key, *values, reporters.get(key, 0)))
    widened = (low, shown_high) != (start, end)
    result.sources = ["widened:month_active" if widened else "month_active", *summed.sources]
    return result


def _merged(pieces: list[list[tuple[Any, ...]]], width: int) -> list[tuple[Any, ...]]:
    sums: dict[tuple[Any, ...], list[int]] = {}
    for piece in pieces:
        for row in piece:
            key = row[:width]
            values = sums.get(key)
            if values is None:
                sums[key] = list(row[width:])
            else:
                for i, value in enumerate(row[width:]):
                    values[i] += value
    return [key + tuple(values) for key, values in sums.items()]


def _sum_table(
    db: Session,
    spec: RollupSpec,
    scope: Scope,
    low: date,
    high: date,
    by: tuple[str, ...],
    counters: tuple[str, ...],
    where: dict[str, Any],
    distinct: str | None = None,
) -> list[tuple[Any, ...]]:
    table = TABLES[spec.name]
    period = table.c.period
    number = day_number if spec.grain == "day" else month_number
    conditions: list[ColumnElement[bool]] = [
        period >= number(datetime.combine(low, time())),
        period <= number(datetime.combine(high, time())),
    ]
    if scope.column:
        conditions.append(table.c[scope.column] == scope.org_id)
    if spec.by_district:
        area = scope.district_filter(table.c.district_id)
    else:
        area = scope.town_filter(table.c.town_id)
    if area is not None:
        conditions.append(area)
    conditions += [table.c[name] == value for name, value in where.items()]
    keys: list[Any] = []
    # A district-keyed table groups by district on its own key; a city (or, in a town-keyed
    # table, a district) is reached through the org tree.
    area = table.c.district_id if spec.by_district else table.c.town_id
    through_tree = False
    for name in by:
        if name == "day":
            keys.append(period)
        elif name == "month":
            keys.append(period if spec.grain == "month" else period / 100)
        elif name == "district" and spec.by_district:
            keys.append(area)
        elif name in TREE_DIMENSIONS:
            keys.append(area)
            through_tree = True
        else:
            keys.append(table.c[name])
    if through_tree:
        if distinct is not None:
            raise ValueError("district and city are not counted distinct")
        return _sum_by_tree(db, table, spec.by_district, conditions, by, keys, counters)
    # BIGINT sums come back as int on both backends (PostgreSQL's SUM of bigint is numeric).
    sums = [cast(func.sum(table.c[c]), BigInteger) for c in counters]
    if distinct is not None:
        # Per (keys, value of `distinct`) first, then count those with a non-zero first sum:
        # both in SQL, so only the outer groups come back.
        labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
        inner = (
            select(*labelled, *(s.label(f"c{i}") for i, s in enumerate(sums)))
            .where(and_(*conditions))
            .group_by(*keys, table.c[distinct])
            .having(sums[0] > 0)
            .subquery()
        )
        outer_keys = [inner.c[f"k{i}"] for i in range(len(keys))]
        statement = select(
            *outer_keys,
            *(cast(func.sum(inner.c[f"c{i}"]), BigInteger) for i in range(len(sums))),
            func.count(),
        )
        if outer_keys:
            statement = statement.group_by(*outer_keys)
        return _fetch(db, statement)
    statement = select(*keys, *sums).where(and_(*conditions))
    if not keys:  # one row, of NULLs when nothing matched
        return [tuple(v or 0 for v in row) for row in db.execute(statement)]
    # Groups whose counters are all zero are dropped in SQL, not sent (a province's units or
    # grids, most with no overdue events); a piece's sum may be negative (a stock counter
    # falling in the days at an edge), so "not zero" rather than "above zero".
    statement = statement.group_by(*keys).having(or_(*(total != 0 for total in sums)))
    return _fetch(db, statement)


def _sum_by_tree(
    db: Session,
    table: Any,
    by_district: bool,
    conditions: list[ColumnElement[bool]],
    by: tuple[str, ...],
    keys: list[Any],
    counters: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """Sums grouped by the area's district or city: per area first (the rollup's own key, a
    town or a district), then those few rows joined to their town (and its district) by
    primary key and summed again, so the big table is never joined to the org tree."""
    inner_keys = list(dict.fromkeys(keys))  # the area once, even for district and city
    inner = (
        select(
            *(key.label(f"k{i}") for i, key in enumerate(inner_keys)),
            *(func.sum(table.c[c]).label(f"c{i}") for i, c in enumerate(counters)),
        )
        .where(and_(*conditions))
        .group_by(*inner_keys)
        .subquery()
    )
    column = {id(key): inner.c[f"k{i}"] for i, key in enumerate(inner_keys)}
    outer: list[Any] = []
    if by_district:
        district: Any = aliased(OrgUnit)
        source: Any = inner.join(district, district.id == column[id(table.c.district_id)])
        for name, key in zip(by, keys, strict=True):
            outer.append(district.parent_id if name == "city" else column[id(key)])
        return _fetch(db, _regrouped(source, outer, inner, counters))
    town = aliased(OrgUnit)
    source = inner.join(town, town.id == column[id(table.c.town_id)])
    district = None
    for name, key in zip(by, keys, strict=True):
        if name == "district":
            outer.append(town.parent_id)
        elif name == "city":
            if district is None:
                district = aliased(OrgUnit)
                source = source.join(district, district.id == town.parent_id)
            outer.append(district.parent_id)
        else:
            outer.append(column[id(key)])
    return _fetch(db, _regrouped(source, outer, inner, counters))


def _regrouped(source: Any, outer: list[Any], inner: Any, counters: tuple[str, ...]) -> Any:
    sums = [cast(func.sum(inner.c[f"c{i}"]), BigInteger) for i in range(len(counters))]
    return (
        select(*outer, *sums)
        .select_from(source)
        .group_by(*outer)
        .having(or_(*(total != 0 for total in sums)))
    )


def _fetch(db: Session, statement: Any) -> list[tuple[Any, ...]]:
    """The rows as the driver's plain tuples: ints and strings need no conversion, and a
    province's tens of thousands of grid or unit sums skip building a Row each."""
    result = db.connection().execute(statement)  # Core: a CursorResult, even over ORM columns
    try:
        return [tuple(row) for row in result.cursor.fetchall()]
    finally:
        result.close()


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def _sum_events(
    db: Session,
    scope: Scope,
    start: date,
    end: date,
    by: tuple[str, ...],
    counters: tuple[str, ...],
    where: dict[str, Any],
    sums: dict[tuple[Any, ...], list[int]],
) -> None:
    """The same sums from the events of a small scope, through the rollups' own entries."""
    columns = [getattr(Event, name) for name in STATE_COLUMNS]
    statement = select(*columns).where(Event.created_at < _utc(end + timedelta(days=1)))
    if scope.column:
        statement = statement.where(getattr(Event, scope.column) == scope.org_id)
    towns = scope.town_filter(Event.town_id)
    if towns is not None:
        statement = statement.where(towns)
    low, high = day_number(_local_midnight(start)), day_number(_local_midnight(end))
    wanted = [COUNTER_INDEX[c] for c in counters]
    for row in db.execute(statement):
        state = EventState(*row)
        if any(dimension(state, name, state.created_at) != value for name, value in where.items()):
            continue
        for entry in entries(state):
            day = day_number(entry.at)
            if not low <= day <= high:
                continue
            values = dict(entry.values)
            if not any(i in values for i in wanted):
                continue
            key = tuple(dimension(state, name, entry.at) for name in by)
            target = sums.setdefault(key, [0] * len(counters))
            for i, index in enumerate(wanted):
                target[i] += values.get(index, 0)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


def day_of(number: int) -> date:
    """yyyymmdd → date."""
    return date(number // 10000, number // 100 % 100, number % 100)


def month_of(number: int) -> date:
    """yyyymm → the first day of that month."""
    return date(number // 100, number % 100, 1)
