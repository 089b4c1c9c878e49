"""The tracked tasks' domain functions: creating a task with its deadline on the working
calendar, its light, progress notes, evidence photos, completion and cancellation, and who may
see and act on it. They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import Problem, check_version, conflict, invalid, not_found
from fengqiao.events.photos import PhotoInfo
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.service import Directory, Person, drafts_for, enqueue
from fengqiao.scope import Principal, in_scope
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.deadlines import LIMIT_UNIT_ZH, Deadline, Policy, compute_deadline, light
from fengqiao.sla.models import CalendarOverride
from fengqiao.tasks.models import (
    CODE_PREFIX,
    TASK_KINDS,
    TASK_STATUS_ZH,
    TrackedTask,
    TrackedTaskPhoto,
    TrackedTaskTrail,
)

AREA_KINDS = ("province", "city", "district", "town", "village")
# Staff of the task's area who oversee it (and may close it for the owner).
OVERSEER_ROLES = ("operator", "leader", "admin")
# Who reads tasks at all: the area's staff and the owners (a unit's people, a named person).
READER_ROLES = ("operator", "leader", "admin", "handler", "unit_leader", "grid_leader",
                "grid_worker")  # fmt: skip
PHOTOS_MAX = 9  # evidence photos per task
LIGHT_CANCELLED = "grey"


def local_text(at: datetime | None) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else ""


def stored_calendar(db: Session) -> WorkCalendar:
    """The working calendar: the official one plus the stored overrides (调休, local holidays)."""
    return WorkCalendar({o.day: o.is_working for o in db.scalars(select(CalendarOverride))})


def _no_owner() -> Problem:
    return invalid(
        "owner", "a task needs an owner: a responsible unit or a person",
        "须指定责任单位或责任人",
    )  # fmt: skip


def _next_code(db: Session, kind: str, now: datetime) -> str:
    stem = f"{CODE_PREFIX[kind]}{now.astimezone(LOCAL_TZ):%Y%m%d}"
    last = db.scalar(select(func.max(TrackedTask.code)).where(TrackedTask.code.like(f"{stem}%")))
    number = int(last[len(stem) :]) + 1 if last else 1
    return f"{stem}{number:04d}"


# How many levels below the town each kind lies (the town is found from the end of the path,
# whatever stands above the district).
_BELOW_TOWN = {"town": 0, "village": 1, "grid": 2}


def town_of(area: OrgUnit) -> int | None:
    """The town an area lies in (None for a district, city or province)."""
    parts = [int(p) for p in area.path.strip("/").split("/") if p]
    below = _BELOW_TOWN.get(area.kind)
    if below is None or len(parts) <= below:
        return None
    return parts[-1 - below]


def create_task(
    *, db: Session, kind: str, source_type: str, source_id: int, title: str, detail: str,
    org_id: int, owner_unit_id: int | None, owner_user_id: int | None, limit: float,
    limit_unit: str, evidence_required: bool, actor_id: int | None, now: datetime,
    calendar: WorkCalendar | None = None, notify: bool = True,
) -> TrackedTask:  # fmt: skip
    """A new open task due `limit` `limit_unit` from `now`; its owner is told (outbox)."""
    if kind not in TASK_KINDS:
        raise invalid("kind", f"kind is one of {', '.join(TASK_KINDS)}", "事项类型不正确")
    if owner_unit_id is None and owner_user_id is None:
        raise _no_owner()
    area = db.get(OrgUnit, org_id)
    if area is None or area.kind not in AREA_KINDS:
        raise invalid("org_id", f"no province, city, district, town or village with id {org_id}",
                      f"省、市、区、镇街或村社 {org_id} 不存在")  # fmt: skip
    if owner_unit_id is not None:
        unit = db.get(Unit, owner_unit_id)
        if unit is None or not unit.active:
            raise invalid("owner_unit_id", f"no active unit with id {owner_unit_id}",
                          f"责任单位 {owner_unit_id} 不存在")  # fmt: skip
    if owner_user_id is not None:
        user = db.get(User, owner_user_id)
        if user is None or not user.is_active:
            raise invalid("owner_user_id", f"no active user with id {owner_user_id}",
                          f"责任人 {owner_user_id} 不存在")  # fmt: skip
    try:
        policy = Policy(limit=limit, unit=limit_unit)  # type: ignore[arg-type]  # checked here
    except ValueError as exc:
        raise invalid("deadline", str(exc), "办理时限不正确") from exc
    deadline = compute_deadline(start=now, policy=policy, calendar=calendar or stored_calendar(db))
    task = TrackedTask(
        code=_next_code(db, kind, now), kind=kind, source_type=source_type, source_id=source_id,
        title=title.strip(), detail=(detail or "").strip(), org_id=area.id, org_path=area.path,
        town_id=town_of(area), owner_unit_id=owner_unit_id, owner_user_id=owner_user_id,
        created_by=actor_id, created_at=now, due_at=deadline.due_at, yellow_at=deadline.yellow_at,
        remind_at=deadline.remind_at, status="open", evidence_required=evidence_required,
        version=1,
    )  # fmt: skip
    db.add(task)
    db.flush()
    trail(db, task, action="create", actor_id=actor_id, now=now, payload={
        "due_at": task.due_at.isoformat(), "limit": limit, "unit": limit_unit,
        "limit_text": f"{limit:g}{LIMIT_UNIT_ZH.get(limit_unit, '')}",
    })  # fmt: skip
    if notify:
        people = Directory(db)
        drafts = drafts_for(
            owners(people, task), channels=("app",), template="task_assigned",
            payload=message_payload(people, task), key=f"task-assigned:{task.id}",
        )  # fmt: skip
        enqueue(db, drafts, now=now)
    return task


def trail(db: Session, task: TrackedTask, *, action: str, actor_id: int | None, now: datetime,
          note: str | None = None, payload: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Append one step to the task's trail."""
    db.add(TrackedTaskTrail(task_id=task.id, at=now, actor_id=actor_id, action=action,
                            note=note, payload=payload or {}))  # fmt: skip


