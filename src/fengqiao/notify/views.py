"""The in-app inbox (list, mark read, a live server-sent-event stream) and the operators' view
of the outbox (failures, resend).

A message belongs to the scope of its event when it has one (an operator sees the messages about
the events they may read), else to its recipient's home org (a bulletin, a login code); a
message with neither is the district's. District-wide staff and administrators see them all.
A recipient outside the caller's own subtree is shown masked.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.orm import Session

from fengqiao import drain, fanout
from fengqiao.auth.models import User
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import forbidden, not_found
from fengqiao.events.models import Event
from fengqiao.events.scope import event_scope, sees_whole_district
from fengqiao.notify.inbox import NEWER_LIMIT, message_out, newer_messages
from fengqiao.notify.models import Notification
from fengqiao.notify.schemas import NotificationList, NotificationOut, OutboxOut
from fengqiao.notify.sender import resend
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.scope import Principal, in_scope

router = APIRouter(tags=["notifications"])
# The stream reads when the process's listener says a message came (fengqiao.fanout), and
# re-reads this often besides in case a wake was lost (memory fan-out: the worker that stores
# messages is another process, so sooner).
SAFETY_SECONDS = 300.0
LOCAL_SAFETY_SECONDS = 5.0
HEARTBEAT_SECONDS = 15.0
RECONNECT_FRAME = b"retry: 500\nevent: reconnect\ndata: {}\n\n"


@router.get("/me/notifications", response_model=NotificationList, summary="My in-app inbox")
def my_notifications(
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
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
        items=[message_out(n, settings.public_base_url) for n in rows],
        unread=count or 0,
        next_before=rows[-1].id if more and rows else None,
    )


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark one message read",
)
def read_one(
    notification_id: int,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
) -> NotificationOut:
    with database.transaction() as db:
        row = db.get(Notification, notification_id)
        if row is None or row.user_id != principal.user_id:
            raise not_found("message", "消息")
        if row.read_at is None:
            row.read_at = clock.now()
        return message_out(row, settings.public_base_url)


@router.post("/me/notifications/read-all", summary="Mark every message read")
def read_all(principal: CurrentPrincipal, database: AppDatabase, clock: AppClock) -> dict[str, int]:
    with database.transaction() as db:
        result = db.execute(
            update(Notification)
            .where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
            .values(read_at=clock.now())
        )
        return {"marked": int(getattr(result, "rowcount", 0) or 0)}


@router.get(
    "/me/notifications/stream",
    summary="My new messages as server-sent events",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
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

    base_url = settings.public_base_url
    topic = fanout.user_topic(principal.user_id)
    memory = fanout.resolve_backend(settings) == "memory"
    safety = LOCAL_SAFETY_SECONDS if memory else SAFETY_SECONDS
    await run_in_threadpool(fanout.ready, settings)
    loop = asyncio.get_running_loop()

    async def events() -> AsyncIterator[bytes]:
        nonlocal after
        sub = fanout.subscribe({topic})
        drain.on_drain(sub.drain_soon)
        try:
            yield b"retry: 3000\n\n"
            quiet_since = loop.time()
            # A random phase: streams opened together do not all re-check together.
            next_safety = loop.time() + safety * random.uniform(0.5, 1.0)
            while not sub.drained and not await request.is_disconnected():
                fresh = await run_in_threadpool(
                    newer_messages, database, principal.user_id, after, base_url
                )
                for item in fresh:
                    after = item.id
                    data = orjson.dumps(item.model_dump(mode="json")).decode()
                    yield f"id: {item.id}\nevent: notification\ndata: {data}\n\n".encode()
                if fresh:
                    quiet_since = loop.time()
                    if len(fresh) >= NEWER_LIMIT:
                        continue
                elif loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                    quiet_since = loop.time()
                    yield b": keep-alive\n\n"
                # Read again when the listener says a message came, or at the safety re-check.
                while not sub.drained:
                    wake_at = min(next_safety, quiet_since + HEARTBEAT_SECONDS)
                    fired = await sub.wait(wake_at - loop.time())
                    if loop.time() >= next_safety:
                        next_safety = loop.time() + safety
                        break
                    if fired:
                        break
                    if loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                        quiet_since = loop.time()
                        yield b": keep-alive\n\n"
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


def _operators_only(principal: Any) -> None:
    if not principal.has_any("operator", "admin"):
        raise forbidden(
            "only operators and administrators see the outbox", "只有坐席和管理员可以查看发送队列"
        )


def outbox_scope(principal: Principal) -> ColumnElement[bool]:
    """The messages `principal` may see, over Outbox outer-joined to its event and to its
    recipient's home org (see `_scoped_outbox`)."""
    if sees_whole_district(principal):
        return true()
    return or_(
        and_(Outbox.event_id.is_not(None), event_scope(principal)),
        and_(
            Outbox.event_id.is_(None),
            OrgUnit.path.is_not(None),
            in_scope(principal, OrgUnit.path),
        ),
    )


