"""The calls' domain functions: who the caller may ring, the call's row, and its end on the
event's trail. They flush, never commit: the route owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.calls.models import CALL_OUTCOME_ZH, VideoCall
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.events.models import Event
from fengqiao.events.service import get_event
from fengqiao.events.trail import append_log
from fengqiao.org.models import OrgUnit
from fengqiao.scope import STAFF_ROLES, Principal

# Who places calls: the command room. Anyone on staff in their area may be called.
CALLER_ROLES = ("operator", "leader", "admin")


@dataclass(frozen=True)
class Party:
    id: int
    name: str


@dataclass(frozen=True)
class EventRef:
    id: int
    code: str
    title: str


def callee_for(*, db: Session, principal: Principal, callee_id: int) -> Party:
    """The person the caller wants to ring, if they may: a member of staff in the caller's area.
    404 for no such active account, 403 `callee-out-of-scope` outside the caller's area."""
    if callee_id == principal.user_id:
        raise invalid("callee_id", "you cannot call yourself", "不能呼叫自己")
    row = db.execute(
        select(User.id, User.name, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == callee_id, User.is_active.is_(True))
    ).one_or_none()
    staff = db.scalar(
        select(UserRole.user_id)
        .where(UserRole.user_id == callee_id, UserRole.role.in_(STAFF_ROLES))
        .limit(1)
    )
    if row is None or staff is None:
        raise not_found("user", "用户")
    if not principal.covers(row.path):
        raise Problem(
            403, "callee-out-of-scope", "Outside your area", "超出管辖范围",
            "this person works outside your area: you may only call people in your own area",
            "对方不在您的管辖范围内，只能呼叫本辖区的人员",
        )  # fmt: skip
    return Party(row.id, row.name)


def event_for(*, db: Session, principal: Principal, event_id: int) -> EventRef:
    """The event a call is placed from: one the caller may read (404 otherwise)."""
    event = get_event(db=db, principal=principal, event_id=event_id)
    return EventRef(event.id, event.code, event.title)


def start(
    *, db: Session, caller_id: int, callee_id: int, event_id: int | None, now: datetime
) -> VideoCall:
    """The row of a call that starts ringing."""
    call = VideoCall(caller_id=caller_id, callee_id=callee_id, event_id=event_id, started_at=now)
    db.add(call)
    db.flush()
    return call


def finish(
    *, db: Session, call_id: int, answered_at: datetime | None, outcome: str, now: datetime
) -> VideoCall | None:
    """End the call's row (once: an ended call stays as it ended) and, for a call placed from an
    event, put it on the event's trail: who called whom, when, how long, how it ended."""
    call = db.get(VideoCall, call_id, with_for_update=True)
    if call is None or call.ended_at is not None:
        return None
    call.answered_at, call.ended_at, call.outcome = answered_at, now, outcome
    if call.event_id is not None:
        event = db.scalar(select(Event).where(Event.id == call.event_id).with_for_update())
        if event is not None:
            people = select(User.id, User.name).where(User.id.in_([call.caller_id, call.callee_id]))
            names = {row.id: row.name for row in db.execute(people)}
            seconds = round((now - answered_at).total_seconds()) if answered_at else 0
            how = f"通话 {duration_zh(seconds)}" if answered_at else CALL_OUTCOME_ZH[outcome]
            if answered_at and outcome == "dropped":
                how += "，连接中断"
            # Not a step of the loop: the event's status and version stay.
            append_log(
                db, event, at=now, actor_id=call.caller_id, action="video_call",
                from_status=event.status, to_status=event.status, unit_id=None,
                note=f"{names.get(call.caller_id, '')} 呼叫 {names.get(call.callee_id, '')}：{how}",
                payload={
                    "call_id": call.id, "caller_id": call.caller_id, "callee_id": call.callee_id,
                    "started_at": call.started_at.isoformat(),
                    "answered_at": answered_at.isoformat() if answered_at else None,
                    "seconds": seconds, "outcome": outcome,
                },
            )  # fmt: skip
    db.flush()
    return call


def duration_zh(seconds: int) -> str:
    """A call's length in words: 45 秒, 2 分 5 秒, 1 小时 3 分."""
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分"
