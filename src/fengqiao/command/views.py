"""The one-map's data: the situation panel, the event layer, grid counts and the alarms waiting
for 接警; `router` also carries the one live stream every page shares (live.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fengqiao.command import alarms, live, service
from fengqiao.command.answers import answer_for, situation_answer
from fengqiao.command.schemas import AlarmList, Place, TakenOut
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import invalid
from fengqiao.events.service import get_event
from fengqiao.geo.areas import OUTLINE_KINDS, parse_bbox
from fengqiao.readcache import respond
from fengqiao.scope import Principal

room = APIRouter(prefix="/command", tags=["command room"])
COMMAND_ROLES = live.COMMAND_ROLES
BBOX = Query(max_length=100, description="min_lng,min_lat,max_lng,max_lat: only this box.")


def _require(principal: Principal) -> None:
    principal.require_role(*COMMAND_ROLES)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match still holds."}
}


@room.get(
    "/situation",
    summary="Today's counts, overdue events and alarms in your area",
    responses=NOT_MODIFIED,
)
async def situation(
    request: Request, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> Response:
    """The side panel of the one-map: new, closed, open, overdue and urgent counts for today
    (local day), the 20 most overdue open events and the urgent events of the last 24 hours.
    Cached per area while no event changes (at most `FENGQIAO_READ_CACHE_SECONDS` old), with an
    ETag."""
    _require(principal)
    return respond(request, await situation_answer(request, database, principal, clock.now()))


@room.get(
    "/events.geojson",
    summary="Open events and today's closed ones as map points",
    responses=NOT_MODIFIED,
)
async def event_layer(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    bbox: Annotated[str | None, BBOX] = None,
) -> Response:
    """GeoJSON points with `light` (green, yellow, red, none, closed) and `urgent`, newest first,
    at most 50,000 (`truncated` says when more matched); with `bbox` only those in the box (a
    province's or city's map asks for the box in view, and shows `area-stats` when zoomed out).
    Cached and tagged as the situation is."""
    _require(principal)
    box = parse_bbox(bbox)

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.event_points(db, principal, at, box=box)

    answer = await answer_for(
        request, database, principal, clock.now(), ("points", box), build, "application/geo+json"
    )
    return respond(request, answer)


@room.get(
    "/grid-stats",
    summary="Per-grid open, red, yellow and recent event counts",
    responses=NOT_MODIFIED,
)
async def grid_stats(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    days: Annotated[int, Query(ge=1, le=366, description="Window of `recent`.")] = 30,
    bbox: Annotated[str | None, BBOX] = None,
) -> Response:
    """Keyed by grid id: what the grid layer is coloured by (light or density); with `bbox`
    only the events in the box are counted (the grids a province's map shows)."""
    _require(principal)
    box = parse_bbox(bbox)

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.grid_stats(db, principal, at, days=days, box=box)

    answer = await answer_for(
        request, database, principal, clock.now(), ("grids", days, box), build
    )
    return respond(request, answer)


@room.get(
    "/area-stats",
    summary="Open, red, yellow and recent event counts per city, district or town",
    responses=NOT_MODIFIED,
)
async def area_stats(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    kind: Annotated[
        str, Query(max_length=16, description="city, district or town: the outlines shown.")
    ],
    days: Annotated[int, Query(ge=1, le=366, description="Window of `recent`.")] = 30,
) -> Response:
    """Keyed by org unit id (the `id` of `/map/areas` outlines): the grid counts summed per area
    of your own area, one number per outline instead of every event as a point. Cached and
    tagged as the situation is."""
    _require(principal)
    if kind not in OUTLINE_KINDS:
        raise invalid(
            "kind", f"one of {', '.join(OUTLINE_KINDS)}", "区划层级应为市、区县或镇街之一"
        )

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.area_stats(db, principal, at, kind=kind, days=days)

    answer = await answer_for(
        request, database, principal, clock.now(), ("areas", kind, days), build
    )
    return respond(request, answer)


@room.get("/alarms", response_model=AlarmList, summary="Alarms in your area waiting for 接警")
def waiting_alarms(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, settings: AppSettings
) -> dict[str, Any]:
    """What the alarm dialog of every command-room page shows: the urgent and IoT events of the
    last 24 hours in the caller's area that are open and nobody has taken yet, the longest
    waiting first, each with its reporter and the number to call back, its grid and place, and
    whether it has climbed to the district already (after `FENGQIAO_ALARM_CLIMB_MINUTES`)."""
    _require(principal)
    with database.session() as db:
        items = alarms.waiting_in_full(db, principal, clock.now())
    return {"items": items, "climb_minutes": settings.alarm_climb_minutes}


@room.post("/alarms/{event_id}/ack", response_model=TakenOut, summary="Take an alarm (接警)")
def take_alarm(
    event_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """接警: the caller takes the alarm; it is on the event's trail (`alarm_ack`, who and when)
    and the dialog closes on every screen that shows it. Taken before, the answer names who took
    it (`already: true`) and nothing is written. 404 outside the caller's area, 409
    `not-an-alarm` for an event that is neither urgent nor an IoT alarm."""
    _require(principal)
    with database.transaction() as db:
        event = get_event(db=db, principal=principal, event_id=event_id, lock=True)
        done = alarms.acknowledge(db=db, event=event, principal=principal, now=clock.now())
    return {
        "event_id": done.event_id,
        "acked_at": done.acked_at,
        "acked_by": Place(id=done.acked_by, name=done.acked_by_name),
        "climbed_at": done.climbed_at,
        "already": done.already,
    }


# The command room's routes and the live stream, as api.py includes them.
router = APIRouter()
router.include_router(room)
router.include_router(live.router)
