"""Taking in positions: parse and check a phone's batch, place each point in its grid, store
the points and move the open patrol's totals along. They execute, never commit: the view owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from pydantic import ValidationError
from sqlalchemy import (
    Row,
    Table,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.crs import to_wgs84
from fengqiao.errors import (
    FieldError,
    Problem,
    from_pydantic,
    invalid_fields,
)
from fengqiao.geo.locator import GridIndex
from fengqiao.org.districts import district_ids, district_of
from fengqiao.patrol import tracks
from fengqiao.patrol.models import PATROL_OPEN_SQL, Patrol, Position
from fengqiao.patrol.schemas import (
    MAX_BATCH,
    PositionBatchIn,
    PositionBatchOut,
)
from fengqiao.patrol.tracks import TrackPoint, TrackState

POSITION = cast(Table, Position.__table__)
PATROL = cast(Table, Patrol.__table__)

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
# At most this many bad fields are listed in one refusal.
MAX_LISTED_ERRORS = 20


# --- taking in positions ------------------------------------------------------------------

_REASON_ZH = {
    "timezone_aware": "时间须带时区偏移，如 2026-12-01T09:00:00+08:00",
    "datetime_from_date_parsing": "不是合法的 ISO-8601 时间",
    "datetime_parsing": "不是合法的 ISO-8601 时间",
    "datetime_type": "不是合法的 ISO-8601 时间",
    "too_short": "至少需要 1 个点",
    "too_long": f"一次最多 {MAX_BATCH} 个点",
    "list_type": "应为数组",
    "model_type": "应为 JSON 对象",
}


def _field_path(loc: Sequence[Any]) -> str:
    """("points", 3, "lat") → "points[3].lat"."""
    out = ""
    for part in loc:
        if part == "body":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def parse_batch(body: bytes, *, now: datetime) -> PositionBatchIn:
    """The batch, or a 422 naming every bad field like `points[3].lat` (at most 20)."""
    try:
        batch = PositionBatchIn.model_validate_json(body)
    except ValidationError as exc:
        errors = []
        for err in exc.errors()[:MAX_LISTED_ERRORS]:
            fallback = from_pydantic([err]).errors[0].reason_zh
            errors.append(
                FieldError(
                    _field_path(err.get("loc", ())),
                    str(err.get("msg", "invalid")),
                    _REASON_ZH.get(str(err.get("type", "")), fallback),
                )
            )
        raise _refusal(errors) from exc
    errors = list(_point_errors(batch, now))
    if errors:
        raise _refusal(errors[:MAX_LISTED_ERRORS])
    return batch


def _refusal(errors: list[FieldError]) -> Problem:
    problem = invalid_fields(errors)
    problem.detail += "; nothing was stored"
    problem.detail_zh += "；本批未保存"
    return problem


def _point_errors(batch: PositionBatchIn, now: datetime) -> Iterable[FieldError]:
    earliest, latest = now - MAX_AGE, now + MAX_FUTURE
    for index, point in enumerate(batch.points):
        name = f"points[{index}]"
        if not -90 <= point.lat <= 90:
            swapped = " (latitude and longitude swapped?)" if abs(point.lat) <= 180 else ""
            yield FieldError(
                f"{name}.lat",
                f"latitude must be a number from -90 to 90{swapped}",
                "纬度须为 -90 到 90 之间的数字" + ("（经纬度是否颠倒？）" if swapped else ""),
            )
        if not -180 <= point.lng <= 180:
            yield FieldError(
                f"{name}.lng",
                "longitude must be a number from -180 to 180",
                "经度须为 -180 到 180 之间的数字",
            )
        if point.at > latest:
            yield FieldError(
                f"{name}.at",
                "more than 5 minutes in the future: check the phone's clock",
                "时间晚于当前 5 分钟以上：请检查手机时间",
            )
        elif point.at < earliest:
            yield FieldError(
                f"{name}.at",
                "older than 7 days: such points are not taken",
                "时间早于 7 天前，不予接收",
            )
        if point.accuracy is not None and point.accuracy < 0:
            yield FieldError(f"{name}.accuracy", "accuracy must not be negative", "精度不能为负数")
        if point.speed is not None and point.speed < 0:
            yield FieldError(f"{name}.speed", "speed must not be negative", "速度不能为负数")


@dataclass(frozen=True, slots=True)
class Fix:
    """One point ready to store: WGS-84, UTC, its grid resolved."""

    at: datetime
    lat: float
    lng: float
    accuracy: float | None
    speed: float | None
    grid_id: int | None


# Below this many points the grid index is asked point by point: numpy's fixed cost per call
# outweighs the vectorised lookup for a phone's usual batch of ten.
VECTOR_FROM = 32


def prepare(batch: PositionBatchIn, *, index: GridIndex) -> tuple[list[Fix], int]:
    """The batch's points converted to WGS-84 and located in the grids, in time order, and how
    many repeated a time already in the batch (dropped)."""
    by_time: dict[datetime, Any] = {}
    for point in batch.points:
        by_time.setdefault(point.at.astimezone(UTC), point)
    repeats = len(batch.points) - len(by_time)
    ordered = sorted(by_time.items(), key=lambda item: item[0])
    lng: list[float] = [p.lng for _, p in ordered]
    lat: list[float] = [p.lat for _, p in ordered]
    if batch.crs not in ("wgs84", "cgcs2000"):
        x, y = to_wgs84(np.asarray(lng), np.asarray(lat), batch.crs)
        lng, lat = x.tolist(), y.tolist()
    grid_ids: list[int | None]
    if len(ordered) >= VECTOR_FROM:
        found = index.locate_many(lng, lat)
        ids = index.grid_ids[np.maximum(found, 0)].tolist()
        grid_ids = [g if f >= 0 else None for f, g in zip(found.tolist(), ids, strict=True)]
    else:
        hits = [index.locate(x, y) for x, y in zip(lng, lat, strict=True)]
        grid_ids = [hit.grid_id if hit is not None else None for hit in hits]
    fixes = [
        Fix(
            at=at, lat=round(y, 7), lng=round(x, 7), accuracy=point.accuracy,
            speed=point.speed, grid_id=grid,
        )
        for (at, point), x, y, grid in zip(ordered, lng, lat, grid_ids, strict=True)
    ]  # fmt: skip
    return fixes, repeats


class HotStatements:
    """The hot path's statements, built once per dialect so SQLAlchemy compiles them once."""

    def __init__(self, dialect: str) -> None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        c = PATROL.c
        self.insert_positions = (
            insert_for(POSITION)
            .on_conflict_do_nothing(index_elements=["user_id", "at"])
            .returning(POSITION.c.at)
        )
        self.start = (
            insert_for(PATROL)
            .on_conflict_do_nothing(index_elements=["user_id"], index_where=text(PATROL_OPEN_SQL))
            .returning(c.id)
        )
        # The patrol a batch falls to: the worker's last patrol started by the batch's last
        # point, open (there is at most one, and none starts after it while it is open) or
        # just stopped (a late batch). One probe of (user_id, started_at). FOR UPDATE on
        # PostgreSQL (SQLite's writes queue anyway): two instances taking batches of one worker
        # at once must not both move the same totals on.
        self.patrol_for = (
            select(PATROL)
            .where(c.user_id == bindparam("user_id"), c.started_at <= bindparam("before"))
            .order_by(c.started_at.desc())
            .limit(1)
            .with_for_update()
        )


