"""Patrol domain functions: take in positions, start and stop patrols, read tracks, find the
workers on duty. They flush or execute, never commit: the view owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import numpy as np
from pydantic import ValidationError
from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Executable

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import (
    FieldError,
    Problem,
    forbidden,
    from_pydantic,
    invalid_fields,
    not_found,
)
from fengqiao.geo.crs import to_wgs84
from fengqiao.geo.locator import GridIndex
from fengqiao.geo.schemas import PlaceRef
from fengqiao.org.models import OrgUnit
from fengqiao.patrol import tracks
from fengqiao.patrol.models import PATROL_OPEN_SQL, Patrol, Position
from fengqiao.patrol.schemas import (
    MAX_BATCH,
    PatrolOut,
    PersonRef,
    PositionBatchIn,
    PositionBatchOut,
)
from fengqiao.patrol.tracks import TrackPoint, TrackState
from fengqiao.scope import Principal, mask_phone, served_whole

POSITION = cast(Table, Position.__table__)
PATROL = cast(Table, Patrol.__table__)

# Who sends positions and walks patrols.
REPORTER_ROLES = ("grid_worker", "grid_leader")
# Who sees other workers' patrols, tracks and positions (within their scope); a grid worker
# sees only their own.
VIEWER_ROLES = ("operator", "leader", "grid_leader", "admin")
READER_ROLES = ("grid_worker", *VIEWER_ROLES)
# Who sees workers' phone numbers whole: the command room calls the nearest worker.
PHONE_ROLES = ("operator", "leader", "admin")

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
# At most this many bad fields are listed in one refusal.
MAX_LISTED_ERRORS = 20


# --- who may ------------------------------------------------------------------------------


def require_reporter(principal: Principal) -> None:
    """Only grid workers and grid leaders send positions and walk patrols."""
    if not principal.has_any(*REPORTER_ROLES):
        raise forbidden(
            "only grid workers and grid leaders send positions and patrol",
            "只有网格员和网格长可以上报位置和巡查",
        )


def require_reader(principal: Principal) -> None:
    principal.require_role(*READER_ROLES)


def people_scope(principal: Principal, path: Any, user_id: Any) -> ColumnElement[bool]:
    """Rows of the workers `principal` may follow: everyone whose home lies in the caller's
    subtree for the viewer roles, only the caller otherwise."""
    if principal.has_any(*VIEWER_ROLES):
        clause: ColumnElement[bool] = path.startswith(principal.home_path, autoescape=True)
        return clause
    mine: ColumnElement[bool] = user_id == principal.user_id
    return mine


def shown_phone(phone: str | None, principal: Principal, user_id: int = 0) -> str | None:
    """The number whole for the roles that call workers (noted for the personal-data access
    log under the worker's `user_id`), masked for everyone else."""
    if phone is not None and principal.has_any(*PHONE_ROLES):
        if user_id:
            served_whole(principal, "user_account", user_id, "phone")
        return phone
    return mask_phone(phone, principal)


def tel_link(phone: str | None, principal: Principal) -> str | None:
    if phone is None or not principal.has_any(*PHONE_ROLES):
        return None
    return "tel:" + phone.replace(" ", "")


def visible_user(db: Session, principal: Principal, user_id: int) -> Row[int, str, str | None, str]:
    """(id, name, phone, path) of a worker the caller may follow; 404 as if absent otherwise."""
    row = db.execute(
        select(User.id, User.name, User.phone, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == user_id, people_scope(principal, OrgUnit.path, User.id))
    ).first()
    if row is None:
        raise not_found("user", "该人员")
    return row


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


class _Statements:
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


_STATEMENTS: dict[str, _Statements] = {}


def _statements(db: Session) -> _Statements:
    dialect = db.get_bind().dialect.name
    statements = _STATEMENTS.get(dialect)
    if statements is None:
        statements = _STATEMENTS[dialect] = _Statements(dialect)
    return statements


def store_positions(
    *, db: Session, user_id: int, fixes: Sequence[Fix], repeats: int = 0
) -> PositionBatchOut:
    """Store the fixes (in time order) with one executemany insert, skipping those stored before
    (same user and time), and attach those recorded during the worker's open (or just stopped)
    patrol to it, whose totals move on. `patrol_id` in the answer is the open patrol the points
    fell to, if any."""
    connection = db.connection()
    statements = _statements(db)
    patrol = (
        connection.execute(
            statements.patrol_for, {"user_id": user_id, "before": fixes[-1].at}
        ).first()
        if fixes
        else None
    )
    rows = []
    for fix in fixes:
        attached = patrol is not None and _within(patrol, fix.at)
        rows.append(
            {
                "user_id": user_id, "at": fix.at, "lat": fix.lat, "lng": fix.lng,
                "accuracy": fix.accuracy, "speed": fix.speed, "grid_id": fix.grid_id,
                "patrol_id": patrol.id if attached and patrol is not None else None,
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
            _patrol_points(connection, patrol.id, patrol.user_id, patrol.started_at)
        )
    _write_totals(connection, patrol.id, patrol.started_at, patrol.ended_at, state)


def _patrol_points(
    connection: Any, patrol_id: int, user_id: int, since: datetime
) -> list[TrackPoint]:
    c = POSITION.c
    rows = connection.execute(
        select(c.at, c.lat, c.lng, c.grid_id)
        .where(c.user_id == user_id, c.at >= since, c.patrol_id == patrol_id)
        .order_by(c.at)
    )
    return [TrackPoint(r.at, r.lat, r.lng, r.grid_id) for r in rows]


def _write_totals(
    connection: Any,
    patrol_id: int,
    started_at: datetime,
    ended_at: datetime | None,
    state: TrackState,
) -> None:
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


# --- patrols ------------------------------------------------------------------------------


def open_patrol(*, db: Session, user_id: int) -> Patrol | None:
    """The worker's open patrol, if any."""
    return db.scalars(
        select(Patrol).where(Patrol.user_id == user_id, Patrol.ended_at.is_(None))
    ).first()


def start_patrol(*, db: Session, principal: Principal, now: datetime) -> tuple[Patrol, bool]:
    """The caller's open patrol, started now unless one is open already; (patrol, created)."""
    require_reporter(principal)
    created_id = db.connection().execute(
        _statements(db).start,
        {
            "user_id": principal.user_id, "home_path": principal.home_path, "started_at": now,
            "ended_at": None, "distance_m": 0.0, "duration_s": 0, "points": 0, "grids": [],
        },
    ).scalar()  # fmt: skip
    patrol = open_patrol(db=db, user_id=principal.user_id)
    assert patrol is not None  # just inserted, or the one that made the insert a no-op
    return patrol, created_id is not None


def stop_patrol(*, db: Session, principal: Principal, now: datetime) -> Patrol:
    """Close the caller's open patrol now, its totals counted again from its stored points;
    409 when none is open."""
    require_reporter(principal)
    patrol = db.scalars(
        select(Patrol)
        .where(Patrol.user_id == principal.user_id, Patrol.ended_at.is_(None))
        .with_for_update()
    ).first()
    if patrol is None:
        raise Problem(
            409, "no-open-patrol", "No open patrol", "当前没有进行中的巡查",
            "there is no open patrol to stop: start one first",
            "没有可结束的巡查，请先开始巡查",
        )  # fmt: skip
    connection = db.connection()
    state = tracks.summarise(
        _patrol_points(connection, patrol.id, patrol.user_id, patrol.started_at)
    )
    ended_at = max(now, patrol.started_at)
    _write_totals(connection, patrol.id, patrol.started_at, ended_at, state)
    connection.execute(update(PATROL).where(PATROL.c.id == patrol.id).values(ended_at=ended_at))
    db.expire(patrol)
    db.refresh(patrol)
    return patrol


def grid_refs(db: Session, ids: Iterable[int]) -> dict[int, PlaceRef]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(wanted)))
    return {r.id: PlaceRef(id=r.id, code=r.code, name=r.name) for r in rows}


