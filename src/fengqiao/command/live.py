"""The one live stream of a browser: everything its pages follow, multiplexed over one
server-sent-event connection that live.js shares among all the browser's tabs (a SharedWorker,
or a leader tab), so a command room with many tabs open holds one connection, not one per tab
(six HTTP/1.1 connections per host are all a browser opens; docs/operations.md).

Kinds: `notification` (the caller's new messages), and for the command room (operators, leaders,
administrators) `situation` (the one-map's panel when its figures change), `alarm` (an alarm in
the caller's area waiting for 接警, sent when it starts waiting and again when it climbs) and
`ack` (an alarm that stopped waiting: taken, or its event closed). Each frame's id is the cursor
`<last message id>.<last alarm id>`, so a reconnecting EventSource resumes where it was.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import literal, or_, select
from starlette.routing import Route

from fengqiao import deps, drain, fanout
from fengqiao.clock import Clock
from fengqiao.command import alarms
from fengqiao.command.answers import situation_answer, waiting_alarms_answer
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.deps import (
    CurrentPrincipal,
    api_key_scheme,
    current_principal,
    oauth2_scheme,
)
from fengqiao.errors import Problem
from fengqiao.events.queries import scope_key
from fengqiao.notify.inbox import NEWER_LIMIT, newer_messages
from fengqiao.notify.models import Notification
from fengqiao.org.models import OrgUnit
from fengqiao.readcache import Answer
from fengqiao.scope import Principal

router = APIRouter(prefix="/live", tags=["live"])
COMMAND_ROLES = ("operator", "leader", "admin")
KINDS = ("notification", "situation", "alarm", "ack")
# No polling: a stream reads when the process's listener says something of its own changed
# (fengqiao.fanout), and re-reads everything this often besides, in case a wake was lost. It can
# be slow: NOTIFY reaches a connected listener without loss, a reconnected one wakes every
# stream, and what changes with time alone (a reminder, a red light, an alarm climbing) is
# written by the sweeper as a trail row, which notifies. What is left is a Redis publish that
# failed, or a write outside the trail. At 5,000 streams each re-read costs (docs/scaling.md).
SAFETY_SECONDS = 300.0
LOCAL_SAFETY_SECONDS = 5.0  # memory fan-out (SQLite): the worker is another process
HEARTBEAT_SECONDS = 15.0
# What a stream sends when its process drains (a rolling restart): reconnect soon (to another
# instance, the load balancer decides) with the same Last-Event-ID, then it ends.
RECONNECT_FRAME = b"retry: 500\nevent: reconnect\ndata: {}\n\n"
# A stream outlives the page that opened it (a shared one, every tab): it checks that its caller
# is still signed in with the same roles and area, and ends if not, when the caller's topic fires
# (a logout or a password change ends the user's tokens and notifies it: auth/sessions.py) and
# every so often besides. Each check reads the token's revocation from the database on the event
# loop: every 30 s at 5,000 streams that alone was a fifth of a core.
RECHECK_SECONDS = 300.0
_CURSOR = re.compile(r"^(\d+)\.(\d+)$")


def parse_cursor(value: str | None) -> tuple[int, int] | None:
    """(message id, alarm id) of a `Last-Event-ID`, or None for a fresh stream."""
    found = _CURSOR.match(value or "")
    return (int(found[1]), int(found[2])) if found else None


def _newest_message(database: Database, user_id: int) -> int:
    with database.session() as db:
        newest = db.scalar(
            select(Notification.id)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(1)
        )
    return newest or 0


def _area_towns(database: Database, home_path: str) -> list[int]:
    """The towns whose changes a command room homed at `home_path` follows: those inside it, or
    the one it lies in."""
    with database.session() as db:
        return list(
            db.scalars(
                select(OrgUnit.id).where(
                    OrgUnit.kind == "town",
                    or_(
                        OrgUnit.path.startswith(home_path, autoescape=True),
                        literal(home_path).startswith(OrgUnit.path),
                    ),
                )
            )
        )


@dataclass
class _Read:
    started: float
    task: asyncio.Future[Answer]
    waiters: int = 0


# Reads of the room's answers under way, by (answer, scope): thousands of streams of one area
# woken by one alarm share one read instead of each taking a thread hop to the read cache (5,000
# hops took seconds on two busy cores). Only a read that started after a stream was woken may
# serve it, so it sees the commit that woke it.
_READS: dict[tuple[str, str, int, int], _Read] = {}


async def _shared(
    name: str,
    request: Request,
    principal: Principal,
    since: float,
    read: Callable[[], Awaitable[Answer]],
) -> Answer:
    """`read()`'s answer, or that of the same read for the same scope started at `since` or
    later by another stream of this app and event loop."""
    loop = asyncio.get_running_loop()
    key = (name, scope_key(principal), id(loop), id(request.app))
    found = _READS.get(key)
    if found is None or found.started < since:
        found = _Read(loop.time(), asyncio.ensure_future(read()))
        _READS[key] = found

        def forget(
            _task: object, key: tuple[str, str, int, int] = key, read: _Read = found
        ) -> None:
            if _READS.get(key) is read:
                del _READS[key]

        found.task.add_done_callback(forget)
    found.waiters += 1
    try:
        return await asyncio.shield(found.task)
    finally:
        found.waiters -= 1
        if not found.waiters and not found.task.done():
            found.task.cancel()  # every stream waiting for it went away


def _taken(database: Database, event_ids: list[int]) -> dict[int, dict[str, Any]]:
    with database.session() as db:
        return alarms.taken(db, event_ids)


async def _same_caller(request: Request, principal: Principal) -> bool:
    """Whether the stream's caller is still signed in, with the same roles and area."""
    try:
        again = await current_principal(
            request, await oauth2_scheme(request), await api_key_scheme(request)
        )
    except Problem:
        return False
    return again == principal


