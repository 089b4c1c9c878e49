"""Assessment (考核): indicators of towns, villages, units and grid workers over a period, read
from the rollups through `analytics.query.aggregate`, a composite score, grades and rankings.

Every formula is written out in docs/assessment.md; `indicators` is the one place it is coded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Aggregate, Scope, aggregate
from fengqiao.assessment.asof import sums_as_of
from fengqiao.assessment.parts import part_counts, with_parts
from fengqiao.assessment.periods import Period, period_of
from fengqiao.assessment.regions import REGIONS_IN, owner_in, regrouped, town_owners
from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.errors import invalid
from fengqiao.org.models import ORG_LEVEL_ZH, OrgUnit, Unit
from fengqiao.patrol.models import Patrol

LEVELS = ("town", "village", "unit", "worker")  # the levels inside a district
ALL_LEVELS = ("city", "district", *LEVELS)  # and those a province or city ranks
# The levels a ranking compares; the regions are org levels and take their words.
RANK_LEVEL_ZH = {
    "city": ORG_LEVEL_ZH["city"],
    "district": ORG_LEVEL_ZH["district"],
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
COMPONENT_ZH = {
    "volume": "工作量",
    "closure": "结案率",
    "on_time": "按期结案率",
    "rework": "无返工率（1 − 返工率）",
}
GRADES = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0))
GRADE_LETTERS = ("A", "B", "C", "D", "E")


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
    # The best grade a row whose patrol coverage is 0 % may have (None: no such cap). It rides
    # with the weights so every caller that scores (the page, the bulletin) caps alike.
    zero_patrol_cap: str | None = "C"

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
        cap = settings.assessment_zero_patrol_grade_cap or None
        return cls(
            **{name: float(given.get(name, getattr(defaults, name))) for name in COMPONENTS},
            zero_patrol_cap=cap,
        )

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


def caps_of(values: Mapping[str, float | None], weights: Weights) -> list[tuple[str, str]]:
    """The caps on a row's grade: (best grade allowed, why, in Chinese)."""
    caps = []
    coverage = values.get("patrol_coverage")
    if weights.zero_patrol_cap and coverage is not None and coverage == 0:
        cap = weights.zero_patrol_cap
        caps.append((cap, f"巡查覆盖率为0%，等级不高于{cap}"))
    return caps


def capped(letter: str | None, caps: Iterable[tuple[str, str]]) -> str | None:
    """`letter` lowered to the strictest cap (a row without a grade stays without one)."""
    if letter is None:
        return None
    worst = max((GRADE_LETTERS.index(cap) for cap, _ in caps), default=0)
    return GRADE_LETTERS[max(GRADE_LETTERS.index(letter), worst)]


def points(parts: Mapping[str, float | None], weights: Weights) -> dict[str, float]:
    """Each counted part's share of the score, in tenths that add up to the score exactly
    (largest remainders), so the formula panel's column sums to the grade's score."""
    counted = {
        name: min(max(value, 0.0), 1.0)
        for name in COMPONENTS
        if (value := parts.get(name)) is not None and getattr(weights, name) > 0
    }
    weight_sum = sum(getattr(weights, name) for name in counted)
    if not weight_sum:
        return {}
    raw = {name: 1000.0 * getattr(weights, name) * value / weight_sum
           for name, value in counted.items()}  # fmt: skip
    tenths = {name: int(value) for name, value in raw.items()}
    score = composite(parts, weights)
    short = round((score or 0.0) * 10) - sum(tenths.values())
    for name in sorted(raw, key=lambda n: raw[n] - tenths[n], reverse=True)[: max(short, 0)]:
        tenths[name] += 1
    return {name: value / 10 for name, value in tenths.items()}


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _basis(row: Row, name: str, best_volume: float) -> str:
    """What a part of the score is made of, in Chinese."""
    c = row.counts
    valid = c["new"] - c["rejected"] - c["voided"] - c["merged"]
    if name == "volume":
        if row.parts.get("volume") is None:
            return "同级均无上报，不计"
        return f"{row.volume_basis} {_amount(row.volume)} ÷ 同级最高 {_amount(best_volume)}"
    if name == "closure":
        return f"结案 {c['closed']} 件 ÷ 应办 {valid} 件" if valid else "无应办事件，不计"
    if name == "on_time":
        closed = c["closed"]
        return (
            f"按期结案 {c['closed_on_time']} 件 ÷ 结案 {closed} 件"
            if closed
            else "尚无结案事件，不计"
        )
    handled = c["handled"]
    return (
        f"返工 {c['reworked_events']} 件 ÷ 已反馈 {handled} 件" if handled else "尚无反馈事件，不计"
    )