def patrol_outs(db: Session, patrols: Sequence[Any], names: dict[int, str]) -> list[PatrolOut]:
    """Patrols (ORM objects or rows) as the API shows them, grid names read in one query."""
    refs = grid_refs(db, (g for p in patrols for g in (p.grids or ())))
    return [
        PatrolOut(
            id=p.id,
            user=PersonRef(id=p.user_id, name=names.get(p.user_id, "")),
            started_at=p.started_at,
            ended_at=p.ended_at,
            open=p.ended_at is None,
            distance_m=round(p.distance_m, 1),
            duration_s=p.duration_s,
            points=p.points,
            grids=[refs[g] for g in (p.grids or ()) if g in refs],
        )
        for p in patrols
    ]


def list_patrols(
    *,
    db: Session,
    principal: Principal,
    user_id: int | None,
    day: date | None,
    path: str,
    offset: int,
    limit: int,
) -> tuple[int, list[PatrolOut]]:
    """Patrols of the workers the caller may follow, newest first."""
    require_reader(principal)
    where = [
        people_scope(principal, Patrol.home_path, Patrol.user_id),
        Patrol.home_path.startswith(path, autoescape=True),
    ]
    if user_id is not None:
        where.append(Patrol.user_id == user_id)
    if day is not None:
        start, end = day_bounds(day)
        where += [Patrol.started_at >= start, Patrol.started_at < end]
    total = db.scalar(select(func.count()).select_from(Patrol).where(*where)) or 0
    rows = list(
        db.scalars(
            select(Patrol).where(*where).order_by(Patrol.started_at.desc(), Patrol.id.desc())
            .offset(offset).limit(limit)
        )
    )  # fmt: skip
    names = {
        r.id: r.name
        for r in db.execute(
            select(User.id, User.name).where(User.id.in_({p.user_id for p in rows}))
        )
    }
    return total, patrol_outs(db, rows, names)


