"""Where workers went and where they are now: a worker's day track, the tracks of everyone in a
scope, the latest positions and the workers nearest to a point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    exists,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Executable

from fengqiao.auth.models import User, UserRole
from fengqiao.geo.schemas import PlaceRef
from fengqiao.org.models import OrgUnit
from fengqiao.patrol import tracks
from fengqiao.patrol.models import Patrol, Position
from fengqiao.patrol.positions import MAX_FUTURE, POSITION
from fengqiao.patrol.service import REPORTER_ROLES, day_bounds, people_scope, require_reader
from fengqiao.patrol.tracks import TrackPoint, TrackState
from fengqiao.scope import Principal

# --- tracks -------------------------------------------------------------------------------


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
    `until`: one query whose per-worker probe reads the (user_id, at) index backwards, asked only
    of the workers with a position in the window (read from the index on `at`: a province's
    340,000 workers are not each probed to find the few hundred on duty). `box` (south, north,
    west, east) keeps only latest positions inside it."""
    seen = aliased(Position)
    seen_in_window = select(seen.user_id).where(seen.at >= since, seen.at <= until)
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
    conditions = [
        User.id.in_(seen_in_window),
        people_scope(principal, OrgUnit.path, User.id),
        User.is_active,
        is_worker,
    ]
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