def breakdown(row: Row, weights: Weights, best_volume: float) -> list[dict[str, Any]]:
    """The score's formula for one row: each part's value, what it is made of, its weight, the
    weight's share among the parts counted and the points it adds (which sum to the score)."""
    got = points(row.parts, weights)
    counted_weight = sum(getattr(weights, name) for name in got)
    return [
        {
            "key": name,
            "name": COMPONENT_ZH[name],
            "value": row.parts.get(name),
            "basis": _basis(row, name, best_volume)
            if getattr(weights, name) > 0
            else "权重为0，不计",
            "weight": getattr(weights, name),
            "share": getattr(weights, name) / counted_weight if name in got else None,
            "points": got.get(name),
        }
        for name in COMPONENTS
    ]


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
    volume_basis: str = ""  # what the volume counts, in Chinese ("每千户上报数")
    raw_grade: str | None = None  # the grade the score alone gives, before any cap
    caps: list[tuple[str, str]] = field(default_factory=list)
    previous: Row | None = None  # the same row in the compared period


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
    best_volume: float = 0.0  # the largest volume among the rows (the volume part's divisor)
    as_of: datetime | None = None  # counted as things stood then (None: as they stand now)
    period: Period | None = None  # set by `assess_period`: its words and its comparison
    compared: Assessment | None = None

    @property
    def widened(self) -> bool:
        return (self.summed_start, self.summed_end) != (self.start, self.end)


# --- scope -------------------------------------------------------------------------------------

# Which levels make sense inside which scope (a village holds no towns).
LEVELS_IN = {
    **{kind: (*regions, "unit", "worker") for kind, regions in REGIONS_IN.items()},
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


def _patrolled(
    db: Session, path: str, start: date, end: date, as_of: datetime | None = None
) -> dict[int, set[int]] | None:
    """Grids each worker patrolled in the period (patrols started in it, and before `as_of`,
    by workers of the area); None when the area has no patrol in the period at all."""
    until = _utc(end + timedelta(days=1))
    rows = db.execute(
        select(Patrol.user_id, Patrol.grids).where(
            Patrol.started_at >= _utc(start),
            Patrol.started_at < (min(until, as_of) if as_of is not None else until),
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


# The counters of the period grouped by the given dimensions (the rollups, or events as of a
# past moment).
Sums = Callable[[tuple[str, ...]], Aggregate]


def _rank_key(row: Row) -> tuple[int, float, str]:
    """Best first: the grade (a capped grade ranks with its grade), then the score, then name."""
    return (GRADE_LETTERS.index(row.grade or "E"), -(row.score or 0.0), row.name)


def assess(
    db: Session,
    *,
    scope: Scope,
    level: str,
    start: date,
    end: date,
    weights: Weights,
    today: date | None = None,
    as_of: datetime | None = None,
) -> Assessment:
    """Indicators, scores, grades and ranks of every town, village, unit or worker in scope;
    with `as_of`, of the events of the period as they stood at that moment (see asof.py)."""
    known = ", ".join(ALL_LEVELS)
    if level not in ALL_LEVELS:
        raise invalid("level", f"one of {known}", f"应为 {known.replace(', ', '、')} 之一")
    if level not in LEVELS_IN[scope.level]:
        why = f"a {scope.level} holds no {level} level"
        raise invalid("level", why, f"所选范围内没有{RANK_LEVEL_ZH[level]}")
    path = scope_path(db, scope)
    grids = _grid_paths(db, path)

    def sums(by: tuple[str, ...]) -> Aggregate:
        if as_of is not None:
            return sums_as_of(db, scope=scope, start=start, end=end, cutoff=as_of, by=by,
                              counters=COUNTERS)  # fmt: skip
        return aggregate(db, scope=scope, start=start, end=end, by=by, counters=COUNTERS,
                         today=today)  # fmt: skip

    rows: list[Row]
    if level in ("city", "district", "town", "village"):
        rows, result = _regions(db, sums, level, path, grids, grouped=as_of is None)
    elif level == "unit":
        rows, result = _units(db, sums, path, as_of)
    else:
        rows, result = _workers(db, sums, path)
    walked = _patrolled(db, path, result.start, result.end, as_of)
    _coverage(db, level, rows, grids, walked)
    best = max((row.volume for row in rows), default=0.0)
    for row in rows:
        share = row.volume / best if best > 0 else None
        row.parts = components(row.values, share)
        row.score = composite(row.parts, weights)
        row.raw_grade = grade(row.score)
        row.caps = caps_of(row.values, weights) if row.score is not None else []
        row.grade = capped(row.raw_grade, row.caps)
    for position, row in enumerate(
        sorted((r for r in rows if r.score is not None), key=_rank_key), start=1
    ):
        row.rank = position
    return Assessment(
        level=level, scope=scope, start=start, end=end, summed_start=result.start,
        summed_end=result.end, weights=weights, rows=rows, patrol_data=walked is not None,
        best_volume=best, as_of=as_of,
    )  # fmt: skip


def assess_period(
    db: Session, *, scope: Scope, level: str, start: date, end: date, weights: Weights,
    now: datetime,
) -> Assessment:  # fmt: skip
    """`assess`, with the period's words and each row beside itself in the compared period: the
    same days of the month before, read as of the same moment of that month while the period
    runs (five days against five days of equal age, never against a whole month)."""
    period = period_of(start, end, now)
    today = now.astimezone(LOCAL_TZ).date()
    current = assess(db, scope=scope, level=level, start=start, end=end, weights=weights,
                     today=today)  # fmt: skip
    compared = assess(
        db, scope=scope, level=level, start=period.compare_start, end=period.compare_end,
        weights=weights, today=today, as_of=period.compare_as_of,
    )  # fmt: skip
    before = {row.id: row for row in compared.rows}
    for row in current.rows:
        row.previous = before.get(row.id)
    current.period, current.compared = period, compared
    return current


def _regions(
    db: Session,
    sums_of: Sums,
    level: str,
    path: str,
    grids: list[tuple[int, str, int]],
    grouped: bool = True,
) -> tuple[list[Row], Aggregate]:
    places = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id)
        .where(OrgUnit.kind == level, OrgUnit.path.startswith(path, autoescape=True))
        .order_by(OrgUnit.code)
    ).all()
    ids = {p.id for p in places}
    # Cities, districts: grouped in SQL (as of a moment, asof.py: their towns' sums added up).
    own = level in ("town", "village")
    result = sums_of((f"{level}_id" if own else level if grouped else "town_id",))
    owners = {p: p for p in ids} if grouped or own else town_owners(db, path=path, places=ids)
    sums = _sums(result) if own else regrouped(_sums(result), owners, COUNTERS)
    households: dict[int, int] = {}
    for _grid_id, grid_path, count in grids:
        owner = owner_in(grid_path, ids)
        if owner is not None:
            households[owner] = households.get(owner, 0) + count
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
                volume_basis="每千户上报数" if homes else "上报数",
            )
        )
    return rows, result


