"""Call signalling under /api/v1/calls: a WebSocket per page that receives (ringing, answers,
SDP and ICE from the other side, the end), and POSTs that act (ring, accept, decline, hang up,
send SDP/ICE). The routes are `async` so the hub (calls/hub.py) is only touched from the event
loop; the database work runs in the thread pool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from fengqiao.auth.cookies import SESSION_COOKIE
from fengqiao.calls import service
from fengqiao.calls.hub import CallHub, Connection, LiveCall
from fengqiao.calls.ice import ice_servers
from fengqiao.calls.schemas import CallConfigOut, CallIn, CallOut, ConnIn, SignalIn
from fengqiao.db import Database
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, conflict, invalid
from fengqiao.scope import Principal

router = APIRouter(prefix="/calls", tags=["calls"])
# The socket authenticates itself (a WebSocket has no request method for the API's CSRF rule).
socket_router = APIRouter(prefix="/calls", tags=["calls"])
log = logging.getLogger(__name__)
# Close codes of the signalling socket: 4401 not signed in, 4403 from another site.
CLOSE_UNAUTHORIZED, CLOSE_FOREIGN = 4401, 4403
RECHECK_SECONDS = 30.0


def hub_of(app: Any) -> CallHub:
    """The app's call hub, made on first use."""
    hub: CallHub | None = getattr(app.state, "calls", None)
    if hub is None:
        hub = app.state.calls = CallHub()
    return hub


def _refusal(slug: str, title: str, title_zh: str, detail: str, detail_zh: str) -> Problem:
    return conflict(slug, title, title_zh, detail, detail_zh)


def caller_offline() -> Problem:
    return _refusal(
        "caller-offline", "Not connected", "通话服务未连接",
        "this page is not connected to call signalling: reload it and try again",
        "本页面未连接通话服务，请刷新页面后重试",
    )  # fmt: skip


def _call_over() -> Problem:
    return _refusal(
        "call-over", "The call has ended", "通话已结束",
        "this call is no longer ringing or under way", "该通话已结束",
    )  # fmt: skip


def _out(call: LiveCall, state: str, outcome: str | None = None) -> dict[str, Any]:
    return {
        "id": call.id, "state": state, "event_id": call.event_id,
        "caller": {"id": call.caller_id, "name": call.caller_name},
        "callee": {"id": call.callee_id, "name": call.callee_name},
        "started_at": call.started_at, "answered_at": call.answered_at, "outcome": outcome,
    }  # fmt: skip


def _live(hub: CallHub, call_id: int, principal: Principal) -> LiveCall:
    call = hub.calls.get(call_id)
    if call is None or principal.user_id not in (call.caller_id, call.callee_id):
        raise _call_over()
    return call


async def end_call(
    hub: CallHub, database: Database, call: LiveCall, outcome: str, now: datetime
) -> bool:
    """End a live call: out of the hub and both sides told first (nobody waits on the database),
    then the row and the event's trail. False when it had ended already."""
    if not hub.release(call):
        return False
    message = {"type": "ended", "call_id": call.id, "outcome": outcome}
    hub.send(call.caller_id, message, conn_id=call.caller_conn)
    # A call that still rings is ringing on every page of the callee.
    hub.send(call.callee_id, message, conn_id=call.callee_conn)
    try:
        await run_in_threadpool(_finish, database, call, outcome, now)
    except Exception:  # the call has ended for both; a failed write is logged, not raised
        log.exception("could not store the end of call %s", call.id)
    return True


def _finish(database: Database, call: LiveCall, outcome: str, now: datetime) -> None:
    with database.transaction() as db:
        service.finish(
            db=db, call_id=call.id, answered_at=call.answered_at, outcome=outcome, now=now
        )


@router.get("/config", response_model=CallConfigOut, summary="STUN/TURN servers for a call")
async def call_config(
    principal: CurrentPrincipal, settings: AppSettings, clock: AppClock
) -> dict[str, Any]:
    """The `iceServers` for the browser's RTCPeerConnection (`FENGQIAO_CALL_ICE_SERVERS`, and
    time-limited TURN credentials when `FENGQIAO_CALL_TURN_URLS` and `_SECRET` are set; none by
    default) and how long a call rings."""
    return {
        "ice_servers": ice_servers(settings, user_id=principal.user_id, now=clock.now()),
        "ring_seconds": settings.call_ring_seconds,
    }