# --- tracks -------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a local day (Asia/Shanghai) starts and ends."""
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


@dataclass
class StoredPoint:
    at: datetime
    lat: float
    lng: float
    accuracy: float | None
    speed: float | None
    grid_id: int | None
    patrol_id: int | None

    def track_point(self) -> TrackPoint:
        return TrackPoint(self.at, self.lat, self.lng, self.grid_id)


@dataclass
class Piece:
    """The points of one patrol on the day (or those sent outside any patrol: patrol None)."""

    patrol: Patrol | None
    points: list[StoredPoint]
    state: TrackState


@dataclass
class DayTrack:
    """A worker's day: the pieces in time order, and the day's totals."""

    user_id: int
    name: str
    day: date
    pieces: list[Piece]
    patrols: list[Patrol]
    distance_m: float
    duration_s: int
    points: int
    grids: list[int]

    def geometry(self, simplify_m: float = 0.0) -> dict[str, Any]:
        lines = [
            line
            for piece in self.pieces
            for line in tracks.lines([p.track_point() for p in piece.points], simplify_m=simplify_m)
        ]
        return {"type": "MultiLineString", "coordinates": lines}


def day_track(*, db: Session, user_id: int, name: str, day: date) -> DayTrack:
    """The positions and patrols of one worker on one local day."""
    start, end = day_bounds(day)
    c = POSITION.c
    points = [
        StoredPoint(r.at, r.lat, r.lng, r.accuracy, r.speed, r.grid_id, r.patrol_id)
        for r in db.execute(
            select(c.at, c.lat, c.lng, c.accuracy, c.speed, c.grid_id, c.patrol_id)
            .where(c.user_id == user_id, c.at >= start, c.at < end)
            .order_by(c.at)
        )
    ]
    patrols = list(
        db.scalars(
            select(Patrol)
            .where(Patrol.user_id == user_id, Patrol.started_at >= start, Patrol.started_at < end)
            .order_by(Patrol.started_at)
        )
    )
    return assemble(user_id, name, day, points, patrols)


def assemble(
    user_id: int, name: str, day: date, points: list[StoredPoint], patrols: list[Patrol]
) -> DayTrack:
    """Group a day's points by patrol and add up the day."""
    by_id = {p.id: p for p in patrols}
    groups: dict[int | None, list[StoredPoint]] = {}
    for point in points:
        groups.setdefault(point.patrol_id, []).append(point)
    pieces = [
        Piece(
            by_id.get(key) if key is not None else None,
            members,
            tracks.summarise([p.track_point() for p in members]),
        )
        for key, members in sorted(groups.items(), key=lambda item: item[1][0].at)
    ]
    grids: list[int] = []
    for point in points:
        if point.grid_id is not None and point.grid_id not in grids:
            grids.append(point.grid_id)
    if patrols:
        duration = sum(p.duration_s for p in patrols)
    else:
        duration = round((points[-1].at - points[0].at).total_seconds()) if points else 0
    return DayTrack(
        user_id=user_id,
        name=name,
        day=day,
        pieces=pieces,
        patrols=patrols,
        distance_m=round(sum(piece.state.distance_m for piece in pieces), 1),
        duration_s=duration,
        points=len(points),
        grids=grids,
    )


