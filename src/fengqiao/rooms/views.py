"""Meeting rooms under /api/v1/rooms: the rooms a caller reaches, opening a session with
invitations, join, leave, SDP/ICE between parties, close, the record. Signalling reuses the
calls' socket (/api/v1/calls/ws): room messages go to the page that joined (`room-joined`,
`room-signal`, `room-left`, `room-closed`) and invitations ring every page (`room-invite`).
Async routes, so the hubs are only touched from the event loop; the database in the pool."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from fengqiao.calls.hub import CallHub, Connection
from fengqiao.calls.ice import ice_servers
from fengqiao.calls.views import caller_offline, hub_of
from fengqiao.db import Database
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import conflict, invalid
from fengqiao.paging import Page, Paging
from fengqiao.rooms import service
from fengqiao.rooms.live import LiveParty, RoomHub
from fengqiao.rooms.schemas import (
    MAX_PARTIES,
    ConnIn,
    JoinOut,
    RoomOut,
    RoomSignalIn,
    SessionIn,
    SessionOut,
)
from fengqiao.scope import Principal

router = APIRouter(prefix="/rooms", tags=["rooms"])
log = logging.getLogger(__name__)


def rooms_of(app: Any) -> RoomHub:
    """The app's meeting hub, made on first use; a closing socket takes its parties out."""
    rooms: RoomHub | None = getattr(app.state, "rooms", None)
    if rooms is None:
        rooms = app.state.rooms = RoomHub()
        calls = hub_of(app)

        def dropped(connection: Connection) -> None:
            for session_id, party in rooms.on_conn(connection.id):
                now = app.state.clock.now()
                calls.spawn(_leave(app, session_id, party, "dropped", now))

        calls.on_disconnect.append(dropped)
    return rooms


def _not_in() -> Any:
    return conflict(
        "not-in-meeting", "Not in the meeting", "未加入会商",
        "this page has not joined the meeting (or has left it)", "本页面未加入该会商或已离开",
    )  # fmt: skip


async def _leave(app: Any, session_id: int, party: LiveParty, how: str, now: datetime) -> None:
    """Take a party out: the others' pages first (their tile goes), then the row."""
    rooms, calls = rooms_of(app), hub_of(app)
    if rooms.remove(session_id, party.id) is None:
        return
    _tell_others(calls, rooms, session_id, party.id, {
        "type": "room-left", "session_id": session_id, "party": party.id, "how": how,
    })  # fmt: skip
    try:
        await run_in_threadpool(_store_leave, app.state.db, party.id, how, now)
    except Exception:  # the party has left for everyone; a failed write is logged, not raised
        log.exception("could not store the leaving of party %s", party.id)


def _store_leave(database: Database, party_id: int, how: str, now: datetime) -> None:
    with database.transaction() as db:
        service.leave(db=db, participant_id=party_id, how=how, now=now)


def _tell_others(
    calls: CallHub, rooms: RoomHub, session_id: int, party_id: int, message: dict[str, Any]
) -> None:
    for other in rooms.others(session_id, party_id):
        calls.send(other.user_id, message, conn_id=other.conn)


def _party(party: LiveParty) -> dict[str, Any]:
    return {
        "id": party.id, "user": {"id": party.user_id, "name": party.name},
        "joined_at": party.joined_at,
    }  # fmt: skip


@router.get("", response_model=list[RoomOut], summary="The rooms the caller may meet in")
def list_rooms(principal: CurrentPrincipal, database: AppDatabase) -> list[dict[str, Any]]:
    """The rooms of the caller's level and those below in their area (区社会治理中心, each
    town's 指挥室, each village's 综合信息工作室), with the session open in each; then rooms
    elsewhere whose open session invited the caller (`invited`). Staff only; others get []."""
    with database.session() as db:
        return service.rooms_for(db, principal)


@router.get("/sessions", response_model=Page[SessionOut], summary="Past and open sessions")
def list_sessions(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging
) -> dict[str, Any]:
    """The sessions held in rooms of the caller's area, newest first (`page`, `size`)."""
    with database.session() as db:
        items, total = service.past_sessions(
            db=db, principal=principal, offset=paging.offset, limit=paging.size
        )
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/sessions/{session_id}", response_model=SessionOut, summary="A session's record")
async def get_session(
    session_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase
) -> dict[str, Any]:
    """Who opened it and when, the rooms invited, the linked events and warnings, everyone who
    joined (when, when and how they left) and who is in it now (`live`). 403
    `room-out-of-scope` for a room the caller does not reach."""
    record = await run_in_threadpool(_record, database, principal, session_id)
    record["live"] = sorted(rooms_of(request.app).parties.get(session_id, {}))
    return record


