"""Meetings as the API shows them: names and decision lights resolved for a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.meetings.agenda import draft_agenda
from fengqiao.meetings.models import (
    MEETING_ACTION_ZH,
    MEETING_LEVEL_ZH,
    MEETING_STATUS_ZH,
    Meeting,
    MeetingAttendee,
    MeetingLog,
)
from fengqiao.meetings.service import WRITER_ROLES
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.tasks.answers import TASK_LIGHT_ZH, tasks_out
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import task_light


def _named(names: dict[int, str], key: int | None) -> dict[str, Any] | None:
    return None if key is None else {"id": key, "name": names.get(key, "")}


def meetings_out(db: Session, principal: Principal, meetings: Sequence[Meeting], now: datetime,
                 *, detail: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """The answer rows; with `detail`, attendees, the agenda with live task lights, the
    decisions (tasks) and the trail."""
    ids = [m.id for m in meetings]
    orgs = {i for m in meetings for i in (m.org_id, m.town_id, m.room_org_id) if i is not None}
    names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(orgs))).all())
    decisions: dict[int, list[TrackedTask]] = {}
    if ids:
        for task in db.scalars(select(TrackedTask).where(
                TrackedTask.source_type == "meeting", TrackedTask.source_id.in_(ids))
                .order_by(TrackedTask.id)):  # fmt: skip
            decisions.setdefault(task.source_id, []).append(task)
    rows = []
    for m in meetings:
        tasks = decisions.get(m.id, [])
        row: dict[str, Any] = {
            "id": m.id, "title": m.title, "level": m.level, "level_name": MEETING_LEVEL_ZH[m.level],
            "org": _named(names, m.org_id), "town": _named(names, m.town_id),
            "scheduled_at": m.scheduled_at, "place": m.place,
            "room": _named(names, m.room_org_id),
            # The video meeting room's page (rooms/): a link only, no rooms code here.
            "room_link": f"/rooms/{m.room_org_id}" if m.room_org_id else None,
            "regular": m.regular, "period_start": m.period_start, "period_end": m.period_end,
            "status": m.status, "status_name": MEETING_STATUS_ZH[m.status],
            "held_at": m.held_at, "missed_at": m.missed_at, "decisions_total": len(tasks),
            "decisions_red": sum(1 for t in tasks if task_light(t, now) == "red"),
            "version": m.version,
            "can_write": principal.has_any(*WRITER_ROLES) and principal.covers(m.org_path),
        }  # fmt: skip
        if detail:
            row.update(_detail(db, principal, m, tasks, now))
        rows.append(row)
    return rows


def _detail(db: Session, principal: Principal, meeting: Meeting, tasks: list[TrackedTask],
            now: datetime) -> dict[str, Any]:  # fmt: skip
    attendees = db.execute(
        select(User.id, User.name, MeetingAttendee.present)
        .join(MeetingAttendee, MeetingAttendee.user_id == User.id)
        .where(MeetingAttendee.meeting_id == meeting.id).order_by(MeetingAttendee.id)
    ).all()  # fmt: skip
    trail = list(db.scalars(
        select(MeetingLog).where(MeetingLog.meeting_id == meeting.id).order_by(MeetingLog.id)))  # fmt: skip
    actors = {s.actor_id for s in trail if s.actor_id is not None}
    actor_names = dict(db.execute(select(User.id, User.name).where(User.id.in_(actors))).all())
    drafted = bool(meeting.agenda) or meeting.agenda_drafted_at is not None
    # A meeting still to hold shows a live draft until one is saved; a past one what it had.
    live = not drafted and meeting.status in ("scheduled", "missed")
    agenda = draft_agenda(db=db, meeting=meeting, now=now) if live else meeting.agenda
    return {
        "minutes_text": meeting.minutes,
        "attendees": [{"id": a.id, "name": a.name, "present": a.present} for a in attendees],
        "agenda": with_lights(db, agenda, now),
        "agenda_stored": drafted,
        "decisions": tasks_out(db, principal, tasks, now),
        "trail": [
            {
                "at": s.at,
                "action": s.action,
                "action_name": MEETING_ACTION_ZH.get(s.action, s.action),
                "actor": _named(actor_names, s.actor_id),
                "note": s.note,
            }
            for s in trail
        ],
    }


def with_lights(db: Session, agenda: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The agenda with each item that names a task showing that task's light and status now."""
    codes = {i["task"] for s in agenda for i in s.get("items", []) if i.get("task")}
    tasks = {t.code: t for t in db.scalars(select(TrackedTask).where(TrackedTask.code.in_(codes)))}
    out = []
    for section in agenda:
        items = []
        for item in section.get("items", []):
            shown = dict(item)
            task = tasks.get(item.get("task") or "")
            if task is not None:
                light = task_light(task, now)
                shown.update(light=light, light_name=TASK_LIGHT_ZH[light], task_status=task.status)
            items.append(shown)
        out.append({**section, "items": items})
    return out
