"""The one-map's data: the situation panel, its live stream, the event layer and grid counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from fengqiao.auth.scope import Principal
from fengqiao.command import service
from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal

router = APIRouter(prefix="/command", tags=["command room"])
COMMAND_ROLES = ("operator", "leader", "admin")
STREAM_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0


def _json(body: Any, media_type: str = "application/json") -> Response:
    # orjson straight to bytes: the event layer of a district is thousands of features.
    return Response(orjson.dumps(body), media_type=media_type)


def _require(principal: Principal) -> None:
    principal.require_role(*COMMAND_ROLES)


@router.get("/situation", summary="Today's counts, overdue events and alarms in your area")
def situation(principal: CurrentPrincipal, database: AppDatabase, clock: AppClock) -> Any:
    """The side panel of the one-map: new, closed, open, overdue and urgent counts for today
    (local day), the 20 most overdue open events and the urgent events of the last 24 hours."""
    _require(principal)
    with database.session() as db:
        return _json(service.situation(db, principal, clock.now()))


@router.get("/events.geojson", summary="Open events and today's closed ones as map points")
def event_layer(principal: CurrentPrincipal, database: AppDatabase, clock: AppClock) -> Any:
    """GeoJSON points with `light` (green, yellow, red, none, closed) and `urgent`."""
    _require(principal)
    with database.session() as db:
        body = service.event_points(db, principal, clock.now())
    return _json(body, "application/geo+json")


@router.get("/grid-stats", summary="Per-grid open, red, yellow and recent event counts")
def grid_stats(
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    days: Annotated[int, Query(ge=1, le=366, description="Window of `recent`.")] = 30,
) -> Any:
    """Keyed by grid id: what the grid layer is coloured by (light or density)."""
    _require(principal)
    with database.session() as db:
        return _json(service.grid_stats(db, principal, clock.now(), days=days))


@router.get(
    "/stream", summary="The situation and new alarms as server-sent events",
    response_class=StreamingResponse,
)  # fmt: skip
async def stream(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """`text/event-stream`: an `alarm` event for every new urgent event in the area (its id is
    the event id, so a reconnecting page resumes with `Last-Event-ID`), and a `situation` event
    with the panel's data whenever the counts change. Checked every 2 s; a comment every 15 s
    keeps proxies from closing an idle stream."""
    _require(principal)

    def read_start() -> tuple[int, service.Fingerprint]:
        with database.session() as db:
            print_ = service.fingerprint(db, principal, clock.now())
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return after or print_.newest_id, print_

    after, last_print = await run_in_threadpool(read_start)

    def poll(after_id: int) -> tuple[list[dict[str, Any]], service.Fingerprint, dict[str, Any]]:
        with database.session() as db:
            now = clock.now()
            print_ = service.fingerprint(db, principal, now)
            alarms = (
                service.alarms_after(db, principal, after_id) if print_.newest_id > after_id else []
            )
            panel = service.situation(db, principal, now) if print_ != last_print else {}
            return alarms, print_, panel

    async def events() -> AsyncIterator[bytes]:
        nonlocal after, last_print
        yield b"retry: 3000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            alarms, print_, panel = await run_in_threadpool(poll, after)
            for alarm in alarms:
                after = max(after, alarm["id"])
                yield b"id: %d\nevent: alarm\ndata: %s\n\n" % (alarm["id"], orjson.dumps(alarm))
            after = max(after, print_.newest_id)
            if panel:
                last_print = print_
                yield b"event: situation\ndata: " + orjson.dumps(panel) + b"\n\n"
                quiet = 0.0
            elif alarms:
                quiet = 0.0
            else:
                quiet += STREAM_POLL_SECONDS
                if quiet >= HEARTBEAT_SECONDS:
                    yield b": keep-alive\n\n"
                    quiet = 0.0
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
