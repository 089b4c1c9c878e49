"""The meetings' domain functions: arranging a meeting of an org in scope with its attendees,
drafting and editing its agenda, holding it (minutes, who was there, decisions as tracked tasks),
cancelling it, the lists, and the yearly figures the annual assessment reads. They flush, never
commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import (
    FieldError,
    Problem,
    check_version,
    conflict,
    field_zh,
    invalid,
    not_found,
)
from fengqiao.meetings.agenda import draft_agenda
from fengqiao.meetings.models import (
    MEETING_LEVELS,
    MEETING_STATUS_ZH,
    Meeting,
    MeetingAttendee,
    MeetingLog,
)
from fengqiao.meetings.rules import MISSED_GRACE
from fengqiao.meetings.schemas import DecisionIn, MeetingIn, MeetingPatch
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal, in_scope
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import create_task, stored_calendar, town_of

WRITER_ROLES = ("operator", "leader", "admin")
READER_ROLES = ("operator", "leader", "admin")
# A meeting's level is its org's kind; a city or province home holds city/province meetings
# (no regular schedule above the district: meetings/rules.py).
LEVEL_OF_KIND = {kind: kind for kind in MEETING_LEVELS}


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def _out_of_scope() -> Problem:
    return Problem(
        403, "meeting-out-of-scope", "Outside your area", "超出管辖范围",
        "this org lies outside your scope", "该区域不在您的管辖范围内",
    )  # fmt: skip


def area_of(db: Session, principal: Principal, org_id: int, field: str = "org_id") -> OrgUnit:
    """The meeting's org: a district, town or village in the caller's scope."""
    area = db.get(OrgUnit, org_id)
    if area is None or area.kind not in LEVEL_OF_KIND:
        raise invalid(field, f"no province, city, district, town or village with id {org_id}",
                      f"省、市、区、镇街或村社 {org_id} 不存在")  # fmt: skip
    if not principal.covers(area.path):
        raise _out_of_scope()
    return area


def _related(path: str, area_path: str) -> bool:
    """Inside the area, or above it (a district leader at a town's meeting)."""
    return path.startswith(area_path) or area_path.startswith(path)


def check_attendees(db: Session, area: OrgUnit, user_ids: Sequence[int], field: str) -> list[int]:
    """Active people whose home lies in the meeting's area or above it; others are refused."""
    wanted = list(dict.fromkeys(user_ids))
    rows = dict(db.execute(
        select(User.id, OrgUnit.path).join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id.in_(wanted), User.is_active.is_(True))
    ).all())  # fmt: skip
    for index, user_id in enumerate(wanted):
        path = rows.get(user_id)
        if path is None:
            raise invalid(f"{field}[{index}]", f"no active user with id {user_id}",
                          f"人员 {user_id} 不存在")  # fmt: skip
        if not _related(path, area.path):
            raise invalid(f"{field}[{index}]", "this person works outside the meeting's area",
                          "该人员不属于本次会商的区域")  # fmt: skip
    return wanted


def trail(db: Session, meeting: Meeting, action: str, actor_id: int | None, now: datetime,
           note: str | None = None) -> None:  # fmt: skip
    db.add(MeetingLog(meeting_id=meeting.id, at=now, actor_id=actor_id, action=action,
                      note=note))  # fmt: skip


def _set_attendees(db: Session, meeting: Meeting, user_ids: Sequence[int]) -> None:
    current = {a.user_id: a for a in db.scalars(
        select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id))}  # fmt: skip
    for user_id, row in current.items():
        if user_id not in user_ids:
            db.delete(row)
    for user_id in user_ids:
        if user_id not in current:
            db.add(MeetingAttendee(meeting_id=meeting.id, user_id=user_id))


def default_period(scheduled: datetime) -> tuple[date, date]:
    """A meeting outside the rules reviews the 30 days before it."""
    end = local_day(scheduled) - timedelta(days=1)
    return end - timedelta(days=29), end


def new_meeting(
    *, db: Session, area: OrgUnit, title: str, scheduled_at: datetime, place: str,
    room_org_id: int | None, period: tuple[date, date], regular: bool, period_key: str | None,
    actor_id: int | None, now: datetime, draft: bool = True,
) -> Meeting:  # fmt: skip
    """Store a meeting (the caller has checked the area and the people); its agenda drafted."""
    meeting = Meeting(
        org_id=area.id, org_path=area.path, town_id=town_of(area), level=LEVEL_OF_KIND[area.kind],
        title=title.strip(), scheduled_at=scheduled_at, missed_after=scheduled_at + MISSED_GRACE,
        place=place.strip(), room_org_id=room_org_id, regular=regular, period_key=period_key,
        period_start=period[0], period_end=period[1], agenda=[], status="scheduled",
        created_by=actor_id, created_at=now, version=1,
    )  # fmt: skip
    db.add(meeting)
    db.flush()
    if draft:
        meeting.agenda = draft_agenda(db=db, meeting=meeting, now=now)
        meeting.agenda_drafted_at = now
    trail(db, meeting, "create" if actor_id else "schedule", actor_id, now)
    return meeting


