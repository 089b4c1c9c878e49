"""Today's patrols of the demo district: about a third of the grid workers walked one this
morning (closed), about a tenth are out now (open, last position within five minutes), so the
one-map's live layer and track layer show people. Deterministic for a given rng and `now`.

Each patrol is a random walk, one point every 30 s at walking pace, folded back into the
bounding box of the worker's own grid; its totals come from the same track arithmetic the API
uses (fengqiao.patrol.tracks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert, select, text

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.geo.locator import GridIndex
from fengqiao.org.districts import district_from_path
from fengqiao.org.models import OrgUnit
from fengqiao.patrol import tracks
from fengqiao.patrol.models import Patrol, Position

SAMPLE_S = 30
CLOSED_SHARE = 1 / 3
OPEN_SHARE = 0.10
CLOSED_MINUTES = (20, 60)
OPEN_MINUTES = (10, 60)
# Patrols this morning start between these local times, when the day allows.
MORNING = (time(7, 30), time(11, 30))
METRES_PER_DEGREE = 111_195.0
BATCH_ROWS = 5000


@dataclass(frozen=True)
class Walker:
    """A grid worker who may patrol: their id, home grid and its path and bounding box."""

    user_id: int
    grid_id: int
    path: str
    bounds: tuple[float, float, float, float]  # min_lng, min_lat, max_lng, max_lat
    start: tuple[float, float]  # (lng, lat) inside the grid


@dataclass
class PatrolPlan:
    patrols: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)


def plan_patrols(
    walkers: Sequence[Walker],
    *,
    index: GridIndex,
    now: datetime,
    rng: np.random.Generator,
    closed_user: int | None = None,
) -> PatrolPlan:
    """Closed patrols this morning for a third of `walkers` (always `closed_user`), open ones
    for a tenth of the others."""
    order = rng.permutation(len(walkers)).tolist()
    if closed_user is not None:
        at = next((i for i, w in enumerate(order) if walkers[w].user_id == closed_user), None)
        if at is not None:
            order.insert(0, order.pop(at))
    closed_count = round(len(walkers) * CLOSED_SHARE)
    open_count = round(len(walkers) * OPEN_SHARE)
    closed = sorted(order[:closed_count], key=lambda i: walkers[i].user_id)
    opened = sorted(
        order[closed_count : closed_count + open_count], key=lambda i: walkers[i].user_id
    )

    plan = PatrolPlan()
    now = now.astimezone(UTC)
    for i in closed:
        minutes = int(rng.integers(CLOSED_MINUTES[0], CLOSED_MINUTES[1] + 1))
        window = _closed_window(now, minutes, rng)
        if window is not None:
            _add(plan, walkers[i], *window, closed=True, index=index, rng=rng)
    for i in opened:
        minutes = int(rng.integers(OPEN_MINUTES[0], OPEN_MINUTES[1] + 1))
        last = now - timedelta(seconds=float(rng.uniform(5, 240)))
        _add(
            plan,
            walkers[i],
            last - timedelta(minutes=minutes),
            last,
            closed=False,
            index=index,
            rng=rng,
        )
    return plan


def _closed_window(
    now: datetime, minutes: int, rng: np.random.Generator
) -> tuple[datetime, datetime] | None:
    """(start, last point) of a patrol this morning that ended before `now`; None when today
    is too young for one (just after midnight)."""
    local = now.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date(), time(0), LOCAL_TZ).astimezone(UTC)
    early = datetime.combine(local.date(), MORNING[0], LOCAL_TZ).astimezone(UTC)
    late = datetime.combine(local.date(), MORNING[1], LOCAL_TZ).astimezone(UTC)
    duration = timedelta(minutes=minutes)
    latest_start = min(late, now - duration - timedelta(minutes=2))
    earliest = early if latest_start >= early else max(midnight, latest_start - timedelta(hours=1))
    if latest_start < earliest:
        return None
    span = (latest_start - earliest).total_seconds()
    start = earliest + timedelta(seconds=round(float(rng.uniform(0, span))))
    return start, start + duration


def _add(
    plan: PatrolPlan,
    walker: Walker,
    start: datetime,
    last: datetime,
    *,
    closed: bool,
    index: GridIndex,
    rng: np.random.Generator,
) -> None:
    count = int((last - start).total_seconds() // SAMPLE_S) + 1
    lng, lat, speed = _walk(walker, count, rng)
    found = index.locate_many(lng, lat)
    grid_ids = [int(index.grid_ids[g]) if g >= 0 else None for g in found.tolist()]
    times = [start + timedelta(seconds=SAMPLE_S * k) for k in range(count)]
    accuracy = rng.uniform(3.0, 15.0, size=count).round(1).tolist()
    patrol_id = len(plan.patrols) + 1
    points = [
        tracks.TrackPoint(at, y, x, g)
        for at, x, y, g in zip(times, lng.tolist(), lat.tolist(), grid_ids, strict=True)
    ]
    state = tracks.summarise(points)
    ended = times[-1] + timedelta(seconds=int(rng.integers(5, 60))) if closed else None
    plan.patrols.append(
        {
            "id": patrol_id, "user_id": walker.user_id, "home_path": walker.path,
            "started_at": start, "ended_at": ended, "distance_m": round(state.distance_m, 1),
            "duration_s": round(((ended or state.last_at or start) - start).total_seconds()),
            "points": state.points, "grids": list(state.grids), "first_at": state.first_at,
            "last_at": state.last_at, "last_lat": state.last_lat, "last_lng": state.last_lng,
        }
    )  # fmt: skip
    plan.positions.extend(
        {
            "user_id": walker.user_id, "at": p.at, "lat": p.lat, "lng": p.lng,
            "accuracy": a, "speed": s, "patrol_id": patrol_id, "grid_id": p.grid_id,
        }
        for p, a, s in zip(points, accuracy, speed, strict=True)
    )  # fmt: skip


def _walk(
    walker: Walker, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[float | None]]:
    """A walk of `count` points from the worker's start: a slowly turning heading at 0.8-1.6
    m/s, folded back into the grid's bounding box where it would leave it."""
    pace = rng.uniform(0.8, 1.6)
    heading = rng.uniform(0, 2 * math.pi) + np.cumsum(rng.normal(0, 0.35, size=count - 1))
    step = pace * SAMPLE_S * rng.uniform(0.6, 1.3, size=count - 1)
    x0, y0 = walker.start
    cos_lat = math.cos(math.radians(y0))
    dx = np.concatenate([[0.0], np.cumsum(step * np.cos(heading))])
    dy = np.concatenate([[0.0], np.cumsum(step * np.sin(heading))])
    min_lng, min_lat, max_lng, max_lat = walker.bounds
    lng = _fold(x0 + dx / (METRES_PER_DEGREE * cos_lat), min_lng, max_lng)
    lat = _fold(y0 + dy / METRES_PER_DEGREE, min_lat, max_lat)
    speeds: list[float | None] = [None, *(step / SAMPLE_S).round(2).tolist()]
    return lng.round(6), lat.round(6), speeds


