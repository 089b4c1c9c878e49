"""Assessment (考核): indicators of towns, villages, units and grid workers over a period, read
from the rollups through `analytics.query.aggregate`, a composite score, grades and rankings.

Every formula is written out in docs/assessment.md; `indicators` is the one place it is coded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Aggregate, Scope, aggregate
from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.errors import invalid
from fengqiao.org.models import ORG_LEVEL_ZH, OrgUnit, Unit
from fengqiao.patrol.models import Patrol

LEVELS = ("town", "village", "unit", "worker")
# The levels a ranking compares; town and village are org levels and take their words.
RANK_LEVEL_ZH = {
    "town": ORG_LEVEL_ZH["town"],
    "village": ORG_LEVEL_ZH["village"],
    "unit": "责任单位",
    "worker": "网格员",
}
# The rollup counters the indicators are made of (cohort counters: events filed in the period).
COUNTERS = (
    "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue",
    "rejected", "voided", "merged", "returned_events", "reworked_events", "handle_seconds",
    "rated", "satisfaction_sum",
)  # fmt: skip
# (key, Chinese name, kind): kind is "rate" (0-1), "count", "hours" or "score" (1-5).
INDICATORS: tuple[tuple[str, str, str], ...] = (
    ("new", "上报数", "count"),
    ("handle_rate", "处置率", "rate"),
    ("closure_rate", "结案率", "rate"),
    ("on_time_rate", "按期结案率", "rate"),
    ("overdue", "超期数", "count"),
    ("rework_rate", "返工率", "rate"),
    ("return_rate", "回退率", "rate"),
    ("avg_handle_hours", "平均处置时长", "hours"),
    ("satisfaction", "满意度", "score"),
    ("valid_rate", "有效上报率", "rate"),
    ("patrol_coverage", "巡查覆盖率", "rate"),
)
INDICATOR_KEYS = tuple(key for key, _, _ in INDICATORS)
SORT_KEYS = ("score", "name", "volume", *INDICATOR_KEYS)
COMPONENTS = ("volume", "closure", "on_time", "rework")
GRADES = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0))


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def indicators(counts: Mapping[str, int]) -> dict[str, float | None]:
    """The indicators of one row from its summed counters (None where the denominator is 0)."""
    new = counts.get("new", 0)
    valid = new - counts.get("rejected", 0) - counts.get("voided", 0) - counts.get("merged", 0)
    closed = counts.get("closed", 0)
    handled = counts.get("handled", 0)
    hours = _ratio(counts.get("handle_seconds", 0), closed)
    return {
        "new": float(new),
        "handle_rate": _ratio(handled, counts.get("accepted", 0)),
        "closure_rate": _ratio(closed, valid),
        "on_time_rate": _ratio(counts.get("closed_on_time", 0), closed),
        "overdue": float(counts.get("overdue", 0)),
        "rework_rate": _ratio(counts.get("reworked_events", 0), handled),
        "return_rate": _ratio(counts.get("returned_events", 0), counts.get("dispatched", 0)),
        "avg_handle_hours": None if hours is None else hours / 3600,
        "satisfaction": _ratio(counts.get("satisfaction_sum", 0), counts.get("rated", 0)),
        "valid_rate": _ratio(valid, new),
    }


@dataclass(frozen=True)
class Weights:
    """Weights of the composite score's components, as shares of their sum."""

    volume: float = 10.0
    closure: float = 30.0
    on_time: float = 30.0
    rework: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Weights:
        given = settings.assessment_weights
        unknown = sorted(set(given) - set(COMPONENTS))
        if unknown or any(value < 0 for value in given.values()):
            raise ValueError(
                f"FENGQIAO_ASSESSMENT_WEIGHTS: components are {', '.join(COMPONENTS)}, "
                f"each >= 0 (got {given})"
            )
        defaults = cls()
        return cls(**{name: float(given.get(name, getattr(defaults, name))) for name in COMPONENTS})

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in COMPONENTS}


def components(values: Mapping[str, float | None], volume_share: float | None) -> dict[str, Any]:
    """The four parts of the score, each 0-1 (None when the row has nothing to judge it by)."""
    rework = values.get("rework_rate")
    return {
        "volume": volume_share,
        "closure": values.get("closure_rate"),
        "on_time": values.get("on_time_rate"),
        "rework": None if rework is None else 1.0 - rework,
    }