def _record(database: Database, principal: Principal, session_id: int) -> dict[str, Any]:
    with database.session() as db:
        session = service.session_for(db, principal, session_id)
        return service.session_out(db, session, participants=True)


@router.get("/{org_id}", response_model=RoomOut, summary="One room and its open session")
async def get_room(
    org_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase
) -> dict[str, Any]:
    """The room of org unit `org_id` and the session under way in it, with who is in it now.
    404 for no such room; 403 `room-out-of-scope` outside the area unless invited."""
    room = await run_in_threadpool(_room, database, principal, org_id)
    if room["session"] is not None:
        room["session"]["live"] = sorted(
            rooms_of(request.app).parties.get(room["session"]["id"], {})
        )
    return room


def _room(database: Database, principal: Principal, org_id: int) -> dict[str, Any]:
    with database.session() as db:
        unit = service.get_room(db, org_id)
        session = next((s for s in service.open_sessions(db) if s.org_id == unit.id), None)
        invited = False
        if not (principal.is_staff() and principal.covers(unit.path)):
            paths = service.invited_paths(db, session) if session else []
            if session is None or not service.reaches(principal, session, paths):
                raise service.out_of_scope()
            invited = True
        return {
            "org_id": unit.id, "kind": unit.kind, "path": unit.path, "invited": invited,
            "name": service.room_name(unit.kind, unit.name),
            "session": service.session_out(db, session) if session else None,
        }  # fmt: skip


