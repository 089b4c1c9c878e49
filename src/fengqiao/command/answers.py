"""The one-map's cached answers: a read of the caller's area kept while no event changed, shared
by every screen of the same area (the panel, the event layer, the grid counts, the live stream's
situation and waiting alarms)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from fengqiao.command import alarms, service
from fengqiao.db import Database
from fengqiao.events.queries import read_change_mark, scope_key
from fengqiao.readcache import Answer, ReadCache, make_answer
from fengqiao.scope import Principal

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


async def waiting_alarms_answer(
    request: Request, database: Database, principal: Principal, now: datetime
) -> Answer:
    """The alarms waiting for 接警 in the caller's area (`{"items": [...]}`, no phone numbers):
    taking one or climbing it writes a trail row, which moves the change mark."""

    def build(db: Session, at: datetime) -> dict[str, Any]:
        return {"items": alarms.waiting(db, principal, at)}

    return await answer_for(request, database, principal, now, ("alarms",), build)