def _fold(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reflect values into [low, high], as a walker turns back at the edge."""
    width = high - low
    if width <= 0:
        return np.full_like(values, low)
    phase = np.mod(values - low, 2 * width)
    folded: np.ndarray = low + np.where(phase <= width, phase, 2 * width - phase)
    return folded


def insert_plan(conn: Connection, plan: PatrolPlan) -> None:
    """Write the patrols and positions with Core executemany in large batches."""
    grids = {
        row.id: district_from_path(kind="grid", path=row.path)
        for row in conn.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == "grid"))
    }
    walkers = {row["user_id"] for row in plan.patrols}
    homes = {
        row.id: district_from_path(kind=row.kind, path=row.path)
        for row in conn.execute(
            select(User.id, OrgUnit.kind, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == User.home_org_id)
            .where(User.id.in_(walkers))
        )
    }
    for position in plan.positions:  # the grid's district (off every grid: the walker's home's)
        grid = position["grid_id"]
        position["district_id"] = grids.get(grid) if grid else homes.get(position["user_id"])
    for model, rows in ((Patrol, plan.patrols), (Position, plan.positions)):
        for start in range(0, len(rows), BATCH_ROWS):
            conn.execute(insert(model), rows[start : start + BATCH_ROWS])
    if conn.dialect.name == "postgresql" and plan.patrols:
        # Ids were given explicitly, which does not move PostgreSQL's sequence.
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('patrol', 'id'), (SELECT MAX(id) FROM patrol))"
            )
        )