@router.get(
    "/stream",
    summary="Everything your pages follow live, in one server-sent-event stream",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """`text/event-stream` multiplexing what the pages follow, for one browser (live.js shares
    it among every tab):

    - `notification`: each new message of the caller's inbox;
    - for operators, leaders and administrators: `situation` (the one-map's
      panel, as `GET /api/v1/command/situation`, whenever its figures change), `alarm` (an
      alarm in the caller's area waiting for 接警, the fields of the panel's alarm list plus
      `source`, `urgent` and `climbed`; sent when it starts waiting, on a fresh stream for every
      alarm already waiting, and again when it climbs to the district) and `ack` (`{"id",
      "acked", "by", "at"}`: the alarm stopped waiting, taken by `by` or, with `acked: false`,
      because its event closed).

    Every frame's id is `<message id>.<alarm id>`; a reconnecting browser sends it back as
    `Last-Event-ID` and neither messages nor alarms it saw are sent again. A comment every 15 s
    keeps proxies from closing an idle stream; the stream ends when the caller signs out.

    Nothing polls: the stream reads when its process's listener hears of a message for the
    caller or a change in a town of the caller's area (fengqiao.fanout), and re-reads
    everything every few minutes besides. When the process drains, the stream sends `retry: 500` and
    `event: reconnect` and ends: the browser reconnects (to another instance) with its cursor."""
    return await open_stream(request, principal, last_event_id)


async def light_stream(request: Request) -> StreamingResponse:
    """The same stream served by a bare Starlette route (`light_route`), ahead of FastAPI's
    router: the same sign-in (`current_principal`, as the API router's dependency), under the
    same middlewares (security headers, access log, rate limit, body bounds, request id), and
    the same response. A FastAPI route keeps its dependency solving (the solved values, errors
    and caches, two exit stacks per router level) alive for as long as its response runs: for a
    stream open for hours, at 5,000 streams, that was megabytes for nothing."""
    principal = await deps.current_principal(
        request, await oauth2_scheme(request), await api_key_scheme(request)
    )
    return await open_stream(request, principal, request.headers.get("last-event-id"))


def light_route(prefix: str) -> Route:
    """The route `app.py` puts first, so it answers `GET {prefix}/live/stream` (the FastAPI
    route above stays for the API's description, and is never reached)."""
    route = Route(f"{prefix}{router.prefix}/stream", light_stream, methods=["GET"])
    route.methods = {"GET"}  # Starlette adds HEAD to a GET route; the API answers it 405
    return route


async def open_stream(
    request: Request, principal: Principal, last_event_id: str | None
) -> StreamingResponse:
    """The caller's stream: see `stream`."""
    database: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    settings: Settings = request.app.state.settings
    room = principal.has_any(*COMMAND_ROLES)
    base_url = settings.public_base_url
    cursor = parse_cursor(last_event_id)
    if cursor is None:
        after_message = await run_in_threadpool(_newest_message, database, principal.user_id)
        resumed_alarm = 0
    else:
        after_message, resumed_alarm = cursor
    after_alarm = resumed_alarm
    mine = fanout.user_topic(principal.user_id)
    area = fanout.shared_topics(())
    if room:
        towns = await run_in_threadpool(_area_towns, database, principal.home_path)
        # The set every screen of this area holds: the stream keeps no copy of its own.
        area = fanout.shared_topics(fanout.town_topic(town) for town in towns)
    # Memory fan-out (SQLite) hears only this process: the worker's steps (an alarm climbing)
    # show at the next safety re-check, so it comes sooner there.
    safety = (
        SAFETY_SECONDS if fanout.resolve_backend(settings) != "memory" else LOCAL_SAFETY_SECONDS
    )
    await run_in_threadpool(fanout.ready, settings)
    loop = asyncio.get_running_loop()

    def frame(kind: str, data: bytes) -> bytes:
        head = f"id: {after_message}.{after_alarm}\nevent: {kind}\ndata: ".encode()
        return head + data + b"\n\n"

    async def events() -> AsyncIterator[bytes]:
        nonlocal after_message, after_alarm
        sub = fanout.subscribe((mine,), shared=area)  # the area's towns: one set for all
        drain.on_drain(sub.drain_soon)
        try:
            yield b"retry: 3000\n\n"
            shown: dict[int, bool] = {}  # alarm id -> climbed, as the browser last heard
            last_etag: str | None = None
            first_round = True
            fired = {fanout.EVERYTHING}
            woken_at = loop.time()
            quiet_since = loop.time()
            checked = quiet_since - RECHECK_SECONDS * random.random()
            # A random phase: streams opened together do not all re-check together.
            next_safety = loop.time() + safety * random.uniform(0.5, 1.0)
            # No disconnect check of its own: the response's disconnect listener cancels this
            # generator when the browser goes (one check per wake-up cost each of 5,000 streams
            # a cancel scope and a receive call).
            while not sub.drained:
                sent = False
                everything = fanout.EVERYTHING in fired
                if room and (everything or fired - {mine}):
                    now = clock.now()
                    # Through the shared read cache, as the panel below: one read per change and
                    # area, not per screen or stream.
                    waiting = await _shared(
                        "alarms", request, principal, woken_at,
                        partial(waiting_alarms_answer, request, database, principal, now),
                    )  # fmt: skip
                    current = {a["id"]: a for a in waiting.value["items"]}
                    for alarm_id, alarm in current.items():
                        if first_round and alarm_id <= resumed_alarm:
                            shown[alarm_id] = alarm["climbed"]  # seen before the reconnect
                        elif shown.get(alarm_id) != alarm["climbed"]:
                            shown[alarm_id] = alarm["climbed"]
                            after_alarm = max(after_alarm, alarm_id)
                            yield frame("alarm", orjson.dumps(alarm))
                            sent = True
                    gone = [alarm_id for alarm_id in shown if alarm_id not in current]
                    if gone:
                        who = await run_in_threadpool(_taken, database, gone)
                        for alarm_id in gone:
                            del shown[alarm_id]
                            taken = who.get(alarm_id)
                            ack = {"id": alarm_id, "acked": taken is not None} | (
                                taken or {"by": None, "at": None}
                            )
                            yield frame("ack", orjson.dumps(ack))
                            sent = True
                    # The panel after the alarms (as the one-map's own stream did): a page that
                    # heard of an alarm first says so, before the panel lists it.
                    panel = await _shared(
                        "situation", request, principal, woken_at,
                        partial(situation_answer, request, database, principal, now),
                    )  # fmt: skip
                    if last_etag is not None and panel.etag != last_etag:
                        yield frame("situation", panel.body)
                        sent = True
                    last_etag = panel.etag
                    first_round = False
                more = False
                if everything or mine in fired:
                    fresh = await run_in_threadpool(
                        newer_messages, database, principal.user_id, after_message, base_url
                    )
                    for item in fresh:
                        after_message = item.id
                        yield frame("notification", orjson.dumps(item.model_dump(mode="json")))
                        sent = True
                    more = len(fresh) >= NEWER_LIMIT
                if mine in fired or loop.time() - checked >= RECHECK_SECONDS:
                    checked = loop.time()
                    if not await _same_caller(request, principal):
                        return
                if sent:
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                    quiet_since = loop.time()
                    yield b": keep-alive\n\n"
                if more:  # a backlog of messages: the next page at once
                    fired = {mine}
                    continue
                wake_at = min(
                    next_safety, quiet_since + HEARTBEAT_SECONDS, checked + RECHECK_SECONDS
                )
                fired = await sub.wait(wake_at - loop.time())
                woken_at = loop.time()
                if loop.time() >= next_safety:
                    next_safety = loop.time() + safety
                    fired.add(fanout.EVERYTHING)
            if sub.drained:
                yield RECONNECT_FRAME
        finally:
            drain.remove_listener(sub.drain_soon)
            fanout.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
