"""The meeting rooms' domain functions: which rooms a caller reaches, opening a session with its
invitations and links, the participants' rows, the record. They flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.errors import Problem, conflict, invalid, not_found
from fengqiao.events.service import get_event
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.service import Person, drafts_for, enqueue
from fengqiao.rooms.models import RoomParticipant, RoomSession
from fengqiao.rooms.schemas import SessionIn
from fengqiao.scope import Principal
from fengqiao.warnings.models import EarlyWarning

# Who opens a session: the command rooms. Every member of staff may join one they reach.
OPENER_ROLES = ("operator", "leader", "admin")
# Who is told of an invitation: the invited room's command staff.
INVITEE_ROLES = ("operator", "leader")
ROOM_KINDS = ("province", "city", "district", "town", "village")
ROOM_SUFFIX = {
    "province": "社会治理中心", "city": "社会治理中心", "district": "社会治理中心", "town": "指挥室",
    "village": "综合信息工作室",
}  # fmt: skip
# A home above the district lists the rooms down to its districts' (not every town and village
# of a province); the rooms below are reached by invitation or from the district's own list.
ABOVE_DISTRICT_ROOMS = ("province", "city", "district")


def room_name(kind: str, name: str) -> str:
    """省/市/区社会治理中心, 镇街指挥室, 村社综合信息工作室, after the place's own name."""
    return name + ROOM_SUFFIX[kind]


def out_of_scope() -> Problem:
    return Problem(
        403, "room-out-of-scope", "Outside your area", "超出管辖范围",
        "this room lies outside your area and you were not invited to its meeting",
        "该会商室不在您的管辖范围内，且您未被邀请参加",
    )  # fmt: skip


def session_closed() -> Problem:
    return conflict(
        "session-closed", "The meeting has ended", "会商已结束",
        "this meeting has been closed; open a new one to meet again",
        "该会商已结束，如需继续请重新发起",
    )  # fmt: skip


def room_full(limit: int) -> Problem:
    return conflict(
        "room-full", "The meeting is full", f"会商人数已满（最多 {limit} 方）",
        f"a meeting holds at most {limit} parties", f"会商人数已满（最多 {limit} 方）",
    )  # fmt: skip


def get_room(db: Session, org_id: int) -> OrgUnit:
    """The org unit whose room it is; 404 for no such unit or one with no room (a grid)."""
    unit = db.get(OrgUnit, org_id)
    if unit is None or unit.kind not in ROOM_KINDS:
        raise not_found("room", "会商室")
    return unit


def open_sessions(db: Session) -> list[RoomSession]:
    """The sessions under way (few at any time: one per room at most)."""
    return list(db.scalars(select(RoomSession).where(RoomSession.closed_at.is_(None))))


def invited_paths(db: Session, session: RoomSession) -> list[str]:
    ids = [int(i) for i in session.invited_org_ids]
    return list(db.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(ids)))) if ids else []


def reaches(principal: Principal, session: RoomSession, paths: Iterable[str]) -> bool:
    """May this member of staff join: the room is in their area, or they are in (or above) a
    room the session invited."""
    if not principal.is_staff():
        return False
    return principal.covers(session.org_path) or any(principal.covers(p) for p in paths)