def composite(parts: Mapping[str, float | None], weights: Weights) -> float | None:
    """100 × the weighted mean of the parts that exist; None when none does."""
    total = weight_sum = 0.0
    for name in COMPONENTS:
        value, weight = parts.get(name), getattr(weights, name)
        if value is None or weight == 0:
            continue
        total += weight * min(max(value, 0.0), 1.0)
        weight_sum += weight
    return round(100.0 * total / weight_sum, 1) if weight_sum else None


def grade(score: float | None) -> str | None:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; None without a score."""
    if score is None:
        return None
    for letter, floor in GRADES:
        if score >= floor:
            return letter
    return "E"


@dataclass
class Row:
    """One assessed town, village, unit or grid worker."""

    id: int
    name: str
    area: str  # the town of a village or unit, the grid of a worker
    counts: dict[str, int]
    values: dict[str, float | None]
    volume: float  # the volume measure before it is made relative to the best peer
    parts: dict[str, float | None] = field(default_factory=dict)
    score: float | None = None
    grade: str | None = None
    rank: int | None = None


@dataclass
class Assessment:
    level: str
    scope: Scope
    start: date  # the period asked for
    end: date
    summed_start: date  # the period the counters cover (whole months for some levels)
    summed_end: date
    weights: Weights
    rows: list[Row]
    patrol_data: bool

    @property
    def widened(self) -> bool:
        return (self.summed_start, self.summed_end) != (self.start, self.end)


# --- scope -------------------------------------------------------------------------------------

# Which levels make sense inside which scope (a village holds no towns).
LEVELS_IN = {
    "district": LEVELS,
    "town": LEVELS,
    "village": ("village", "unit", "worker"),
    "grid": ("unit", "worker"),
}


def scope_path(db: Session, scope: Scope) -> str:
    return db.scalar(select(OrgUnit.path).where(OrgUnit.id == scope.org_id)) or "/"


# --- the assessment ----------------------------------------------------------------------------


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def _grid_paths(db: Session, path: str) -> list[tuple[int, str, int]]:
    """(grid id, path, households) of every grid in the area."""
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.path, OrgUnit.households).where(
            OrgUnit.kind == "grid", OrgUnit.path.startswith(path, autoescape=True)
        )
    )
    return [(r.id, r.path, r.households or 0) for r in rows]


def _parent_at(path: str, depth: int) -> int | None:
    parts = [p for p in path.strip("/").split("/") if p]
    return int(parts[depth]) if len(parts) > depth else None


def _patrolled(db: Session, path: str, start: date, end: date) -> dict[int, set[int]] | None:
    """Grids each worker patrolled in the period (patrols started in it, by workers of the
    area); None when the area has no patrol in the period at all."""
    rows = db.execute(
        select(Patrol.user_id, Patrol.grids).where(
            Patrol.started_at >= _utc(start),
            Patrol.started_at < _utc(end + timedelta(days=1)),
            Patrol.home_path.startswith(path, autoescape=True),
        )
    ).all()
    if not rows:
        return None
    walked: dict[int, set[int]] = {}
    for user_id, grids in rows:
        walked.setdefault(user_id, set()).update(int(g) for g in grids or ())
    return walked


def _assigned(db: Session, grid_ids: Iterable[int]) -> dict[int, set[int]]:
    """Workers' assigned grids, for the grids given."""
    ids = list(grid_ids)
    assigned: dict[int, set[int]] = {}
    for chunk in range(0, len(ids), 900):
        rows = db.execute(
            select(GridAssignment.user_id, GridAssignment.grid_id).where(
                GridAssignment.grid_id.in_(ids[chunk : chunk + 900])
            )
        )
        for user_id, grid_id in rows:
            assigned.setdefault(user_id, set()).add(grid_id)
    return assigned


def _sums(result: Aggregate) -> dict[Any, dict[str, int]]:
    """Counters by the value of the first grouping dimension (0, "none", left out)."""
    by = result.by[0]
    return {d[by]: {c: d[c] for c in COUNTERS} for d in result.dicts() if d[by]}


