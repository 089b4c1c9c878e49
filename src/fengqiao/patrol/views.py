"""The patrol API: phones send positions and start/stop patrols; the command room reads tracks,
patrol lists, the live positions and the nearest workers on duty."""

from __future__ import annotations

from datetime import date as Date
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from fengqiao.crs import SUPPORTED_CRS
from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal, DbSession
from fengqiao.geo.deps import Locator
from fengqiao.geo.service import org_path, wgs84_point
from fengqiao.geo.views import GEOJSON, geojson_response
from fengqiao.paging import Page, Paging
from fengqiao.patrol import export, positions, service, tracks, whereabouts
from fengqiao.patrol.schemas import (
    MyPatrolOut,
    NearestWorkerOut,
    PatrolOut,
    PersonRef,
    PositionBatchOut,
    TrackOut,
)
from fengqiao.scope import Principal

router = APIRouter(tags=["patrol"])

GPX = "application/gpx+xml"

Minutes = Annotated[
    int, Query(ge=1, le=1440, description="Only positions sent in the last this many minutes.")
]


# --- the phone ----------------------------------------------------------------------------


@router.post(
    "/me/positions",
    response_model=PositionBatchOut,
    summary="Send a batch of GPS positions (grid workers)",
    responses={403: {"description": "Not a grid worker"}, 422: {"description": "A bad point"}},
)
async def post_positions(
    request: Request,
    principal: CurrentPrincipal,
    locator: Locator,
    clock: AppClock,
    database: AppDatabase,
) -> Response:
    """JSON `{"points": [{"at", "lat", "lng", "accuracy", "speed"}], "crs"}`, 1-500 points.
    One bad point refuses the whole batch (422 naming it, e.g. `points[3].lat`), and nothing
    is stored. A point already stored for the caller at the same time is skipped, so a phone
    may resend a batch whose answer it lost. Points fall to the open patrol."""
    service.require_reporter(principal)
    now = clock.now()
    batch = positions.parse_batch(await request.body(), now=now)
    fixes, repeats = positions.prepare(batch, index=locator.snapshot.index)

    def write() -> PositionBatchOut:
        with database.transaction() as db:
            return positions.store_positions(
                db=db, user_id=principal.user_id, fixes=fixes, repeats=repeats
            )

    out = await database.run_write(write)
    # Serialised here: the hot path skips FastAPI's second validation of a model it just built.
    return Response(orjson.dumps(out.model_dump()), media_type="application/json")


@router.post(
    "/me/patrol/start",
    response_model=PatrolOut,
    status_code=201,
    summary="Start a patrol (or get the one already open)",
    responses={200: {"model": PatrolOut, "description": "A patrol was open already."}},
)
def start_patrol(
    response: Response, principal: CurrentPrincipal, clock: AppClock, database: AppDatabase
) -> PatrolOut:
    """201 with a new patrol; 200 with the open one if the caller had not stopped it."""
    with database.transaction() as db:
        patrol, created = service.start_patrol(db=db, principal=principal, now=clock.now())
        if not created:
            response.status_code = 200
        return service.patrol_outs(db, [patrol], {principal.user_id: principal.name})[0]


@router.post(
    "/me/patrol/stop",
    response_model=PatrolOut,
    summary="Stop the open patrol",
    responses={409: {"description": "No patrol is open"}},
)
def stop_patrol(principal: CurrentPrincipal, clock: AppClock, database: AppDatabase) -> PatrolOut:
    """The closed patrol with its distance, duration, point count and the grids it covered."""
    with database.transaction() as db:
        patrol = service.stop_patrol(db=db, principal=principal, now=clock.now())
        return service.patrol_outs(db, [patrol], {principal.user_id: principal.name})[0]


@router.get("/me/patrol", response_model=MyPatrolOut, summary="My open patrol and today's track")
def my_patrol(principal: CurrentPrincipal, clock: AppClock, db: DbSession) -> MyPatrolOut:
    service.require_reporter(principal)
    names = {principal.user_id: principal.name}
    patrol = service.open_patrol(db=db, user_id=principal.user_id)
    track = whereabouts.day_track(
        db=db,
        user_id=principal.user_id,
        name=principal.name,
        day=service.local_day(clock.now()),
    )
    return MyPatrolOut(
        open=service.patrol_outs(db, [patrol], names)[0] if patrol else None,
        today=track_out(db, track),
    )


# --- the command room ---------------------------------------------------------------------


