"""The agenda a meeting starts from, drafted from the data of its area and period.

Sections in this order: FIRST the decisions of the org's earlier meetings still open or done
late since (their task progress); then the period's early warnings; the hot spots (the grids or
villages with most new events in the period, from the analytics month rollup); the overdue and
the escalated events still open; the campaigns' measures behind their expected-by-now line. The
operator edits the draft before the meeting; a stored item that names a task shows its live light.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from fengqiao.analytics.models import TABLES
from fengqiao.campaigns.service import gaps
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import OPEN_STATES_SQL, Event
from fengqiao.meetings.models import Meeting
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.service import Directory
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import local_text, owner_name, task_light
from fengqiao.warnings.models import WARNING_KIND_ZH, EarlyWarning

SECTION_TITLES = {
    "decisions": "上次会商决定事项落实情况",
    "warnings": "本期预警",
    "hotspots": "事件高发区域",
    "overdue": "超期未办结事件",
    "escalated": "升级协调事件",
    "campaigns": "专项整治进度滞后",
}
SECTION_KEYS = tuple(SECTION_TITLES)
TOP = 5  # items per data section (the section says how many there are in all)
MONTH_GRID = TABLES["month_grid"]
OPEN = text(OPEN_STATES_SQL)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def _item(text_: str, **refs: Any) -> dict[str, Any]:
    return {"text": text_, **{k: v for k, v in refs.items() if v is not None}}


def prior_decisions(db: Session, meeting: Meeting, now: datetime) -> list[TrackedTask]:
    """Decisions of the org's earlier meetings still open, or done late since the last one."""
    earlier = select(Meeting.id).where(
        Meeting.org_id == meeting.org_id, Meeting.scheduled_at < meeting.scheduled_at,
        Meeting.id != meeting.id,
    )  # fmt: skip
    last_held = db.scalar(
        select(func.max(Meeting.held_at)).where(
            Meeting.org_id == meeting.org_id, Meeting.status == "held",
            Meeting.scheduled_at < meeting.scheduled_at, Meeting.id != meeting.id,
        )
    )  # fmt: skip
    tasks = list(db.scalars(
        select(TrackedTask).where(
            TrackedTask.source_type == "meeting", TrackedTask.source_id.in_(earlier),
            TrackedTask.status != "cancelled",
        ).order_by(TrackedTask.due_at, TrackedTask.id)
    ))  # fmt: skip

    def late_since(task: TrackedTask) -> bool:
        done = task.done_at
        return done is not None and done > task.due_at and (last_held is None or done >= last_held)

    return [t for t in tasks if t.status == "open" or late_since(t)]


def _decisions(db: Session, meeting: Meeting, now: datetime) -> list[dict[str, Any]]:
    people = Directory(db)
    items = []
    for task in prior_decisions(db, meeting, now):
        light = task_light(task, now)
        state = "已办结（超期）" if task.status == "done" else {
            "green": "办理中", "yellow": "临近期限", "red": "已超期"}[light]  # fmt: skip
        items.append(_item(
            f"{task.title}（{owner_name(people, task)}，期限{local_text(task.due_at)}，{state}）",
            task=task.code,
        ))  # fmt: skip
    return items


def _area_filter(area: OrgUnit, town: Any, village: Any) -> list[ColumnElement[bool]]:
    if area.kind == "town":
        return [town == area.id]
    if area.kind == "village":
        return [village == area.id]
    if area.parent_id is None:  # the whole tree (a district-only database's district)
        return []
    # A district beside others, a city or a province: the towns of its subtree.
    towns = select(OrgUnit.id).where(
        OrgUnit.kind == "town", OrgUnit.path.startswith(area.path, autoescape=True)
    )
    return [town.in_(towns.scalar_subquery())]