def assess(
    db: Session, *, scope: Scope, level: str, start: date, end: date, weights: Weights
) -> Assessment:
    """Indicators, scores, grades and ranks of every town, village, unit or worker in scope."""
    if level not in LEVELS:
        raise invalid("level", f"one of {', '.join(LEVELS)}", f"应为 {'、'.join(LEVELS)} 之一")
    if level not in LEVELS_IN[scope.level]:
        raise invalid(
            "level", f"a {scope.level} holds no {level}s", f"所选范围内没有{RANK_LEVEL_ZH[level]}"
        )
    path = scope_path(db, scope)
    grids = _grid_paths(db, path)
    rows: list[Row]
    if level in ("town", "village"):
        rows, result = _regions(db, scope, level, path, grids, start, end)
    elif level == "unit":
        rows, result = _units(db, scope, start, end)
    else:
        rows, result = _workers(db, scope, path, start, end)
    walked = _patrolled(db, path, result.start, result.end)
    _coverage(db, level, rows, grids, walked)
    best = max((row.volume for row in rows), default=0.0)
    for row in rows:
        share = row.volume / best if best > 0 else None
        row.parts = components(row.values, share)
        row.score = composite(row.parts, weights)
        row.grade = grade(row.score)
    ranked = sorted(
        (r for r in rows if r.score is not None), key=lambda r: (-(r.score or 0.0), r.name)
    )
    for position, row in enumerate(ranked, start=1):
        row.rank = position
    return Assessment(
        level=level, scope=scope, start=start, end=end, summed_start=result.start,
        summed_end=result.end, weights=weights, rows=rows, patrol_data=walked is not None,
    )  # fmt: skip


def _regions(
    db: Session,
    scope: Scope,
    level: str,
    path: str,
    grids: list[tuple[int, str, int]],
    start: date,
    end: date,
) -> tuple[list[Row], Aggregate]:
    column = f"{level}_id"
    result = aggregate(db, scope=scope, start=start, end=end, by=(column,), counters=COUNTERS)
    sums = _sums(result)
    depth = 1 if level == "town" else 2
    households: dict[int, int] = {}
    for _grid_id, grid_path, count in grids:
        owner = _parent_at(grid_path, depth)
        if owner is not None:
            households[owner] = households.get(owner, 0) + count
    places = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id)
        .where(OrgUnit.kind == level, OrgUnit.path.startswith(path, autoescape=True))
        .order_by(OrgUnit.code)
    ).all()
    parents = dict(
        db.execute(
            select(OrgUnit.id, OrgUnit.name).where(
                OrgUnit.id.in_({p.parent_id for p in places if p.parent_id})
            )
        ).all()
    )
    rows = []
    for place in places:
        counts = sums.get(place.id, dict.fromkeys(COUNTERS, 0))
        homes = households.get(place.id, 0)
        # Volume: events per 1,000 households (the raw count where households are unknown).
        volume = counts["new"] * 1000 / homes if homes else float(counts["new"])
        rows.append(
            Row(
                place.id,
                place.name,
                parents.get(place.parent_id, ""),
                counts,
                indicators(counts),
                volume,
            )
        )
    return rows, result


def _units(db: Session, scope: Scope, start: date, end: date) -> tuple[list[Row], Aggregate]:
    result = aggregate(
        db, scope=scope, start=start, end=end, by=("owner_unit_id",), counters=COUNTERS
    )
    sums = _sums(result)
    units = db.execute(
        select(Unit.id, Unit.name, OrgUnit.name.label("area"))
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.id.in_(list(sums)))
    ).all()
    rows = [
        # Volume: the events the unit received (dispatched to it).
        Row(
            u.id,
            u.name,
            u.area,
            sums[u.id],
            indicators(sums[u.id]),
            float(sums[u.id]["dispatched"]),
        )
        for u in sorted(units, key=lambda u: u.name)
    ]
    return rows, result