def _room(db: Session, principal: Principal, room_id: int | None) -> int | None:
    if room_id is None:
        return None
    return area_of(db, principal, room_id, "room_id").id


def create_meeting(*, db: Session, principal: Principal, data: MeetingIn,
                   now: datetime) -> Meeting:  # fmt: skip
    """Arrange a meeting of an org in scope; its agenda is drafted at once."""
    principal.require_role(*WRITER_ROLES)
    area = area_of(db, principal, data.org_id)
    attendees = check_attendees(db, area, data.attendee_ids, "attendee_ids")
    period = (
        (data.period_start, data.period_end)
        if data.period_start and data.period_end else default_period(data.scheduled_at)
    )  # fmt: skip
    meeting = new_meeting(
        db=db, area=area, title=data.title, scheduled_at=data.scheduled_at, place=data.place,
        room_org_id=_room(db, principal, data.room_id), period=period, regular=False,
        period_key=None, actor_id=principal.user_id, now=now,
    )  # fmt: skip
    _set_attendees(db, meeting, attendees)
    db.flush()
    return meeting


def get_meeting(db: Session, principal: Principal, meeting_id: int) -> Meeting:
    """A meeting of the caller's area; 404 for none or one outside it."""
    principal.require_role(*READER_ROLES)
    meeting = db.get(Meeting, meeting_id)
    if meeting is None or not principal.covers(meeting.org_path):
        raise not_found("meeting", "会商")
    return meeting


def _wrong_state(meeting: Meeting) -> Problem:
    word = MEETING_STATUS_ZH[meeting.status]
    return conflict(
        "meeting-wrong-state", "Not in this state", f"会商{word}",
        f"the meeting is {meeting.status}", f"该会商{word}，不能进行此操作",
    )  # fmt: skip


def _not_yet(meeting: Meeting) -> Problem:
    """A meeting is recorded once its time has come; held earlier, it is rescheduled first."""
    when = meeting.scheduled_at.astimezone(LOCAL_TZ)
    reason = (f"the meeting is scheduled for {when:%Y-%m-%d %H:%M}; if it was held earlier, "
              "change its scheduled_at first")  # fmt: skip
    reason_zh = (f"该会商定于 {when:%Y-%m-%d %H:%M} 召开，尚不能记录纪要；"
                 "如已提前召开，请先修改会商时间")  # fmt: skip
    problem = conflict(
        "meeting-not-yet", "The meeting's time has not come", "会商尚未到召开时间",
        f"scheduled_at: {reason}", f"{field_zh('scheduled_at')}：{reason_zh}",
    )  # fmt: skip
    problem.errors = [FieldError("scheduled_at", reason, reason_zh)]
    return problem


def _writable(principal: Principal, meeting: Meeting, version: int, *states: str) -> None:
    principal.require_role(*WRITER_ROLES)
    check_version(version, meeting.version, what="meeting", what_zh="会商")
    if meeting.status not in states:
        raise _wrong_state(meeting)


def edit_meeting(*, db: Session, principal: Principal, meeting: Meeting, data: MeetingPatch,
                 now: datetime) -> Meeting:  # fmt: skip
    """Title, time, place, room or attendees of a meeting not yet held."""
    _writable(principal, meeting, data.version, "scheduled", "missed")
    given = data.model_dump(exclude_unset=True, exclude={"version"})
    area = db.get(OrgUnit, meeting.org_id)
    assert area is not None
    if "attendee_ids" in given and given["attendee_ids"] is not None:
        _set_attendees(
            db, meeting, check_attendees(db, area, given["attendee_ids"], "attendee_ids")
        )
    if "room_id" in given:
        meeting.room_org_id = _room(db, principal, given["room_id"])
    if given.get("title"):
        meeting.title = given["title"].strip()
    if given.get("place") is not None:
        meeting.place = given["place"].strip()
    if given.get("scheduled_at") is not None:
        meeting.scheduled_at = given["scheduled_at"]
        meeting.missed_after = meeting.scheduled_at + MISSED_GRACE
    meeting.version += 1
    trail(db, meeting, "edit", principal.user_id, now)
    db.flush()
    return meeting


