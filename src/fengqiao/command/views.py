"""The one-map's data: the situation panel, its live stream, the event layer and grid counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from fengqiao.command import service
from fengqiao.db import Database
from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.events.queries import read_change_mark, scope_key
from fengqiao.readcache import Answer, ReadCache, make_answer, respond
from fengqiao.scope import Principal

router = APIRouter(prefix="/command", tags=["command room"])
COMMAND_ROLES = ("operator", "leader", "admin")
STREAM_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0


def _require(principal: Principal) -> None:
    principal.require_role(*COMMAND_ROLES)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match still holds."}
}
Build = Callable[[Session, datetime], dict[str, Any]]


async def answer_for(
    request: Request,
    database: Database,
    principal: Principal,
    now: datetime,
    key: tuple[Any, ...],
    build: Build,
    media_type: str = "application/json",
) -> Answer:
    """The answer of `build` for the caller's scope, from the read cache while no event changed.

    Keyed by the scope's SQL (callers who read the same events share it, no one else does). The
    ETag leaves out `at`, the moment the answer was made, so a poll gets 304 while it holds."""
    cache: ReadCache = request.app.state.read_cache
    mark = await cache.mark("events", partial(read_change_mark, database))
    scoped = (*key, scope_key(principal))
    answer = cache.peek(scoped, mark, now)  # a hit costs no thread hop and no session
    if answer is not None:
        return answer

    def make() -> Answer:
        with database.session() as db:
            value = build(db, now)
        # orjson straight to bytes: the event layer of a district is thousands of features.
        body = orjson.dumps(value)
        basis = orjson.dumps({k: v for k, v in value.items() if k != "at"})
        return make_answer(
            value, body, media_type=media_type, made_at=now, mark=mark, etag_basis=basis
        )

    return await run_in_threadpool(cache.get_or_make, scoped, mark, now, make)


async def situation_answer(
    request: Request, database: Database, principal: Principal, now: datetime
) -> Answer:
    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.situation(db, principal, at)

    return await answer_for(request, database, principal, now, ("situation",), build)


@router.get(
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


@router.get(
    "/events.geojson",
    summary="Open events and today's closed ones as map points",
    responses=NOT_MODIFIED,
)
async def event_layer(
    request: Request, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> Response:
    """GeoJSON points with `light` (green, yellow, red, none, closed) and `urgent`; cached and
    tagged as the situation is."""
    _require(principal)

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.event_points(db, principal, at)

    answer = await answer_for(
        request, database, principal, clock.now(), ("points",), build, "application/geo+json"
    )
    return respond(request, answer)


@router.get(
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
) -> Response:
    """Keyed by grid id: what the grid layer is coloured by (light or density)."""
    _require(principal)

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return service.grid_stats(db, principal, at, days=days)

    answer = await answer_for(request, database, principal, clock.now(), ("grids", days), build)
    return respond(request, answer)


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

    answer = await situation_answer(request, database, principal, clock.now())
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    after, last_etag = after or int(answer.value["newest_id"]), answer.etag

    def read_alarms(after_id: int) -> list[dict[str, Any]]:
        with database.session() as db:
            return service.alarms_after(db, principal, after_id)

    async def events() -> AsyncIterator[bytes]:
        nonlocal after, last_etag
        yield b"retry: 3000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            # Every open stream reads the panel through the shared cache: one change mark per
            # round of polls, the panel itself read once per change and area, not per screen.
            answer = await situation_answer(request, database, principal, clock.now())
            newest = int(answer.value["newest_id"])
            alarms = await run_in_threadpool(read_alarms, after) if newest > after else []
            for alarm in alarms:
                after = max(after, alarm["id"])
                yield b"id: %d\nevent: alarm\ndata: %s\n\n" % (alarm["id"], orjson.dumps(alarm))
            after = max(after, newest)
            if answer.etag != last_etag:
                last_etag = answer.etag
                yield b"event: situation\ndata: " + answer.body + b"\n\n"
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