def tracks_in_scope(*, db: Session, principal: Principal, day: date, path: str) -> list[DayTrack]:
    """Every worker's track of the day whose home lies under `path` and whom the caller may
    follow, read in two queries."""
    require_reader(principal)
    start, end = day_bounds(day)
    c = POSITION.c
    scope = and_(
        people_scope(principal, OrgUnit.path, User.id),
        OrgUnit.path.startswith(path, autoescape=True),
    )
    rows = db.execute(
        select(
            c.user_id, User.name, c.at, c.lat, c.lng, c.accuracy, c.speed, c.grid_id, c.patrol_id
        )
        .join(User, User.id == c.user_id)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(scope, c.at >= start, c.at < end)
        .order_by(c.user_id, c.at)
    )
    points: dict[int, list[StoredPoint]] = {}
    names: dict[int, str] = {}
    for r in rows:
        names[r.user_id] = r.name
        points.setdefault(r.user_id, []).append(
            StoredPoint(r.at, r.lat, r.lng, r.accuracy, r.speed, r.grid_id, r.patrol_id)
        )
    patrols: dict[int, list[Patrol]] = {}
    if points:
        for patrol in db.scalars(
            select(Patrol)
            .where(
                Patrol.user_id.in_(points),
                Patrol.started_at >= start,
                Patrol.started_at < end,
            )
            .order_by(Patrol.started_at)
        ):
            patrols.setdefault(patrol.user_id, []).append(patrol)
    return [
        assemble(user_id, names[user_id], day, members, patrols.get(user_id, []))
        for user_id, members in points.items()
    ]


# --- who is where now ---------------------------------------------------------------------


@dataclass(frozen=True)
class Whereabouts:
    """A worker's latest position."""

    user_id: int
    name: str
    phone: str | None
    at: datetime
    lat: float
    lng: float
    accuracy: float | None
    on_patrol: bool
    grid: PlaceRef | None


def latest_statement(
    principal: Principal,
    *,
    since: datetime,
    until: datetime,
    box: tracks.Box | None = None,
) -> Executable:
    """The latest position of each grid worker the caller may follow, sent between `since` and
    `until`: one query whose per-worker probe reads the (user_id, at) index backwards. `box`
    (south, north, west, east) keeps only latest positions inside it."""
    recent = aliased(Position)
    latest_id = (
        select(recent.id)
        .where(recent.user_id == User.id, recent.at >= since, recent.at <= until)
        .order_by(recent.at.desc())
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )
    grid = aliased(OrgUnit)
    on_patrol = exists().where(Patrol.user_id == User.id, Patrol.ended_at.is_(None)).correlate(User)
    is_worker = (
        exists()
        .where(UserRole.user_id == User.id, UserRole.role.in_(REPORTER_ROLES))
        .correlate(User)
    )
    conditions = [people_scope(principal, OrgUnit.path, User.id), User.is_active, is_worker]
    if box is not None:
        south, north, west, east = box
        conditions += [Position.lat.between(south, north), Position.lng.between(west, east)]
    return (
        select(
            User.id, User.name, User.phone, Position.at, Position.lat, Position.lng,
            Position.accuracy, on_patrol.label("on_patrol"),
            grid.id.label("grid_id"), grid.code.label("grid_code"), grid.name.label("grid_name"),
        )
        .select_from(User)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .join(Position, Position.id == latest_id)
        .outerjoin(grid, grid.id == Position.grid_id)
        .where(*conditions)
        .order_by(User.id)
    )  # fmt: skip


def latest_positions(
    *,
    db: Session,
    principal: Principal,
    now: datetime,
    minutes: int,
    box: tracks.Box | None = None,
) -> list[Whereabouts]:
    """Where each grid worker the caller may follow was last seen, if in the last `minutes`
    (positions up to 5 minutes ahead of `now` count: phones' clocks run a little fast)."""
    require_reader(principal)
    statement = latest_statement(
        principal, since=now - timedelta(minutes=minutes), until=now + MAX_FUTURE, box=box
    )
    return [
        Whereabouts(
            user_id=r.id, name=r.name, phone=r.phone, at=r.at, lat=r.lat, lng=r.lng,
            accuracy=r.accuracy, on_patrol=bool(r.on_patrol),
            grid=PlaceRef(id=r.grid_id, code=r.grid_code, name=r.grid_name)
            if r.grid_id is not None else None,
        )
        for r in db.execute(statement)
    ]  # fmt: skip


def nearest_workers(
    *,
    db: Session,
    principal: Principal,
    lat: float,
    lng: float,
    now: datetime,
    minutes: int,
    limit: int,
) -> list[tuple[Whereabouts, float]]:
    """The on-duty workers nearest to a point, with their distance in metres: a box around the
    point in SQL, then exact great-circle distances (see `tracks.nearest`)."""
    return tracks.nearest(
        lambda box: latest_positions(db=db, principal=principal, now=now, minutes=minutes, box=box),
        lat,
        lng,
        limit,
    )