def set_agenda(*, db: Session, principal: Principal, meeting: Meeting,
               sections: list[dict[str, Any]], version: int, now: datetime) -> Meeting:  # fmt: skip
    """The operator's edit of the agenda (before the meeting, or while recording it)."""
    _writable(principal, meeting, version, "scheduled", "missed")
    meeting.agenda = [
        {"key": s["key"], "title": s["title"].strip(),
         "items": [{k: v for k, v in i.items() if v is not None} for i in s["items"]]}
        for s in sections
    ]  # fmt: skip
    meeting.version += 1
    trail(db, meeting, "agenda", principal.user_id, now)
    db.flush()
    return meeting


def check_decisions(db: Session, meeting: Meeting, decisions: Sequence[DecisionIn]) -> None:
    """Every decision has an owner in or above the meeting's area: checked before any is made."""
    for index, d in enumerate(decisions):
        field = f"decisions[{index}]"
        if d.owner_unit_id is None and d.owner_user_id is None:
            raise invalid(f"{field}.owner", "a decision needs an owner: a unit or a person",
                          "决定事项须指定责任单位或责任人")  # fmt: skip
        if d.owner_unit_id is not None:
            path = db.scalar(select(OrgUnit.path).join(Unit, Unit.org_unit_id == OrgUnit.id)
                             .where(Unit.id == d.owner_unit_id, Unit.active.is_(True)))  # fmt: skip
            if path is None or not _related(path, meeting.org_path):
                raise invalid(f"{field}.owner_unit_id", "no active unit of the meeting's area",
                              "责任单位不存在或不属于本次会商的区域")  # fmt: skip
        if d.owner_user_id is not None:
            area = db.get(OrgUnit, meeting.org_id)
            assert area is not None
            check_attendees(db, area, [d.owner_user_id], f"{field}.owner_user_id")


def make_decisions(*, db: Session, meeting: Meeting, decisions: Sequence[DecisionIn],
                   actor_id: int | None, now: datetime) -> list[TrackedTask]:  # fmt: skip
    """Each decision becomes a tracked task of the meeting's org (kind 'decision')."""
    calendar = stored_calendar(db)
    tasks = [
        create_task(
            db=db, kind="decision", source_type="meeting", source_id=meeting.id, title=d.title,
            detail=d.detail, org_id=meeting.org_id, owner_unit_id=d.owner_unit_id,
            owner_user_id=d.owner_user_id, limit=d.limit_days, limit_unit="working_days",
            evidence_required=d.evidence_required, actor_id=actor_id, now=now, calendar=calendar,
        )
        for d in decisions
    ]  # fmt: skip
    if tasks:
        trail(db, meeting, "decide", actor_id, now, "、".join(t.code for t in tasks)[:500])
    return tasks


def hold_meeting(*, db: Session, principal: Principal, meeting: Meeting, minutes: str,
                 present_ids: Sequence[int], decisions: Sequence[DecisionIn], version: int,
                 now: datetime) -> Meeting:  # fmt: skip
    """Record the minutes, who was there and the decisions: the meeting is held."""
    _writable(principal, meeting, version, "scheduled", "missed")
    if now < meeting.scheduled_at:
        raise _not_yet(meeting)
    area = db.get(OrgUnit, meeting.org_id)
    assert area is not None
    present = check_attendees(db, area, present_ids, "present_ids")
    check_decisions(db, meeting, decisions)
    asked = {a.user_id: a for a in db.scalars(
        select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id))}  # fmt: skip
    for user_id in present:
        if user_id not in asked:
            asked[user_id] = MeetingAttendee(meeting_id=meeting.id, user_id=user_id)
            db.add(asked[user_id])
    for user_id, row in asked.items():
        row.present = user_id in present
    meeting.minutes = minutes.strip()
    meeting.status, meeting.held_at, meeting.held_by = "held", now, principal.user_id
    meeting.version += 1
    trail(db, meeting, "hold", principal.user_id, now)
    make_decisions(db=db, meeting=meeting, decisions=decisions, actor_id=principal.user_id, now=now)
    db.flush()
    return meeting


def add_decisions(*, db: Session, principal: Principal, meeting: Meeting,
                  decisions: Sequence[DecisionIn], version: int, now: datetime) -> Meeting:  # fmt: skip
    """More decisions of a held meeting (the minutes settled after the meeting)."""
    _writable(principal, meeting, version, "held")
    check_decisions(db, meeting, decisions)
    make_decisions(db=db, meeting=meeting, decisions=decisions, actor_id=principal.user_id, now=now)
    meeting.version += 1
    db.flush()
    return meeting