def rooms_for(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The rooms the caller may use: their own level's and those below in their area, with the
    session open in each, then the rooms of other areas whose open session invited them."""
    if not principal.is_staff():
        return []
    home = db.get(OrgUnit, principal.home_org_id)
    kinds = (
        ABOVE_DISTRICT_ROOMS
        if home is not None and home.kind in ("province", "city")
        else ROOM_KINDS
    )
    units = db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind.in_(kinds), OrgUnit.path.startswith(principal.home_path))
        .order_by(OrgUnit.path)
    ).all()
    live = {s.org_id: s for s in open_sessions(db)}
    rooms = [_room(u, live.get(u.id), invited=False) for u in units]
    mine = {u.id for u in units}
    for org_id, session in live.items():
        if org_id not in mine and reaches(principal, session, invited_paths(db, session)):
            rooms.append(_room(get_room(db, org_id), session, invited=True))
    people = _names(db, [s.opened_by for s in live.values()])
    for room in rooms:
        if room["session"] is not None:
            room["session"] = session_out(db, room["session"], people)
    return rooms


def _room(unit: OrgUnit, session: RoomSession | None, *, invited: bool) -> dict[str, Any]:
    return {
        "org_id": unit.id, "kind": unit.kind, "name": room_name(unit.kind, unit.name),
        "path": unit.path, "session": session, "invited": invited,
    }  # fmt: skip


def _names(db: Session, user_ids: Iterable[int]) -> dict[int, str]:
    ids = set(user_ids)
    if not ids:
        return {}
    return {r.id: r.name for r in db.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def session_out(
    db: Session, session: RoomSession, people: dict[int, str] | None = None,
    *, participants: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A session as the API gives it; with `participants`, everyone who joined and left."""
    unit = db.get(OrgUnit, session.org_id)
    invited_ids = [int(i) for i in session.invited_org_ids]
    invited = db.execute(
        select(OrgUnit.id, OrgUnit.kind, OrgUnit.name).where(OrgUnit.id.in_(invited_ids))
    ).all() if invited_ids else []  # fmt: skip
    rows: list[RoomParticipant] = []
    if participants:
        rows = list(db.scalars(
            select(RoomParticipant).where(RoomParticipant.session_id == session.id)
            .order_by(RoomParticipant.joined_at, RoomParticipant.id)
        ))  # fmt: skip
    names = dict(people or {})
    missing = {session.opened_by, *(r.user_id for r in rows)} - names.keys()
    names.update(_names(db, missing))
    return {
        "id": session.id, "org_id": session.org_id,
        "room": room_name(unit.kind, unit.name) if unit else "", "title": session.title,
        "opened_by": {"id": session.opened_by, "name": names.get(session.opened_by, "")},
        "opened_at": session.opened_at, "closed_at": session.closed_at,
        "invited": [{"org_id": r.id, "name": room_name(r.kind, r.name)} for r in invited],
        "event_ids": session.event_ids, "warning_ids": session.warning_ids,
        "participants": [party_out(r, names.get(r.user_id, "")) for r in rows],
    }  # fmt: skip


def party_out(row: RoomParticipant, name: str) -> dict[str, Any]:
    return {
        "id": row.id, "user": {"id": row.user_id, "name": name}, "joined_at": row.joined_at,
        "left_at": row.left_at, "left_how": row.left_how,
    }  # fmt: skip


def open_session(
    *, db: Session, principal: Principal, org_id: int, body: SessionIn, now: datetime
) -> tuple[RoomSession, list[int]]:
    """Open a meeting in the room of `org_id` (in the opener's area), inviting rooms of their
    area and linking events and warnings they may read; the invited rooms' command staff get an
    inbox message with the link. Returns the session and the people invited."""
    principal.require_role(*OPENER_ROLES)
    room = get_room(db, org_id)
    if not principal.covers(room.path):
        raise out_of_scope()
    if any(s.org_id == room.id for s in open_sessions(db)):
        raise conflict(
            "session-open", "A meeting is under way", "会商进行中",
            "this room has a meeting under way: join it, or close it first",
            "该会商室已有进行中的会商，请直接加入或先结束",
        )  # fmt: skip
    invited_ids = list(dict.fromkeys(body.invited_org_ids))
    invited = db.scalars(select(OrgUnit).where(OrgUnit.id.in_(invited_ids))).all()
    found = {u.id: u for u in invited}
    for org in invited_ids:
        unit = found.get(org)
        if unit is None or unit.kind not in ROOM_KINDS or org == room.id:
            raise invalid("invited_org_ids", f"{org} is no other room", "邀请的会商室不存在")
        if not principal.covers(unit.path):
            raise out_of_scope()
    event_ids = list(dict.fromkeys(body.event_ids))
    for event_id in event_ids:
        get_event(db=db, principal=principal, event_id=event_id)  # 404 outside the scope
    warning_ids = list(dict.fromkeys(body.warning_ids))
    for warning_id in warning_ids:
        warning = db.get(EarlyWarning, warning_id)
        if warning is None or not principal.covers(warning.org_path):
            raise not_found("warning", "预警")
    session = RoomSession(
        org_id=room.id, org_path=room.path, title=body.title.strip(),
        opened_by=principal.user_id, opened_at=now, closed_at=None,
        invited_org_ids=invited_ids, event_ids=event_ids, warning_ids=warning_ids,
    )  # fmt: skip
    db.add(session)
    db.flush()
    people = _invitees(db, invited_ids, exclude=principal.user_id)
    payload = {
        "title": session.title, "room": room_name(room.kind, room.name),
        "opener": principal.name, "path": f"/rooms/{room.id}",
    }  # fmt: skip
    drafts = drafts_for(
        people, channels=("app",), template="room_invite", payload=payload,
        key=f"room_invite:{session.id}",
    )  # fmt: skip
    enqueue(db, drafts, now=now)
    return session, [p.user_id for p in people if p.user_id is not None]


def _invitees(db: Session, org_ids: list[int], *, exclude: int) -> list[Person]:
    if not org_ids:
        return []
    rows = db.execute(
        select(User.id, User.name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.home_org_id.in_(org_ids), User.is_active.is_(True),
            UserRole.role.in_(INVITEE_ROLES), User.id != exclude,
        )
        .distinct()
        .order_by(User.id)
    ).all()  # fmt: skip
    return [Person(user_id=r.id, name=r.name) for r in rows]


def session_for(db: Session, principal: Principal, session_id: int) -> RoomSession:
    """A session the caller reaches (404 for none; 403 `room-out-of-scope` otherwise)."""
    session = db.get(RoomSession, session_id)
    if session is None:
        raise not_found("meeting", "会商")
    if not reaches(principal, session, invited_paths(db, session)):
        raise out_of_scope()
    return session


def join(*, db: Session, session_id: int, user_id: int, now: datetime) -> RoomParticipant:
    row = RoomParticipant(session_id=session_id, user_id=user_id, joined_at=now)
    db.add(row)
    db.flush()
    return row


def leave(*, db: Session, participant_id: int, how: str, now: datetime) -> None:
    """A party's leaving (once: a row that left stays as it left)."""
    row = db.get(RoomParticipant, participant_id, with_for_update=True)
    if row is not None and row.left_at is None:
        row.left_at, row.left_how = now, how
        db.flush()


def close(*, db: Session, session_id: int, now: datetime) -> bool:
    """Close the session and the stays still open; False when it was closed already."""
    session = db.get(RoomSession, session_id, with_for_update=True)
    if session is None or session.closed_at is not None:
        return False
    session.closed_at = now
    for row in db.scalars(
        select(RoomParticipant).where(
            RoomParticipant.session_id == session_id, RoomParticipant.left_at.is_(None)
        )
    ):
        row.left_at, row.left_how = now, "closed"
    db.flush()
    return True


def past_sessions(
    *, db: Session, principal: Principal, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The sessions held in rooms of the caller's area, newest first."""
    if not principal.is_staff():
        return [], 0
    query = select(RoomSession).where(RoomSession.org_path.startswith(principal.home_path))
    total = db.scalar(query.with_only_columns(func.count(RoomSession.id))) or 0
    rows = db.scalars(
        query.order_by(RoomSession.opened_at.desc(), RoomSession.id.desc())
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    people = _names(db, [r.opened_by for r in rows])
    return [session_out(db, r, people) for r in rows], total