def deadline_of(task: TrackedTask) -> Deadline:
    return Deadline(due_at=task.due_at, yellow_at=task.yellow_at, remind_at=task.remind_at)


def task_light(task: TrackedTask, now: datetime) -> str:
    """green, yellow or red: an open task's light now, a done task's when it was done."""
    if task.status == "cancelled":
        return LIGHT_CANCELLED
    at = task.done_at if task.status == "done" and task.done_at is not None else now
    return light(deadline=deadline_of(task), now=at) or "green"


def light_clause(name: str, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause for tasks showing light `name` (as task_light computes it)."""
    at = func.coalesce(TrackedTask.done_at, now)
    live = TrackedTask.status != "cancelled"
    if name == "red":
        return and_(live, TrackedTask.due_at <= at)
    if name == "yellow":
        return and_(live, TrackedTask.yellow_at <= at, TrackedTask.due_at > at)
    if name == "green":
        return and_(live, TrackedTask.yellow_at > at)
    return TrackedTask.status == "cancelled"


# --- who ---------------------------------------------------------------------------------------


def owns(principal: Principal, task: TrackedTask) -> bool:
    """The named person, or a person of the owner unit."""
    if task.owner_user_id is not None and task.owner_user_id == principal.user_id:
        return True
    return task.owner_unit_id is not None and principal.unit_id == task.owner_unit_id


def oversees(principal: Principal, task: TrackedTask) -> bool:
    return principal.has_any(*OVERSEER_ROLES) and principal.covers(task.org_path)


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """Tasks of the caller's area, and tasks the caller (or the caller's unit) owns."""
    clauses: list[ColumnElement[bool]] = [TrackedTask.owner_user_id == principal.user_id]
    if principal.has_any(*OVERSEER_ROLES):
        clauses.append(in_scope(principal, TrackedTask.org_path))
    if principal.unit_id is not None:
        clauses.append(TrackedTask.owner_unit_id == principal.unit_id)
    return or_(*clauses)


def get_task(db: Session, principal: Principal, code: str) -> TrackedTask:
    """A task the caller may see; 404 for none or one they may not (as events do)."""
    principal.require_role(*READER_ROLES)
    task = db.scalar(select(TrackedTask).where(TrackedTask.code == code))
    if task is None or not (owns(principal, task) or oversees(principal, task)):
        raise not_found("task", "督办事项")
    return task


def _may_act(principal: Principal, task: TrackedTask) -> None:
    if not (owns(principal, task) or oversees(principal, task)):
        raise Problem(
            403, "task-not-yours", "Not your task", "不是您的督办事项",
            "only the owner or the area's command room may act on this task",
            "只有责任单位、责任人或本辖区指挥室可以办理该事项",
        )  # fmt: skip


def _open(task: TrackedTask) -> None:
    if task.status != "open":
        word = TASK_STATUS_ZH[task.status]
        raise conflict(
            "task-wrong-state", "Not open", f"事项{word}",
            f"the task is {task.status}", f"该事项{word}，不能再办理",
        )  # fmt: skip


def _step(task: TrackedTask, principal: Principal, version: int | None) -> None:
    _may_act(principal, task)
    if version is not None:
        check_version(version, task.version, what="task", what_zh="督办事项")
    _open(task)


def add_progress(*, db: Session, task: TrackedTask, actor: Principal, note: str,
                 version: int | None, now: datetime) -> TrackedTask:  # fmt: skip
    """A progress note from the owner or the area's staff."""
    _step(task, actor, version)
    task.version += 1
    trail(db, task, action="progress", actor_id=actor.user_id, now=now, note=note.strip())
    db.flush()
    return task


def check_room_for_photos(db: Session, task: TrackedTask, actor: Principal, adding: int) -> None:
    """Refuse before storing anything when the caller may not add or the task is full."""
    _step(task, actor, None)
    held = db.scalar(
        select(func.count()).select_from(TrackedTaskPhoto).where(TrackedTaskPhoto.task_id == task.id)
    ) or 0  # fmt: skip
    if held + adding > PHOTOS_MAX:
        raise invalid("photos", f"a task holds at most {PHOTOS_MAX} photos",
                      f"每个事项最多 {PHOTOS_MAX} 张照片")  # fmt: skip