def _units(
    db: Session, sums_of: Sums, path: str, as_of: datetime | None
) -> tuple[list[Row], Aggregate]:
    result = sums_of(("owner_unit_id",))
    parts = part_counts(db, path=path, start=result.start, end=result.end, as_of=as_of)
    sums = with_parts(_sums(result), parts, COUNTERS)  # 协办 parts (assessment/parts.py)
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
            volume_basis="接收交办数",
        )
        for u in sorted(units, key=lambda u: u.name)
    ]
    return rows, result


def _workers(db: Session, sums_of: Sums, path: str) -> tuple[list[Row], Aggregate]:
    result = sums_of(("reporter_id", "source"))
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
                volume_basis="上报数",
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
    ids = {row.id for row in rows}
    per_place: dict[int, list[int]] = {}
    for grid_id, grid_path, _ in grids:
        owner = owner_in(grid_path, ids)
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
    label: str = ""  # "12月1日至5日，本月未结束" for the month still running
    partial: bool = False
    # The running month's like-for-like comparison: the same days of the month before, as they
    # stood at the same moment of that month (None for whole months).
    compared: Row | None = None
    compare_label: str = ""


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
    now: datetime | None = None,
) -> list[TrendPoint]:
    """The entity's monthly scores (each month ranked among its peers of that month). A month
    still running at `now` says so and carries its like-for-like comparison with the same days
    of the month before: a few days are never read as if they were a whole month."""
    points = []
    spans = months_back(until, months)
    for first, last in spans:
        if now is not None and (first, last) == spans[-1] and period_of(first, last, now).partial:
            result = assess_period(db, scope=scope, level=level, start=first, end=last,
                                   weights=weights, now=now)  # fmt: skip
        else:
            result = assess(db, scope=scope, level=level, start=first, end=last, weights=weights)
        row = next((r for r in result.rows if r.id == entity_id), None)
        peers = sum(1 for r in result.rows if r.rank is not None)
        point = TrendPoint(first.strftime("%Y-%m"), first, last, row, peers)
        period = result.period
        if period is not None and period.partial:
            point.label, point.partial = period.label, True
            point.compared = row.previous if row is not None else None
            point.compare_label = period.compare_label
        points.append(point)
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
            # The ranking's order: a grade capped below its score's sorts with its grade.
            if row.score is None:
                return None
            return (-GRADE_LETTERS.index(row.grade or "E"), row.score)
        if name == "volume":
            return row.volume
        return row.values.get(name)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (r.name, r.id))
    present.sort(key=value, reverse=descending)
    return present + missing
