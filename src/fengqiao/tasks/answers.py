"""Tasks as the API shows them: names resolved in a few queries for a whole page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import LIGHT_ZH
from fengqiao.tasks.models import (
    TASK_ACTION_ZH,
    TASK_KIND_ZH,
    TASK_STATUS_ZH,
    TrackedTask,
    TrackedTaskPhoto,
    TrackedTaskTrail,
)
from fengqiao.tasks.service import LIGHT_CANCELLED, oversees, owns, task_light

TASK_LIGHT_ZH = {**LIGHT_ZH, LIGHT_CANCELLED: "已撤销"}


def _named(names: dict[int, str], key: int | None) -> dict[str, Any] | None:
    return None if key is None else {"id": key, "name": names.get(key, "")}


def tasks_out(db: Session, principal: Principal, tasks: Sequence[TrackedTask], now: datetime,
              *, detail: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """The answer rows of `tasks`; with `detail`, their photos and trails too."""
    orgs = {i for t in tasks for i in (t.org_id, t.town_id) if i is not None}
    units = {t.owner_unit_id for t in tasks if t.owner_unit_id is not None}
    users = {i for t in tasks for i in (t.owner_user_id, t.done_by) if i is not None}
    photos: dict[int, list[TrackedTaskPhoto]] = {}
    trails: dict[int, list[TrackedTaskTrail]] = {}
    ids = [t.id for t in tasks]
    if detail and ids:
        for photo in db.scalars(select(TrackedTaskPhoto).where(TrackedTaskPhoto.task_id.in_(ids))
                                .order_by(TrackedTaskPhoto.id)):  # fmt: skip
            photos.setdefault(photo.task_id, []).append(photo)
            users.add(photo.uploaded_by)
        for step in db.scalars(select(TrackedTaskTrail).where(TrackedTaskTrail.task_id.in_(ids))
                               .order_by(TrackedTaskTrail.id)):  # fmt: skip
            trails.setdefault(step.task_id, []).append(step)
            if step.actor_id is not None:
                users.add(step.actor_id)
    org_names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(orgs))).all())
    unit_names = dict(db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(units))).all())
    user_names = dict(db.execute(select(User.id, User.name).where(User.id.in_(users))).all())
    rows = []
    for t in tasks:
        shown = task_light(t, now)
        owner = "、".join(
            n for n in (unit_names.get(t.owner_unit_id or 0), user_names.get(t.owner_user_id or 0))
            if n
        )  # fmt: skip
        row: dict[str, Any] = {
            "id": t.id, "code": t.code, "kind": t.kind, "kind_name": TASK_KIND_ZH[t.kind],
            "source_type": t.source_type, "source_id": t.source_id, "title": t.title,
            "detail": t.detail, "town": _named(org_names, t.town_id),
            "org": _named(org_names, t.org_id), "owner_unit": _named(unit_names, t.owner_unit_id),
            "owner_user": _named(user_names, t.owner_user_id), "owner_name": owner,
            "created_at": t.created_at, "due_at": t.due_at, "yellow_at": t.yellow_at,
            "remind_at": t.remind_at, "reminded_at": t.reminded_at, "overdue_at": t.overdue_at,
            "status": t.status, "status_name": TASK_STATUS_ZH[t.status], "light": shown,
            "light_name": TASK_LIGHT_ZH[shown], "done_at": t.done_at,
            "done_by": _named(user_names, t.done_by), "result": t.result,
            "evidence_required": t.evidence_required, "version": t.version,
            "can_act": t.status == "open" and (owns(principal, t) or oversees(principal, t)),
        }  # fmt: skip
        if detail:
            row["photos"] = [
                {"id": p.id, "url": f"/api/v1/tasks/{t.code}/photos/{p.id}", "width": p.width,
                 "height": p.height, "taken_at": p.taken_at, "uploaded_at": p.uploaded_at,
                 "uploaded_by": _named(user_names, p.uploaded_by)}
                for p in photos.get(t.id, [])
            ]  # fmt: skip
            row["trail"] = [
                {"at": s.at, "action": s.action, "action_name": TASK_ACTION_ZH.get(s.action, s.action),
                 "actor": _named(user_names, s.actor_id), "note": s.note}
                for s in trails.get(t.id, [])
            ]  # fmt: skip
        rows.append(row)
    return rows