def add_photos(*, db: Session, task: TrackedTask, actor: Principal, photos: Sequence[PhotoInfo],
               now: datetime) -> list[TrackedTaskPhoto]:  # fmt: skip
    """Attach checked photos (already in the photo store) as the task's evidence."""
    check_room_for_photos(db, task, actor, len(photos))
    rows = [
        TrackedTaskPhoto(
            task_id=task.id, sha256=p.sha256, mime=p.mime, bytes=p.bytes, width=p.width,
            height=p.height, taken_at=p.taken_at, uploaded_by=actor.user_id, uploaded_at=now,
        )
        for p in photos
    ]  # fmt: skip
    db.add_all(rows)
    task.version += 1
    trail(db, task, action="photo", actor_id=actor.user_id, now=now, payload={"count": len(rows)})
    db.flush()
    return rows


def photo_count(db: Session, task: TrackedTask) -> int:
    return db.scalar(
        select(func.count()).select_from(TrackedTaskPhoto).where(TrackedTaskPhoto.task_id == task.id)
    ) or 0  # fmt: skip


def complete_task(*, db: Session, task: TrackedTask, actor: Principal, result: str,
                  now: datetime, version: int | None = None) -> TrackedTask:  # fmt: skip
    """Close the task with its result; refused without a photo when evidence is required."""
    _step(task, actor, version)
    if not result or not result.strip():
        raise invalid("result", "say what was done", "请填写办理结果")
    if task.evidence_required and photo_count(db, task) == 0:
        raise invalid(
            "evidence", "this task is closed only with a photo of the result",
            "该事项须上传佐证照片后才能办结",
        )  # fmt: skip
    task.status, task.done_at, task.done_by = "done", now, actor.user_id
    task.result = result.strip()
    task.version += 1
    on_time = now <= task.due_at
    trail(db, task, action="complete", actor_id=actor.user_id, now=now, note=task.result,
          payload={"on_time": on_time})  # fmt: skip
    db.flush()
    return task


def cancel_task(*, db: Session, task: TrackedTask, actor: Principal, reason: str,
                now: datetime, version: int | None = None) -> TrackedTask:  # fmt: skip
    """Drop a task that is no longer needed (the area's staff only), with the reason."""
    if not oversees(actor, task):
        _may_act(actor, task)
        actor.require_role(*OVERSEER_ROLES)
    if version is not None:
        check_version(version, task.version, what="task", what_zh="督办事项")
    _open(task)
    task.status = "cancelled"
    task.version += 1
    trail(db, task, action="cancel", actor_id=actor.user_id, now=now, note=reason.strip())
    db.flush()
    return task


def list_tasks(
    *, db: Session, principal: Principal, now: datetime, kind: str | None = None,
    status: str | None = None, light_name: str | None = None, town: int | None = None,
    source_type: str | None = None, source_id: int | None = None, offset: int = 0,
    limit: int = 50,
) -> tuple[list[TrackedTask], int]:  # fmt: skip
    """The tasks the caller may see, soonest due first among open ones."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [visible_clause(principal)]
    if kind:
        where.append(TrackedTask.kind == kind)
    if status:
        where.append(TrackedTask.status == status)
    if light_name:
        where.append(light_clause(light_name, now))
    if town is not None:
        where.append(TrackedTask.town_id == town)
    if source_type:
        where.append(TrackedTask.source_type == source_type)
    if source_id is not None:
        where.append(TrackedTask.source_id == source_id)
    total = db.scalar(select(func.count()).select_from(TrackedTask).where(*where)) or 0
    rows = db.scalars(
        select(TrackedTask).where(*where)
        .order_by((TrackedTask.status != "open"), TrackedTask.due_at, TrackedTask.id)
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(rows), total


# --- messages ----------------------------------------------------------------------------------


def owners(people: Directory, task: TrackedTask) -> list[Person]:
    """Who a task's messages go to: the named person, else the owner unit's handlers."""
    told: list[Person] = []
    if task.owner_user_id is not None:
        found = people.person(task.owner_user_id)
        if found is not None:
            told.append(found[0])
    if task.owner_unit_id is not None:
        told += people.unit_handlers(task.owner_unit_id)
    return told


def owner_name(people: Directory, task: TrackedTask) -> str:
    names = []
    if task.owner_unit_id is not None:
        unit = people.unit(task.owner_unit_id)
        names.append(unit.name if unit else "")
    if task.owner_user_id is not None:
        found = people.person(task.owner_user_id)
        names.append(found[0].name if found else "")
    return "、".join(n for n in names if n)


def message_payload(people: Directory, task: TrackedTask) -> dict[str, Any]:
    """The fields every task template may use."""
    return {
        "code": task.code, "title": task.title, "due": local_text(task.due_at),
        "owner": owner_name(people, task), "place": people.org_names(task.org_id)[task.org_id],
        "path": f"/tasks/{task.code}",
    }  # fmt: skip