_STATEMENTS: dict[str, HotStatements] = {}


def hot_statements(db: Session) -> HotStatements:
    """The hot path's statements for this session's dialect, built on first use."""
    dialect = db.get_bind().dialect.name
    statements = _STATEMENTS.get(dialect)
    if statements is None:
        statements = _STATEMENTS[dialect] = HotStatements(dialect)
    return statements


def store_positions(
    *, db: Session, user_id: int, fixes: Sequence[Fix], repeats: int = 0
) -> PositionBatchOut:
    """Store the fixes (in time order) with one executemany insert, skipping those stored before
    (same user and time), and attach those recorded during the worker's open (or just stopped)
    patrol to it, whose totals move on. `patrol_id` in the answer is the open patrol the points
    fell to, if any."""
    connection = db.connection()
    statements = hot_statements(db)
    patrol = (
        connection.execute(
            statements.patrol_for, {"user_id": user_id, "before": fixes[-1].at}
        ).first()
        if fixes
        else None
    )
    rows = []
    districts = district_ids(db, {fix.grid_id for fix in fixes})
    # A fix off every grid takes the worker's home district (the row's shard never unknown).
    home = _home_district(db, user_id) if any(fix.grid_id is None for fix in fixes) else None
    for fix in fixes:
        attached = patrol is not None and _within(patrol, fix.at)
        rows.append(
            {
                "user_id": user_id, "at": fix.at, "lat": fix.lat, "lng": fix.lng,
                "accuracy": fix.accuracy, "speed": fix.speed, "grid_id": fix.grid_id,
                "patrol_id": patrol.id if attached and patrol is not None else None,
                "district_id": districts.get(fix.grid_id) if fix.grid_id else home,
            }
        )  # fmt: skip
    stored_at = {at for (at,) in connection.execute(statements.insert_positions, rows)}
    stored = len(stored_at)
    if patrol is not None and stored:
        new = [
            TrackPoint(fix.at, fix.lat, fix.lng, fix.grid_id)
            for fix, row in zip(fixes, rows, strict=True)
            if row["patrol_id"] is not None and fix.at in stored_at
        ]
        if new:
            _advance(connection, patrol, new)
    attached = any(row["patrol_id"] is not None for row in rows)
    open_id = patrol.id if patrol is not None and patrol.ended_at is None and attached else None
    return PositionBatchOut(
        stored=stored, duplicates=len(fixes) - stored + repeats, patrol_id=open_id
    )