@router.post("", status_code=201, response_model=CallOut, summary="Ring someone (一键视频通话)")
async def place_call(
    body: CallIn,
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> dict[str, Any]:
    """Ring a member of staff in the caller's area from the command room (operators, leaders,
    administrators), optionally from an event (the call goes on its trail). `conn` is the
    caller's page's signalling socket (its `hello`). Every page of the callee gets `ring`.

    Refused: 403 `callee-out-of-scope` outside the caller's area; 404 no such person or event;
    409 `caller-offline` (the page's socket is not connected), `caller-busy` (您正在通话中),
    `callee-offline` (对方不在线), `callee-busy` (对方正在通话中)."""
    principal.require_role(*service.CALLER_ROLES)
    hub = hub_of(request.app)
    if not hub.owns(principal.user_id, body.conn):
        raise caller_offline()
    callee, event = await run_in_threadpool(_callee_and_event, database, principal, body)
    # From here to reserve() no await: the checks and the reservation are one step.
    if hub.busy(principal.user_id):
        raise _refusal(
            "caller-busy", "You are in a call", "您正在通话中",
            "you are in a call already: hang up first", "请先挂断当前通话",
        )  # fmt: skip
    if not hub.online(callee.id):
        raise _refusal(
            "callee-offline", "Not online", "对方不在线",
            f"{callee.name} has no app open that can take calls",
            f"{callee.name}当前未打开可接听视频通话的应用",
        )  # fmt: skip
    if hub.busy(callee.id):
        raise _refusal(
            "callee-busy", "Busy", "对方正在通话中",
            f"{callee.name} is in another call; try again later",
            f"{callee.name}正在进行其他通话，请稍后再拨",
        )  # fmt: skip
    now = clock.now()
    call = LiveCall(
        caller_id=principal.user_id, caller_name=principal.name, caller_conn=body.conn,
        callee_id=callee.id, callee_name=callee.name, event_id=body.event_id, started_at=now,
    )  # fmt: skip
    hub.reserve(call)
    try:
        call_id = await run_in_threadpool(_start, database, call)
    except BaseException:
        hub.release(call)
        raise
    hub.register(call, call_id)
    if not hub.owns(principal.user_id, body.conn):  # the caller's page left meanwhile
        await end_call(hub, database, call, "cancelled", clock.now())
        raise caller_offline()
    hub.send(callee.id, {
        "type": "ring", "call": _out(call, "ringing"),
        "event": {"id": event.id, "code": event.code, "title": event.title} if event else None,
        "ring_seconds": settings.call_ring_seconds,
    })  # fmt: skip
    loop = asyncio.get_running_loop()
    call.timer = loop.call_later(
        settings.call_ring_seconds,
        lambda: hub.spawn(end_call(hub, database, call, "missed", clock.now())),
    )
    return _out(call, "ringing")


def _callee_and_event(
    database: Database, principal: Principal, body: CallIn
) -> tuple[service.Party, service.EventRef | None]:
    with database.session() as db:
        callee = service.callee_for(db=db, principal=principal, callee_id=body.callee_id)
        event = None
        if body.event_id is not None:
            event = service.event_for(db=db, principal=principal, event_id=body.event_id)
    return callee, event


def _start(database: Database, call: LiveCall) -> int:
    with database.transaction() as db:
        row = service.start(
            db=db, caller_id=call.caller_id, callee_id=call.callee_id, event_id=call.event_id,
            now=call.started_at,
        )  # fmt: skip
        return row.id


@router.post("/{call_id}/accept", response_model=CallOut, summary="Answer a ringing call")
async def accept_call(
    call_id: int, body: ConnIn, request: Request, principal: CurrentPrincipal, clock: AppClock
) -> dict[str, Any]:
    """The callee answers on the page `conn`: the caller gets `accepted` and sends its offer;
    the callee's other pages stop ringing (`ended` with outcome `answered_elsewhere`). 409
    `call-over` for a call that is no longer ringing."""
    hub = hub_of(request.app)
    call = _live(hub, call_id, principal)
    if principal.user_id != call.callee_id or call.answered_at is not None:
        raise _call_over()
    if not hub.owns(principal.user_id, body.conn):
        raise caller_offline()
    if call.timer is not None:
        call.timer.cancel()
        call.timer = None
    call.answered_at, call.callee_conn = clock.now(), body.conn
    hub.send(call.caller_id, {"type": "accepted", "call_id": call.id}, conn_id=call.caller_conn)
    for conn_id in list(hub.connections.get(call.callee_id, {})):
        if conn_id != body.conn:
            hub.send(call.callee_id, {"type": "ended", "call_id": call.id,
                                      "outcome": "answered_elsewhere"}, conn_id=conn_id)  # fmt: skip
    return _out(call, "active")


@router.post("/{call_id}/decline", response_model=CallOut, summary="Decline a ringing call")
async def decline_call(
    call_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The callee declines: the caller's page says 对方已拒绝. 409 `call-over` otherwise."""
    hub = hub_of(request.app)
    call = _live(hub, call_id, principal)
    if principal.user_id != call.callee_id or call.answered_at is not None:
        raise _call_over()
    await end_call(hub, database, call, "declined", clock.now())
    return _out(call, "ended", "declined")


@router.post("/{call_id}/hangup", response_model=CallOut, summary="Hang up")
async def hang_up(
    call_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Either side ends the call: `completed` once answered, else `cancelled` by the caller or
    `declined` by the callee. The other side gets `ended`. 409 `call-over` when it had ended."""
    hub = hub_of(request.app)
    call = _live(hub, call_id, principal)
    if call.answered_at is not None:
        outcome = "completed"
    else:
        outcome = "cancelled" if principal.user_id == call.caller_id else "declined"
    if not await end_call(hub, database, call, outcome, clock.now()):
        raise _call_over()
    return _out(call, "ended", outcome)


@router.post("/{call_id}/signal", status_code=204, summary="Send SDP or an ICE candidate")
async def signal(
    call_id: int, body: SignalIn, request: Request, principal: CurrentPrincipal
) -> None:
    """Pass the caller's offer, the callee's answer or either side's ICE candidates to the other
    side's page, once the call is answered (`signal` on its socket). 422 when `sdp` (offer,
    answer) or `candidate` is missing; 409 `call-over`."""
    hub = hub_of(request.app)
    call = _live(hub, call_id, principal)
    # Only the page that placed the call and the page that answered it take part.
    mine = call.caller_conn if principal.user_id == call.caller_id else call.callee_conn
    if call.answered_at is None or body.conn != mine or not hub.owns(principal.user_id, mine):
        raise _call_over()
    if body.kind == "candidate" and body.candidate is None:
        raise invalid("candidate", "a candidate is required", "缺少网络候选地址")
    if body.kind != "candidate" and not body.sdp:
        raise invalid("sdp", "an SDP is required", "缺少媒体协商信息")
    other, conn_id = call.other(principal.user_id)
    message = {"type": "signal", "call_id": call.id, "kind": body.kind, "sdp": body.sdp,
               "candidate": body.candidate.model_dump() if body.candidate else None}  # fmt: skip
    hub.send(other, message, conn_id=conn_id)


@socket_router.websocket("/ws")
async def signalling_socket(websocket: WebSocket) -> None:
    """The page's signalling socket (`wss://…/api/v1/calls/ws`): signed in by the session
    cookie or a bearer token; first message `{"type": "hello", "conn": …}`, then `ring`,
    `accepted`, `signal` and `ended` as JSON. Closing it ends the calls it carries (`dropped`)."""
    origin = websocket.headers.get("origin")
    if origin and urlsplit(origin).netloc != websocket.headers.get("host"):
        await websocket.close(code=CLOSE_FOREIGN)
        return
    token = websocket.cookies.get(SESSION_COOKIE)
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    try:
        if not token:
            raise invalid("token", "not signed in", "未登录")
        principal: Principal = await websocket.app.state.authenticate(
            cast(Request, websocket), token, None
        )
    except Problem:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    await websocket.accept()
    hub = hub_of(websocket.app)
    connection = hub.connect(principal.user_id)
    connection.put(b'{"type":"hello","conn":"' + connection.id.encode() + b'"}')
    try:
        await _pump(websocket, connection, _still_signed_in(websocket, token, principal))
    finally:
        dropped = hub.disconnect(connection)
        database: Database = websocket.app.state.db
        # Spawned, not awaited: a socket's task may be cancelled (the server stopping), and
        # the other side and the row must still hear of the drop.
        for call in dropped:
            hub.spawn(end_call(hub, database, call, "dropped", websocket.app.state.clock.now()))


async def _still_signed_in(websocket: WebSocket, token: str, principal: Principal) -> None:
    """Return when the socket's user is no longer signed in with the same roles and area
    (signed out, disabled, moved): checked every RECHECK_SECONDS, as the live stream does."""
    while True:
        await asyncio.sleep(RECHECK_SECONDS)
        try:
            again = await websocket.app.state.authenticate(cast(Request, websocket), token, None)
        except Problem:
            return
        if again != principal:
            return


async def _pump(
    websocket: WebSocket, connection: Connection, watch: Coroutine[Any, Any, None]
) -> None:
    """Send the queued messages until the page goes away or its user is no longer signed in
    (what the page sends is read and dropped)."""

    async def send() -> None:
        while (message := await connection.queue.get()) is not None:
            await websocket.send_text(message.decode())
        await websocket.close()

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.ensure_future(send()), asyncio.ensure_future(receive())]
    tasks.append(asyncio.ensure_future(watch))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[2] in done:
            await websocket.close(code=CLOSE_UNAUTHORIZED)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away meanwhile
    finally:
        for task in tasks:
            task.cancel()