def _warnings(db: Session, area: OrgUnit, start: datetime, end: datetime) -> list[dict[str, Any]]:
    where = [
        EarlyWarning.org_path.startswith(area.path, autoescape=True),
        EarlyWarning.created_at >= start, EarlyWarning.created_at < end,
    ]  # fmt: skip
    total = db.scalar(select(func.count()).select_from(EarlyWarning).where(*where)) or 0
    rows = db.scalars(
        select(EarlyWarning).where(*where).order_by(EarlyWarning.score.desc()).limit(TOP)
    )
    items = [
        _item(f"{WARNING_KIND_ZH.get(w.kind, w.kind)}：{w.message}", warning=w.id) for w in rows
    ]
    if total > len(items):
        items.append(_item(f"本期共有预警 {total} 条"))
    return items


def _hotspots(db: Session, area: OrgUnit, first: date, last: date) -> list[dict[str, Any]]:
    """Top grids (a town's or village's meeting), villages (a district's) or towns (a city's or
    province's) by new events."""
    place = {"province": MONTH_GRID.c.town_id, "city": MONTH_GRID.c.town_id,
             "district": MONTH_GRID.c.village_id}.get(area.kind, MONTH_GRID.c.grid_id)  # fmt: skip
    periods = (first.year * 100 + first.month, last.year * 100 + last.month)
    rows = db.execute(
        select(place, func.sum(MONTH_GRID.c.new).label("new"),
               func.sum(MONTH_GRID.c.open_overdue).label("late"))
        .where(MONTH_GRID.c.period.between(*periods),
               *_area_filter(area, MONTH_GRID.c.town_id, MONTH_GRID.c.village_id))
        .group_by(place).order_by(func.sum(MONTH_GRID.c.new).desc()).limit(TOP)
    ).all()  # fmt: skip
    names = dict(db.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_([r[0] for r in rows]))
    ).all())  # fmt: skip
    return [
        _item(f"{names.get(r[0], '')}：新增事件 {int(r.new)} 件，超期未办结 {int(r.late or 0)} 件")
        for r in rows
        if r.new
    ]


def _events(db: Session, area: OrgUnit, kind: str) -> list[dict[str, Any]]:
    where: list[ColumnElement[bool]] = [
        cast(ColumnElement[bool], OPEN),
        *_area_filter(area, Event.town_id, Event.village_id),
    ]
    order: Any
    if kind == "overdue":
        where.append(Event.overdue_at.is_not(None))
        order = Event.due_at
    else:
        where.append(Event.escalation_rung >= 1)
        order = Event.updated_at.desc()
    total = db.scalar(select(func.count()).select_from(Event).where(*where)) or 0
    rows = db.scalars(select(Event).where(*where).order_by(order).limit(TOP)).all()
    items = [
        _item(f"{e.code} {e.category_name}：{e.title}（{e.address or ''}）", event=e.id)
        for e in rows
    ]
    if total > len(items):
        items.append(_item(f"共 {total} 件"))
    return items


def _campaigns(db: Session, area: OrgUnit, now: datetime) -> list[dict[str, Any]]:
    return [
        _item(
            f"{g.campaign_name}·{g.measure_name}：已完成 {g.done:g}{g.unit}，"
            f"按进度应完成 {g.expected_by_now:.0f}{g.unit}，目标 {g.target:g}{g.unit}"
        )
        for g in gaps(db=db, area_path=area.path, as_of=now)
    ]


def draft_agenda(*, db: Session, meeting: Meeting, now: datetime) -> list[dict[str, Any]]:
    """The drafted agenda of a meeting: its sections in order, each with its items."""
    area = db.get(OrgUnit, meeting.org_id)
    assert area is not None
    start, end = _start(meeting.period_start), _start(meeting.period_end + timedelta(days=1))
    as_of = min(now, max(end, meeting.scheduled_at)) if meeting.status != "held" else end
    sections = {
        "decisions": _decisions(db, meeting, now),
        "warnings": _warnings(db, area, start, end),
        "hotspots": _hotspots(db, area, meeting.period_start, meeting.period_end),
        "overdue": _events(db, area, "overdue"),
        "escalated": _events(db, area, "escalated"),
        "campaigns": _campaigns(db, area, as_of),
    }
    return [
        {"key": key, "title": SECTION_TITLES[key], "items": items or [_item("无")]}
        for key, items in sections.items()
    ]
