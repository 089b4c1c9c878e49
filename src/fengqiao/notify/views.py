"""The in-app inbox (list, mark read, a live server-sent-event stream) and the operators' view
of the outbox (failures, resend)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import func, select, update

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.errors import forbidden, not_found
from fengqiao.notify.models import Notification, Outbox
from fengqiao.notify.sender import resend

router = APIRouter(tags=["notifications"])
STREAM_POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    link: str
    event_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int
    next_before: int | None


class OutboxOut(BaseModel):
    id: int
    channel: str
    recipient: str
    user_id: int | None
    template: str
    event_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    error: str | None


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id, title=n.title, body=n.body, link=n.link, event_id=n.event_id,
        created_at=n.created_at, read_at=n.read_at,
    )  # fmt: skip


@router.get("/me/notifications", response_model=NotificationList, summary="My in-app inbox")
def my_notifications(
    principal: CurrentPrincipal,
    database: AppDatabase,
    unread: Annotated[bool, Query(description="Only unread messages.")] = False,
    before: Annotated[int | None, Query(description="`next_before` of the last page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    with database.session() as db:
        query = select(Notification).where(Notification.user_id == principal.user_id)
        if unread:
            query = query.where(Notification.read_at.is_(None))
        if before is not None:
            query = query.where(Notification.id < before)
        rows = list(db.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
        count = db.scalar(
            select(func.count()).where(
                Notification.user_id == principal.user_id, Notification.read_at.is_(None)
            )
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationList(
        items=[_out(n) for n in rows],
        unread=count or 0,
        next_before=rows[-1].id if more and rows else None,
    )


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark one message read",
)
def read_one(
    notification_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> NotificationOut:
    with database.transaction() as db:
        row = db.get(Notification, notification_id)
        if row is None or row.user_id != principal.user_id:
            raise not_found("message", "消息")
        if row.read_at is None:
            row.read_at = clock.now()
        return _out(row)


@router.post("/me/notifications/read-all", summary="Mark every message read")
def read_all(principal: CurrentPrincipal, database: AppDatabase, clock: AppClock) -> dict[str, int]:
    with database.transaction() as db:
        result = db.execute(
            update(Notification)
            .where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
            .values(read_at=clock.now())
        )
        return {"marked": int(getattr(result, "rowcount", 0) or 0)}


def _newer(database: Any, user_id: int, after: int) -> list[NotificationOut]:
    with database.session() as db:
        rows = db.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.id > after)
            .order_by(Notification.id)
            .limit(100)
        )
        return [_out(n) for n in rows]


@router.get(
    "/me/notifications/stream",
    summary="My new messages as server-sent events",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """`text/event-stream`: one `notification` event per new message (its id is the event id,
    so a reconnecting browser resumes after the last one it saw via `Last-Event-ID`), and a
    comment every 15 s to keep proxies from closing an idle stream. Without `Last-Event-ID` it
    starts with messages that arrive after it opened."""
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)
    else:
        with database.session() as db:
            newest = db.scalar(
                select(Notification.id)
                .where(Notification.user_id == principal.user_id)
                .order_by(Notification.id.desc())
                .limit(1)
            )
        after = newest or 0

    async def events() -> AsyncIterator[bytes]:
        nonlocal after
        yield b"retry: 3000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            fresh = await run_in_threadpool(_newer, database, principal.user_id, after)
            for item in fresh:
                after = item.id
                data = orjson.dumps(item.model_dump(mode="json")).decode()
                yield f"id: {item.id}\nevent: notification\ndata: {data}\n\n".encode()
            if fresh:
                quiet = 0.0
                continue
            await asyncio.sleep(STREAM_POLL_SECONDS)
            quiet += STREAM_POLL_SECONDS
            if quiet >= HEARTBEAT_SECONDS:
                quiet = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _operators_only(principal: Any) -> None:
    if not principal.has_any("operator", "admin"):
        raise forbidden(
            "only operators and administrators see the outbox", "只有坐席和管理员可以查看发送队列"
        )


@router.get("/outbox", response_model=list[OutboxOut], summary="Outbound messages (operators)")
def list_outbox(
    principal: CurrentPrincipal,
    database: AppDatabase,
    status: Annotated[Literal["pending", "sent", "dead"] | None, Query()] = None,
    channel: Annotated[str | None, Query()] = None,
    template: Annotated[str | None, Query()] = None,
    event_id: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxOut]:
    """Newest first; `status=dead` lists what could not be delivered, with the last error."""
    _operators_only(principal)
    with database.session() as db:
        query = select(Outbox)
        if status:
            query = query.where(Outbox.status == status)
        if channel:
            query = query.where(Outbox.channel == channel)
        if template:
            query = query.where(Outbox.template == template)
        if event_id is not None:
            query = query.where(Outbox.event_id == event_id)
        rows = db.scalars(query.order_by(Outbox.id.desc()).limit(limit))
        return [OutboxOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/outbox/{outbox_id}/resend", response_model=OutboxOut, summary="Send a message again")
def resend_message(
    outbox_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> OutboxOut:
    """A dead or waiting message goes back in line with fresh attempts (409 if it was sent)."""
    _operators_only(principal)
    with database.transaction() as db:
        return OutboxOut.model_validate(resend(db, outbox_id, clock.now()), from_attributes=True)