def _scoped_outbox(principal: Principal) -> Any:
    """SELECT (message, recipient's home path) of the messages in the caller's scope."""
    return (
        select(Outbox, OrgUnit.path)
        .outerjoin(Event, Event.id == Outbox.event_id)
        .outerjoin(User, User.id == Outbox.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(outbox_scope(principal))
    )


def _masked(recipient: str, channel: str) -> str:
    if channel == "sms" and len(recipient) > 7:
        return recipient[:3] + "*" * (len(recipient) - 7) + recipient[-4:]
    if channel == "email" and "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}***@{domain}"
    return recipient


def _outbox_out(row: Outbox, home_path: str | None, principal: Principal) -> OutboxOut:
    """The message as the caller may see it: a recipient outside their subtree masked."""
    out = OutboxOut.model_validate(row, from_attributes=True)
    if not sees_whole_district(principal) and not (
        home_path is not None and principal.covers(home_path)
    ):
        out.recipient = _masked(out.recipient, out.channel)
    return out


def _message_in_scope(db: Session, principal: Principal, outbox_id: int) -> None:
    """404 unless the message exists and lies in the caller's scope."""
    found = db.execute(_scoped_outbox(principal).where(Outbox.id == outbox_id)).first()
    if found is None:
        raise not_found("message", "消息")


@router.get("/outbox", response_model=list[OutboxOut], summary="Outbound messages (operators)")
def list_outbox(
    principal: CurrentPrincipal,
    database: AppDatabase,
    status: Annotated[Literal["pending", "sent", "dead", "expired"] | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    template: Annotated[str | None, Query(max_length=32)] = None,
    event_id: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxOut]:
    """Newest first, within the caller's scope (a message belongs to its event's area, or to its
    recipient's home when it has no event); `status=dead` lists what could not be delivered,
    with the last error."""
    _operators_only(principal)
    with database.session() as db:
        query = _scoped_outbox(principal)
        if status:
            query = query.where(Outbox.status == status)
        if channel:
            query = query.where(Outbox.channel == channel)
        if template:
            query = query.where(Outbox.template == template)
        if event_id is not None:
            query = query.where(Outbox.event_id == event_id)
        rows = db.execute(query.order_by(Outbox.id.desc()).limit(limit)).all()
        return [_outbox_out(row, path, principal) for row, path in rows]


@router.post("/outbox/{outbox_id}/resend", response_model=OutboxOut, summary="Send a message again")
def resend_message(
    outbox_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> OutboxOut:
    """A dead or waiting message in the caller's scope goes back in line with fresh attempts
    (404 outside the scope, 409 if it was sent)."""
    _operators_only(principal)
    with database.transaction() as db:
        _message_in_scope(db, principal, outbox_id)
        row = resend(db, outbox_id, clock.now())
        path = db.scalar(
            select(OrgUnit.path)
            .join(User, User.home_org_id == OrgUnit.id)
            .where(User.id == row.user_id)
        ) if row.user_id is not None else None  # fmt: skip
        return _outbox_out(row, path, principal)