def _home_district(db: Session, user_id: int) -> int | None:
    home = db.scalar(select(User.home_org_id).where(User.id == user_id))
    return district_of(db, home)


def _within(patrol: Row[Any], at: datetime) -> bool:
    return bool(patrol.started_at <= at and (patrol.ended_at is None or at <= patrol.ended_at))


def _state(patrol: Row[Any]) -> TrackState:
    return TrackState(
        distance_m=patrol.distance_m,
        points=patrol.points,
        grids=tuple(patrol.grids or ()),
        first_at=patrol.first_at,
        last_at=patrol.last_at,
        last_lat=patrol.last_lat,
        last_lng=patrol.last_lng,
    )


def _advance(connection: Any, patrol: Row[Any], new: list[TrackPoint]) -> None:
    """Move the patrol's totals on by the newly stored points; when some arrived out of order
    (older than the last point counted), count the patrol again from its stored points."""
    if patrol.last_at is None or new[0].at > patrol.last_at:
        state = tracks.extend(_state(patrol), new)
    else:
        state = tracks.summarise(
            patrol_points(connection, patrol.id, patrol.user_id, patrol.started_at)
        )
    write_totals(connection, patrol.id, patrol.started_at, patrol.ended_at, state)


def patrol_points(
    connection: Any, patrol_id: int, user_id: int, since: datetime
) -> list[TrackPoint]:
    """A patrol's stored points since `since`, in time order."""
    c = POSITION.c
    rows = connection.execute(
        select(c.at, c.lat, c.lng, c.grid_id)
        .where(c.user_id == user_id, c.at >= since, c.patrol_id == patrol_id)
        .order_by(c.at)
    )
    return [TrackPoint(r.at, r.lat, r.lng, r.grid_id) for r in rows]


def write_totals(
    connection: Any,
    patrol_id: int,
    started_at: datetime,
    ended_at: datetime | None,
    state: TrackState,
) -> None:
    """Store a patrol's distance, duration, point count and grids from its track state."""
    # An open patrol has lasted until its last good point; a closed one until it was stopped.
    until = ended_at or state.last_at or started_at
    connection.execute(
        update(PATROL)
        .where(PATROL.c.id == patrol_id)
        .values(
            distance_m=round(state.distance_m, 1),
            duration_s=max(0, round((until - started_at).total_seconds())),
            points=state.points,
            grids=list(state.grids),
            first_at=state.first_at,
            last_at=state.last_at,
            last_lat=state.last_lat,
            last_lng=state.last_lng,
        )
    )
