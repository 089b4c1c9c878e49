"""Alarms that cannot be missed: which events are alarms, which of them still wait for 接警 in a
caller's area, taking one (接警), and climbing the unanswered ones to the district.

An alarm is an urgent event (a grid worker's one-click alarm, an urgent hotline call) or an event
an IoT device filed. It waits, shown as a dialog on every command-room screen whose area holds
it, while it is open, less than a day old (`WINDOW`) and nobody has taken it; taking it is on the
event's trail with who and when. One still waiting after `alarm_climb_minutes` climbs to the
district command room: its leaders and operators are told, the climb is on the trail, and the
dialogs say so (see docs/pages.md, "Alarms").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, or_, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.command.models import AlarmState
from fengqiao.db import Database
from fengqiao.errors import conflict
from fengqiao.events.escalation import message_payload
from fengqiao.events.models import OPEN_STATES, Event
from fengqiao.events.scope import event_scope
from fengqiao.events.trail import append_log
from fengqiao.iot.models import Device, IotFold
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.service import Directory, drafts_for, enqueue
from fengqiao.scope import Principal, mask_phone

log = logging.getLogger("fengqiao.command")

# How long an unanswered alarm keeps its dialog open (the situation panel's alarm list spans the
# same day); older ones are in the event list, no longer in everyone's way.
WINDOW = timedelta(hours=24)
# Most alarms a dialog lists at once (an IoT storm files one event per device and class).
MOST_WAITING = 100
CLIMB_TO_ZH = "区指挥中心"
_NOT_DIALLED = re.compile(r"[^0-9+]")


def alarm_clause() -> ColumnElement[bool]:
    """Events that are alarms: urgent ones and those an IoT device filed."""
    return or_(Event.urgent.is_(True), Event.source == "iot")


def is_alarm(event: Event) -> bool:
    return bool(event.urgent) or event.source == "iot"


def _waiting(principal: Principal | None, now: datetime, *columns: Any) -> Select[Any]:
    """SELECT `columns` of the alarms waiting for 接警 (in `principal`'s area, or everywhere),
    oldest first. The area's (…, created_at, id) index bounds it to the last day's events."""
    conditions: list[Any] = [
        Event.created_at >= now - WINDOW,
        alarm_clause(),
        # Qualified (the open-states text is not): the dialog's read joins IoT folds, with a status.
        Event.status.in_(OPEN_STATES),
        AlarmState.acked_at.is_(None),
    ]
    if principal is not None:
        conditions.append(event_scope(principal))
    return (
        select(*columns)
        .outerjoin(AlarmState, AlarmState.event_id == Event.id)
        .where(*conditions)
        .order_by(Event.created_at, Event.id)
    )


_SUMMARY = (
    Event.id, Event.code, Event.title, Event.category_name, Event.created_at, Event.lat,
    Event.lng, Event.status, Event.address, Event.town_id, Event.source, Event.urgent,
    AlarmState.climbed_at,
)  # fmt: skip


def _town_names(db: Session) -> dict[int, str]:
    return dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "town")).all())


def waiting(db: Session, principal: Principal, now: datetime) -> list[dict[str, Any]]:
    """The alarms waiting for 接警 in the caller's area, as the live stream sends them (the
    one-map's alarm list reads the same fields): no one's phone number."""
    rows = db.execute(_waiting(principal, now, *_SUMMARY).limit(MOST_WAITING)).all()
    if not rows:
        return []
    towns = _town_names(db)
    return [
        {
            "id": r.id, "code": r.code, "title": r.title, "category_name": r.category_name,
            "created_at": r.created_at, "lat": r.lat, "lng": r.lng, "status": r.status,
            "address": r.address, "town": towns.get(r.town_id, ""), "source": r.source,
            "urgent": bool(r.urgent), "climbed": r.climbed_at is not None,
        }
        for r in rows
    ]  # fmt: skip


def waiting_in_full(db: Session, principal: Principal, now: datetime) -> list[dict[str, Any]]:
    """The alarms waiting for 接警 in the caller's area, with what the dialog shows: who reported
    it and how to call them back (a device's maintaining unit for an IoT alarm), the grid and the
    place. A reporter's number is whole for the roles that see numbers, masked for the others
    (and then not dialable); each whole one is noted in the personal-data access log."""
    rows = db.execute(
        _waiting(
            principal, now, *_SUMMARY, Event.village_id, Event.grid_id, Event.reporter_id,
            Event.contact_phone, User.name.label("reporter_name"),
            User.phone.label("reporter_phone"), Device.name.label("device_name"),
            Device.code.label("device_code"), Unit.name.label("device_unit"),
            Unit.duty_phone.label("unit_duty_phone"), Unit.phone.label("unit_phone"),
        )
        .join(User, User.id == Event.reporter_id)
        .outerjoin(IotFold, IotFold.event_id == Event.id)
        .outerjoin(Device, Device.id == IotFold.device_id)
        .outerjoin(Unit, Unit.id == Device.unit_id)
        .limit(MOST_WAITING)
    ).all()  # fmt: skip
    if not rows:
        return []
    org_ids = {i for r in rows for i in (r.town_id, r.village_id, r.grid_id)}
    names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(org_ids))).all())
    return [
        {
            "id": r.id, "code": r.code, "title": r.title, "category_name": r.category_name,
            "source": r.source, "urgent": bool(r.urgent), "status": r.status,
            "created_at": r.created_at, "lat": r.lat, "lng": r.lng, "address": r.address,
            "town": {"id": r.town_id, "name": names.get(r.town_id, "")},
            "village": {"id": r.village_id, "name": names.get(r.village_id, "")},
            "grid": {"id": r.grid_id, "name": names.get(r.grid_id, "")},
            "reporter": _reporter(r, principal), "climbed_at": r.climbed_at,
        }
        for r in rows
    ]  # fmt: skip


def _reporter(row: Any, principal: Principal) -> dict[str, Any]:
    """Who raised the alarm and the number to call back: the person, or for a device its name
    and the duty phone of the unit that maintains it (a unit's number is not personal data)."""
    if row.device_name is not None:
        phone = row.unit_duty_phone or row.unit_phone
        return {
            "name": f"{row.device_name}（{row.device_code}）",
            "unit": row.device_unit,
            "phone": phone,
            "tel": _tel(phone),
        }
    if row.contact_phone:
        stored, subject, field = row.contact_phone, ("event", row.id), "contact_phone"
    else:
        stored, subject, field = row.reporter_phone, ("user_account", row.reporter_id), "phone"
    shown = mask_phone(stored, principal, subject=subject, field=field)
    return {
        "name": row.reporter_name,
        "unit": None,
        "phone": shown,
        "tel": _tel(shown) if shown and shown == stored else None,
        "user_id": row.reporter_id,
    }


def _tel(phone: str | None) -> str | None:
    digits = _NOT_DIALLED.sub("", phone or "")
    return f"tel:{digits}" if digits else None


# --- taking an alarm (接警) -------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """Who took an alarm and when; `already` when someone had taken it before this request."""

    event_id: int
    acked_at: datetime
    acked_by: int
    acked_by_name: str
    climbed_at: datetime | None
    already: bool


def acknowledge(*, db: Session, event: Event, principal: Principal, now: datetime) -> Taken:
    """接警: the caller takes the alarm, on the event's trail; every dialog showing it closes (the
    live stream sees it leave the waiting list). Taken twice, the first one stands. `event` must
    be locked by the caller (its trail grows)."""
    if not is_alarm(event):
        raise conflict(
            "not-an-alarm", "Not an alarm", "不是报警",
            f"event {event.code} is neither urgent nor an IoT alarm: there is nothing to take",
            f"事件 {event.code} 不是紧急事件或物联告警，无需接警",
        )  # fmt: skip
    state = db.get(AlarmState, event.id)
    if state is not None and state.acked_at is not None and state.acked_by is not None:
        return Taken(event.id, state.acked_at, state.acked_by, _name(db, state.acked_by),
                     state.climbed_at, already=True)  # fmt: skip
    if state is None:
        state = AlarmState(event_id=event.id, created_at=now)
        db.add(state)
    state.acked_at, state.acked_by = now, principal.user_id
    waited = max(0, round((now - event.created_at).total_seconds()))
    # Not a step of the loop: the event's version stays, so a page holding it can still act.
    append_log(
        db, event, at=now, actor_id=principal.user_id, action="alarm_ack",
        from_status=event.status, to_status=event.status, unit_id=None,
        note=f"接警（报警后 {_duration_zh(waited)}）",
        payload={"waited_seconds": waited, "climbed": state.climbed_at is not None},
    )  # fmt: skip
    db.flush()
    return Taken(event.id, now, principal.user_id, principal.name, state.climbed_at, False)


def _name(db: Session, user_id: int) -> str:
    return db.scalar(select(User.name).where(User.id == user_id)) or ""


def _duration_zh(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} 秒"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)} 分钟"
    return f"{minutes / 60:.1f} 小时"


def taken(db: Session, event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Who took each of these alarms, for the live stream's `ack` (absent: not taken, the alarm
    left the waiting list because its event closed or its day passed)."""
    if not event_ids:
        return {}
    rows = db.execute(
        select(AlarmState.event_id, AlarmState.acked_at, User.name)
        .join(User, User.id == AlarmState.acked_by)
        .where(AlarmState.event_id.in_(event_ids), AlarmState.acked_at.is_not(None))
    ).all()
    return {r.event_id: {"at": r.acked_at, "by": r.name} for r in rows}


# --- climbing to the district -----------------------------------------------------------------


def due_to_climb(db: Session, now: datetime, *, after: timedelta, limit: int) -> list[int]:
    """Alarms nobody took within `after` that have not climbed yet, oldest first."""
    query = _waiting(None, now, Event.id).where(
        Event.created_at <= now - after, AlarmState.climbed_at.is_(None)
    )
    return list(db.scalars(query.limit(limit)))


def climb(*, db: Session, event_id: int, now: datetime, minutes: float, people: Directory) -> bool:
    """Climb one unanswered alarm to the district command room: the climb on the trail, a
    message (SMS and app) to the district's operators and leaders. False when it was taken,
    closed or climbed meanwhile (another worker, or an operator a moment ago)."""
    event = db.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None or event.status not in OPEN_STATES or not is_alarm(event):
        return False
    state = db.get(AlarmState, event_id)
    if state is not None and (state.acked_at is not None or state.climbed_at is not None):
        return False
    if state is None:
        state = AlarmState(event_id=event_id, created_at=now)
        db.add(state)
    state.climbed_at = now
    reason = f"报警 {minutes:g} 分钟内无人接警"
    append_log(
        db, event, at=now, actor_id=None, action="alarm_climb", from_status=event.status,
        to_status=event.status, unit_id=None, note=f"{reason}，已升级至{CLIMB_TO_ZH}",
        payload={"minutes": minutes, "to": "district"},
    )  # fmt: skip
    district_id = db.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == event.town_id))
    told = []
    if district_id is not None:
        told = people.org_people(district_id, "operator") + people.org_people(district_id, "leader")
    payload = message_payload(people, event) | {"rung": CLIMB_TO_ZH, "reason": reason}
    drafts = drafts_for(
        told, channels=("app", "sms"), template="alarm_climb", payload=payload,
        key=f"alarm_climb:{event_id}", event_id=event_id,
    )  # fmt: skip
    enqueue(db, drafts, now=now)
    db.flush()
    return True


def climb_unanswered(
    database: Database, now: datetime, *, minutes: float, batch: int
) -> dict[str, int]:
    """The worker's `alarms` job: climb every alarm nobody took within `minutes`, each in its own
    transaction, so one that fails is logged and the others still climb."""
    with database.session() as db:
        due = due_to_climb(db, now, after=timedelta(minutes=minutes), limit=batch)
    climbed = failed = 0
    for event_id in due:
        try:
            with database.transaction() as db:
                if climb(db=db, event_id=event_id, now=now, minutes=minutes, people=Directory(db)):
                    climbed += 1
        except Exception:  # one bad row never stops the batch
            log.exception("alarm %s could not climb", event_id)
            failed += 1
    return {"climbed": climbed, "failed": failed}


# --- a seeded history -------------------------------------------------------------------------


def settle_history(db: Session, *, until: datetime, delay: timedelta = timedelta(minutes=2)) -> int:
    """Mark the alarms of a generated history (the demo's events, filed in bulk before `until`)
    as taken by their town's operator `delay` after filing, so a fresh demo opens on a command
    room that has answered its past alarms (and the worker does not climb them all at once).
    Only the last day's can still wait; their trails, written in bulk, get no 接警 row."""
    rows = db.execute(
        select(Event.id, Event.created_at, Event.town_id)
        .outerjoin(AlarmState, AlarmState.event_id == Event.id)
        .where(
            Event.created_at >= until - WINDOW,
            Event.created_at < until,
            alarm_clause(),
            AlarmState.event_id.is_(None),
        )
    ).all()
    if not rows:
        return 0
    towns = {r.town_id for r in rows}
    operators: dict[int, int] = {}
    for user_id, home in db.execute(
        select(User.id, User.home_org_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "operator", User.home_org_id.in_(towns), User.is_active.is_(True))
        .order_by(User.id)
    ):
        operators.setdefault(home, user_id)
    db.execute(
        insert(AlarmState),
        [
            {
                "event_id": r.id, "acked_at": r.created_at + delay,
                "acked_by": operators.get(r.town_id), "climbed_at": None,
                "created_at": r.created_at + delay,
            }
            for r in rows
        ],
    )  # fmt: skip
    return len(rows)