@router.get("/patrols", response_model=Page[PatrolOut], summary="Patrols in your scope")
def list_patrols(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    user_id: Annotated[int | None, Query(description="One worker's patrols.")] = None,
    date: Annotated[
        Date | None, Query(description="Local day (Asia/Shanghai) the patrols started.")
    ] = None,
    org: Annotated[str | None, Query(description="Org code; default: your whole area.")] = None,
) -> Page[PatrolOut]:
    """Newest first. Operators, leaders, grid leaders and administrators see the patrols of the
    workers of their area; a grid worker sees their own."""
    service.require_reader(principal)
    total, items = service.list_patrols(
        db=db, principal=principal, user_id=user_id, day=date,
        path=org_path(db, principal, org), offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return Page(items=items, total=total, page=paging.page, size=paging.size)


def track_out(db: Session, track: whereabouts.DayTrack) -> TrackOut:
    refs = service.grid_refs(db, track.grids)
    return TrackOut(
        user=PersonRef(id=track.user_id, name=track.name),
        date=track.day,
        distance_m=track.distance_m,
        duration_s=track.duration_s,
        points=track.points,
        grids=[refs[g] for g in track.grids if g in refs],
        patrols=service.patrol_outs(db, track.patrols, {track.user_id: track.name}),
        geometry=track.geometry(),
    )


def _track(db: Session, principal: Principal, user_id: int, day: Date) -> whereabouts.DayTrack:
    service.require_reader(principal)
    user = service.visible_user(db, principal, user_id)
    return whereabouts.day_track(db=db, user_id=user.id, name=user.name, day=day)


@router.get(
    "/tracks/geojson",
    response_class=Response,
    summary="Every track of a day in your scope, for the map",
    responses={200: {"content": {GEOJSON: {}}}},
)
def tracks_geojson(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    clock: AppClock,
    date: Annotated[Date | None, Query(description="Local day; default: today.")] = None,
    org: Annotated[str | None, Query(description="Org code; default: your whole area.")] = None,
) -> Response:
    """One MultiLineString feature per worker (properties `user_id`, `name`, `distance_m`,
    `duration_s`, `points`), points closer than 10 m to the last one kept left out."""
    day = date or service.local_day(clock.now())
    path = org_path(db, principal, org)
    features = [
        {
            "type": "Feature",
            "id": track.user_id,
            "geometry": track.geometry(simplify_m=tracks.SIMPLIFY_M),
            "properties": {
                "user_id": track.user_id, "name": track.name, "date": day.isoformat(),
                "distance_m": track.distance_m, "duration_s": track.duration_s,
                "points": track.points,
            },
        }
        for track in whereabouts.tracks_in_scope(db=db, principal=principal, day=day, path=path)
    ]  # fmt: skip
    return geojson_response(request, {"type": "FeatureCollection", "features": features})


# The file routes first: `{date}` of the plain route would also match "2026-12-01.gpx".
@router.get(
    "/tracks/{user_id}/{date}.gpx",
    response_class=Response,
    summary="A worker's day as GPX 1.1",
    responses={200: {"content": {GPX: {}}}},
)
def track_gpx(user_id: int, date: Date, principal: CurrentPrincipal, db: DbSession) -> Response:
    """One `<trk>` per patrol, a `<trkpt>` with its time for every stored point."""
    track = _track(db, principal, user_id, date)
    return Response(
        export.gpx(track),
        media_type=GPX,
        headers={
            "Content-Disposition": f'attachment; filename="track-{user_id}-{date.isoformat()}.gpx"'
        },
    )


@router.get(
    "/tracks/{user_id}/{date}.geojson",
    response_class=Response,
    summary="A worker's day as a GeoJSON file",
    responses={200: {"content": {GEOJSON: {}}}},
)
def track_geojson(
    request: Request, user_id: int, date: Date, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """A FeatureCollection, one MultiLineString feature per patrol with its times and totals."""
    track = _track(db, principal, user_id, date)
    return geojson_response(
        request, export.geojson(track), filename=f"track-{user_id}-{date.isoformat()}.geojson"
    )


@router.get("/tracks/{user_id}/{date}", response_model=TrackOut, summary="A worker's day")
def track(user_id: int, date: Date, principal: CurrentPrincipal, db: DbSession) -> TrackOut:
    """Distance, duration, points, grids covered, patrols and the lines of one local day;
    404 for a worker outside the caller's scope (a grid worker may read only their own)."""
    return track_out(db, _track(db, principal, user_id, date))


# --- who is where now ---------------------------------------------------------------------


@router.get(
    "/positions/latest",
    response_class=Response,
    summary="Latest position of each grid worker in your scope",
    responses={200: {"content": {GEOJSON: {}}}},
)
def latest_positions(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    clock: AppClock,
    minutes: Minutes = 30,
) -> Response:
    """A FeatureCollection of points: `user_id`, `name`, `phone` (whole for operators, leaders
    and administrators, masked otherwise), `at`, `accuracy`, `on_patrol`, `grid` (its code),
    `grid_name`."""
    found = whereabouts.latest_positions(
        db=db, principal=principal, now=clock.now(), minutes=minutes
    )
    features = [
        {
            "type": "Feature",
            "id": w.user_id,
            "geometry": {"type": "Point", "coordinates": [w.lng, w.lat]},
            "properties": {
                "user_id": w.user_id, "name": w.name,
                "phone": service.shown_phone(w.phone, principal, w.user_id), "at": w.at.isoformat(),
                "accuracy": w.accuracy, "on_patrol": w.on_patrol,
                "grid": w.grid.code if w.grid else None,
                "grid_name": w.grid.name if w.grid else None,
            },
        }
        for w in found
    ]  # fmt: skip
    return geojson_response(request, {"type": "FeatureCollection", "features": features})


@router.get(
    "/positions/nearest",
    response_model=list[NearestWorkerOut],
    summary="The nearest grid workers on duty",
)
def nearest_workers(
    principal: CurrentPrincipal,
    db: DbSession,
    clock: AppClock,
    lat: float,
    lng: float,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    minutes: Minutes = 30,
    crs: Annotated[str, Query(description=f"One of {', '.join(SUPPORTED_CRS)}.")] = "wgs84",
) -> list[NearestWorkerOut]:
    """Workers whose latest position is at most `minutes` old, nearest first, with `tel:` links
    for the roles that see phone numbers."""
    wlat, wlng = wgs84_point(lat, lng, crs)
    found = whereabouts.nearest_workers(
        db=db, principal=principal, lat=wlat, lng=wlng, now=clock.now(), minutes=minutes,
        limit=limit,
    )  # fmt: skip
    return [
        NearestWorkerOut(
            user_id=w.user_id, name=w.name, phone=service.shown_phone(w.phone, principal, w.user_id),
            tel=service.tel_link(w.phone, principal), distance_m=distance, at=w.at,
            on_patrol=w.on_patrol, grid=w.grid,
        )
        for w, distance in found
    ]  # fmt: skip