def cancel_meeting(*, db: Session, principal: Principal, meeting: Meeting, reason: str,
                   version: int, now: datetime) -> Meeting:  # fmt: skip
    """Call a meeting off, with the reason (a cancelled regular meeting is not counted)."""
    _writable(principal, meeting, version, "scheduled", "missed")
    meeting.status, meeting.cancel_reason = "cancelled", reason.strip()
    meeting.version += 1
    trail(db, meeting, "cancel", principal.user_id, now, meeting.cancel_reason)
    db.flush()
    return meeting


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """A local month "2026-12" as its UTC start and end."""
    year, number = (int(p) for p in month.split("-"))
    start = datetime.combine(date(year, number, 1), time(0), tzinfo=LOCAL_TZ)
    following = date(year + number // 12, number % 12 + 1, 1)
    return start, datetime.combine(following, time(0), tzinfo=LOCAL_TZ)


def list_meetings(
    *, db: Session, principal: Principal, month: str | None, level: str | None,
    status: str | None, org: int | None, offset: int, limit: int,
) -> tuple[list[Meeting], int]:  # fmt: skip
    """The meetings of orgs in the caller's scope, by time."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [in_scope(principal, Meeting.org_path)]
    if month:
        start, end = month_bounds(month)
        where += [Meeting.scheduled_at >= start, Meeting.scheduled_at < end]
    if level:
        where.append(Meeting.level == level)
    if status:
        where.append(Meeting.status == status)
    if org is not None:
        where.append(Meeting.org_id == org)
    total = db.scalar(select(func.count()).select_from(Meeting).where(*where)) or 0
    rows = db.scalars(
        select(Meeting).where(*where).order_by(Meeting.scheduled_at, Meeting.id)
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(rows), total


# --- the annual assessment's inputs -------------------------------------------------------------


def _year(year: int) -> tuple[datetime, datetime]:
    return (datetime(year, 1, 1, tzinfo=LOCAL_TZ), datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ))


def meetings_held(*, db: Session, year: int) -> dict[int, tuple[int, int]]:
    """Town org id → (held, scheduled) of the town-level regular meetings of the year (local)
    whose time has come: held or missed. One still ahead (or within its grace) counts for
    neither, nor does a cancelled one; only towns with such meetings appear."""
    start, end = _year(year)
    rows = db.execute(
        select(Meeting.org_id, Meeting.status, func.count())
        .where(Meeting.level == "town", Meeting.regular.is_(True),
               Meeting.status.in_(("held", "missed")),
               Meeting.scheduled_at >= start, Meeting.scheduled_at < end)
        .group_by(Meeting.org_id, Meeting.status)
    ).all()  # fmt: skip
    out: dict[int, tuple[int, int]] = {}
    for town, state, count in rows:
        held, scheduled = out.get(town, (0, 0))
        out[town] = (held + (count if state == "held" else 0), scheduled + count)
    return out


def decisions_on_time(*, db: Session, year: int) -> dict[int, float]:
    """Town → share (0..1) of the year's decision tasks (due in the year, not cancelled) that
    were done by their due time; only towns with such tasks appear."""
    start, end = _year(year)
    on_time = and_(TrackedTask.status == "done", TrackedTask.done_at <= TrackedTask.due_at)
    rows = db.execute(
        select(TrackedTask.town_id, func.count(),
               func.sum(case((on_time, 1), else_=0)))
        .where(TrackedTask.kind == "decision", TrackedTask.status != "cancelled",
               TrackedTask.town_id.is_not(None), TrackedTask.due_at >= start,
               TrackedTask.due_at < end)
        .group_by(TrackedTask.town_id)
    ).all()  # fmt: skip
    return {town: float(done or 0) / count for town, count, done in rows if town and count}


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: n + 1]) + "/" for n in range(len(parts))]


def candidates(db: Session, meeting: Meeting) -> dict[str, list[dict[str, Any]]]:
    """Who may attend and own decisions: the units and staff of the area and the orgs above it."""
    inside_or_above = [
        OrgUnit.path.startswith(meeting.org_path, autoescape=True),
        OrgUnit.path.in_(_ancestor_paths(meeting.org_path)),
    ]
    units = db.execute(
        select(Unit.id, Unit.name, OrgUnit.name.label("org"))
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.active.is_(True), or_(*inside_or_above))
        .order_by(OrgUnit.path, Unit.name).limit(300)
    ).all()  # fmt: skip
    roles = ["operator", "leader", "handler", "unit_leader", "grid_leader"]
    if meeting.level == "village":
        roles.append("grid_worker")
    users = db.execute(
        select(User.id, User.name, OrgUnit.name.label("org"))
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.is_active.is_(True), or_(*inside_or_above),
               User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
        .order_by(OrgUnit.path, User.name).limit(300)
    ).all()  # fmt: skip
    return {
        "units": [{"id": u.id, "name": u.name, "org": u.org} for u in units],
        "users": [{"id": u.id, "name": u.name, "org": u.org} for u in users],
    }