@router.post(
    "/{org_id}/sessions", status_code=201, response_model=SessionOut, summary="Open a session"
)
async def open_session(
    org_id: int, body: SessionIn, request: Request, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Open a meeting in a room of the caller's area (operators, leaders, administrators),
    inviting up to 7 other rooms of their area and linking events and warnings they may read.
    The invited rooms' operators and leaders get an inbox message with the link, and every page
    of theirs that is online rings (`room-invite`). 403 `room-out-of-scope`; 404 an event or
    warning out of scope; 409 `session-open` when the room has one under way."""
    session, invitees = await run_in_threadpool(
        _open, database, principal, org_id, body, clock.now()
    )
    calls = hub_of(request.app)
    ring = {"type": "room-invite", "session": {
        "id": session["id"], "org_id": session["org_id"], "room": session["room"],
        "title": session["title"], "opened_by": session["opened_by"]["name"],
    }}  # fmt: skip
    for user_id in invitees:
        calls.send(user_id, ring)
    return session


def _open(
    database: Database, principal: Principal, org_id: int, body: SessionIn, now: datetime
) -> tuple[dict[str, Any], list[int]]:
    with database.transaction() as db:
        session, invitees = service.open_session(
            db=db, principal=principal, org_id=org_id, body=body, now=now
        )
        return service.session_out(db, session), invitees


@router.post("/sessions/{session_id}/join", response_model=JoinOut, summary="Join a session")
async def join_session(
    session_id: int, body: ConnIn, request: Request, principal: CurrentPrincipal,
    database: AppDatabase, settings: AppSettings, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Join from the page whose signalling socket is `conn`: the answer lists the parties in
    the meeting now (this page sends each an offer) and the ICE servers; the others get
    `room-joined`. 403 `room-out-of-scope`; 409 `session-closed` (会商已结束), `room-full`
    (会商人数已满（最多 8 方）), `caller-offline` (the socket is not connected)."""
    calls, rooms = hub_of(request.app), rooms_of(request.app)
    if not calls.owns(principal.user_id, body.conn):
        raise caller_offline()
    session = await run_in_threadpool(_joinable, database, principal, session_id)
    # From here to hold() no await: the count and the seat are one step.
    mine = rooms.by_conn(session_id, body.conn)
    if mine is None:
        if rooms.seats(session_id) >= MAX_PARTIES:
            raise service.room_full(MAX_PARTIES)
        rooms.hold(session_id)
        now = clock.now()
        try:
            party_id = await run_in_threadpool(_store_join, database, session_id, principal, now)
        finally:
            rooms.unhold(session_id)
        mine = LiveParty(party_id, principal.user_id, principal.name, body.conn, now)
        rooms.add(session_id, mine)
        if not calls.owns(principal.user_id, body.conn):  # the page left meanwhile
            await _leave(request.app, session_id, mine, "dropped", clock.now())
            raise caller_offline()
        _tell_others(calls, rooms, session_id, mine.id, {
            "type": "room-joined", "session_id": session_id, "party": _party(mine),
        })  # fmt: skip
    session["live"] = sorted(rooms.parties.get(session_id, {}))
    return {
        "session": session, "me": mine.id, "max_parties": MAX_PARTIES,
        "parties": [_party(p) for p in rooms.others(session_id, mine.id)],
        "ice_servers": ice_servers(settings, user_id=principal.user_id, now=clock.now()),
    }  # fmt: skip


def _joinable(database: Database, principal: Principal, session_id: int) -> dict[str, Any]:
    with database.session() as db:
        session = service.session_for(db, principal, session_id)
        if session.closed_at is not None:
            raise service.session_closed()
        return service.session_out(db, session)


def _store_join(database: Database, session_id: int, principal: Principal, now: datetime) -> int:
    with database.transaction() as db:
        return service.join(db=db, session_id=session_id, user_id=principal.user_id, now=now).id


@router.post("/sessions/{session_id}/leave", status_code=204, summary="Leave a session")
async def leave_session(
    session_id: int, body: ConnIn, request: Request, principal: CurrentPrincipal, clock: AppClock
) -> None:
    """The page `conn` leaves: the others get `room-left` and its tile goes. 409
    `not-in-meeting` when it is not in the meeting."""
    party = rooms_of(request.app).by_conn(session_id, body.conn)
    if party is None or party.user_id != principal.user_id:
        raise _not_in()
    await _leave(request.app, session_id, party, "left", clock.now())


@router.post("/sessions/{session_id}/signal", status_code=204, summary="SDP or ICE to a party")
async def room_signal(
    session_id: int, body: RoomSignalIn, request: Request, principal: CurrentPrincipal
) -> None:
    """Pass an offer, answer or ICE candidate from this page's party to party `to` of the same
    session (`room-signal` on its socket). 409 `not-in-meeting` when either is not in it; 422
    when `sdp` or `candidate` is missing."""
    rooms = rooms_of(request.app)
    mine = rooms.by_conn(session_id, body.conn)
    target = rooms.parties.get(session_id, {}).get(body.to)
    if mine is None or mine.user_id != principal.user_id or target is None or target is mine:
        raise _not_in()
    if body.kind == "candidate" and body.candidate is None:
        raise invalid("candidate", "a candidate is required", "缺少网络候选地址")
    if body.kind != "candidate" and not body.sdp:
        raise invalid("sdp", "an SDP is required", "缺少媒体协商信息")
    message = {
        "type": "room-signal", "session_id": session_id, "from": mine.id, "kind": body.kind,
        "sdp": body.sdp, "candidate": body.candidate.model_dump() if body.candidate else None,
    }  # fmt: skip
    hub_of(request.app).send(target.user_id, message, conn_id=target.conn)


@router.post("/sessions/{session_id}/close", response_model=SessionOut, summary="Close a session")
async def close_session(
    session_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """End the meeting (whoever opened it, or an operator, leader or administrator over the
    room): every party gets `room-closed`, their stays end as `closed`. 409 `session-closed`
    when it had ended."""
    now = clock.now()
    record = await run_in_threadpool(_close, database, principal, session_id, now)
    rooms, calls = rooms_of(request.app), hub_of(request.app)
    for party in list(rooms.parties.get(session_id, {}).values()):
        rooms.remove(session_id, party.id)
        calls.send(party.user_id, {"type": "room-closed", "session_id": session_id},
                   conn_id=party.conn)  # fmt: skip
    return record


def _close(
    database: Database, principal: Principal, session_id: int, now: datetime
) -> dict[str, Any]:
    with database.transaction() as db:
        session = service.session_for(db, principal, session_id)
        if session.opened_by != principal.user_id:
            principal.require_role(*service.OPENER_ROLES)
            if not principal.covers(session.org_path):
                raise service.out_of_scope()
        if not service.close(db=db, session_id=session_id, now=now):
            raise service.session_closed()
        db.refresh(session)
        return service.session_out(db, session, participants=True)