def _workers(
    db: Session, scope: Scope, path: str, start: date, end: date
) -> tuple[list[Row], Aggregate]:
    result = aggregate(
        db, scope=scope, start=start, end=end, by=("reporter_id", "source"), counters=COUNTERS
    )
    sums: dict[int, dict[str, int]] = {}
    for entry in result.dicts():
        if entry["source"] == "grid_worker" and entry["reporter_id"]:
            sums[entry["reporter_id"]] = {c: entry[c] for c in COUNTERS}
    # Every grid worker of the area is assessed, including those who reported nothing.
    named = select(User.id, User.name, OrgUnit.name.label("area")).join(
        OrgUnit, OrgUnit.id == User.home_org_id
    )
    people = list(
        db.execute(
            named.where(
                User.is_active.is_(True),
                OrgUnit.path.startswith(path, autoescape=True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == "grid_worker")),
            )
        )
    )
    # Reporters from elsewhere (a worker moved, or filing across a border) are listed too.
    others = list(set(sums) - {p.id for p in people})
    for chunk in range(0, len(others), 900):
        people += db.execute(named.where(User.id.in_(others[chunk : chunk + 900])))
    rows = []
    for person in sorted(people, key=lambda p: (p.area, p.name)):
        counts = sums.get(person.id, dict.fromkeys(COUNTERS, 0))
        # Volume: the worker's own reports.
        rows.append(
            Row(
                person.id,
                person.name,
                person.area,
                counts,
                indicators(counts),
                float(counts["new"]),
            )
        )
    return rows, result


def _coverage(
    db: Session,
    level: str,
    rows: list[Row],
    grids: list[tuple[int, str, int]],
    walked: dict[int, set[int]] | None,
) -> None:
    """巡查覆盖率: assigned grids patrolled / assigned grids (None without patrol data)."""
    for row in rows:
        row.values["patrol_coverage"] = None
    if walked is None or level == "unit":
        return
    grid_ids = [g[0] for g in grids]
    assigned = _assigned(db, grid_ids)
    if level == "worker":
        for row in rows:
            mine = assigned.get(row.id, set())
            if mine:
                row.values["patrol_coverage"] = len(mine & walked.get(row.id, set())) / len(mine)
        return
    staffed = set().union(*assigned.values()) if assigned else set()
    patrolled = set().union(*walked.values())
    depth = 1 if level == "town" else 2
    per_place: dict[int, list[int]] = {}
    for grid_id, grid_path, _ in grids:
        owner = _parent_at(grid_path, depth)
        if owner is not None and grid_id in staffed:
            per_place.setdefault(owner, []).append(grid_id)
    for row in rows:
        place_grids = per_place.get(row.id, [])
        if place_grids:
            covered = sum(1 for g in place_grids if g in patrolled)
            row.values["patrol_coverage"] = covered / len(place_grids)


# --- trend -------------------------------------------------------------------------------------


@dataclass
class TrendPoint:
    month: str  # yyyy-mm
    start: date
    end: date
    row: Row | None  # None: the entity was not assessed that month (a unit with no events)
    peers: int  # how many were ranked that month


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def months_back(until: date, months: int) -> list[tuple[date, date]]:
    """The `months` calendar months ending with the month of `until` (that one cut at `until`)."""
    spans = []
    first = until.replace(day=1)
    for _ in range(months):
        spans.append((first, min(_month_end(first), until)))
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(spans))


def trend(
    db: Session,
    *,
    scope: Scope,
    level: str,
    entity_id: int,
    until: date,
    months: int,
    weights: Weights,
) -> list[TrendPoint]:
    """The entity's monthly scores (each month ranked among its peers of that month)."""
    points = []
    for first, last in months_back(until, months):
        result = assess(db, scope=scope, level=level, start=first, end=last, weights=weights)
        row = next((r for r in result.rows if r.id == entity_id), None)
        peers = sum(1 for r in result.rows if r.rank is not None)
        points.append(TrendPoint(first.strftime("%Y-%m"), first, last, row, peers))
    return points


def sort_rows(rows: list[Row], key: str) -> list[Row]:
    """Rows by `key` (a leading '-' for descending); rows without a value always last."""
    descending = key.startswith("-")
    name = key.lstrip("-")
    if name not in SORT_KEYS:
        raise invalid(
            "sort", f"one of {', '.join(SORT_KEYS)} (prefix - for descending)",
            f"排序字段应为 {'、'.join(SORT_KEYS)} 之一（前加 - 表示降序）",
        )  # fmt: skip

    def value(row: Row) -> Any:
        if name == "name":
            return row.name
        if name == "score":
            return row.score
        if name == "volume":
            return row.volume
        return row.values.get(name)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (r.name, r.id))
    present.sort(key=value, reverse=descending)
    return present + missing
