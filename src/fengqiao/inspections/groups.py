"""Supervision groups: the district's groups, their members and the towns each covers (every
town with exactly one group at a time). They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.errors import check_version, conflict, invalid, not_found
from fengqiao.inspections.models import (
    InspectionGroup,
    InspectionGroupMember,
    InspectionGroupTown,
    InspectionLog,
)
from fengqiao.inspections.schemas import GroupIn, GroupPatch
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.standards.service import READER_ROLES, require_district_writer

# The district's five groups by default (专门成立5个专项督导组).
DEFAULT_GROUPS = tuple(f"第{n}专项督查组" for n in "一二三四五")


def log(db: Session, subject: str, subject_id: int, actor_id: int | None, action: str,
        now: datetime, note: str | None = None) -> None:  # fmt: skip
    """A row of the inspections' trail."""
    db.add(InspectionLog(subject=subject, subject_id=subject_id, at=now, actor_id=actor_id,
                         action=action, note=note))  # fmt: skip


def get_group(db: Session, principal: Principal, group_id: int) -> InspectionGroup:
    principal.require_role(*READER_ROLES)
    group = db.get(InspectionGroup, group_id)
    if group is None:
        raise not_found("inspection group", "督查组")
    return group


def _check_members(db: Session, member_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(member_ids))
    found = set(db.scalars(select(User.id).where(User.id.in_(ids), User.is_active.is_(True))))
    for index, user_id in enumerate(member_ids):
        if user_id not in found:
            raise invalid(f"member_ids[{index}]", f"no active user {user_id}",
                          f"用户 {user_id} 不存在或已停用")  # fmt: skip
    return ids


def _check_towns(db: Session, group_id: int | None, town_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(town_ids))
    towns = {t.id: t for t in db.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    for index, town_id in enumerate(town_ids):
        town = towns.get(town_id)
        if town is None or town.kind != "town":
            raise invalid(f"town_ids[{index}]", f"no town with id {town_id}",
                          f"镇街 {town_id} 不存在")  # fmt: skip
    taken = db.execute(
        select(InspectionGroupTown.town_id, InspectionGroup.name)
        .join(InspectionGroup, InspectionGroup.id == InspectionGroupTown.group_id)
        .where(InspectionGroupTown.town_id.in_(ids), InspectionGroupTown.group_id != (group_id or 0))
    ).first()  # fmt: skip
    if taken is not None:
        name = towns[taken.town_id].name
        raise invalid(
            "town_ids", f"{name} is assigned to {taken.name}; take it off there first",
            f"{name}已由{taken.name}联系，请先从该组移出", status=409,
        )  # fmt: skip
    return ids


def _set_members(db: Session, group: InspectionGroup, ids: Sequence[int]) -> None:
    db.execute(delete(InspectionGroupMember).where(InspectionGroupMember.group_id == group.id))
    for user_id in ids:
        db.add(InspectionGroupMember(group_id=group.id, user_id=user_id))


def _set_towns(db: Session, group: InspectionGroup, ids: Sequence[int], now: datetime) -> None:
    kept = set(db.scalars(
        select(InspectionGroupTown.town_id).where(InspectionGroupTown.group_id == group.id)
    ))  # fmt: skip
    db.execute(delete(InspectionGroupTown).where(
        InspectionGroupTown.group_id == group.id, InspectionGroupTown.town_id.not_in(ids)
    ))  # fmt: skip
    for town_id in ids:
        if town_id not in kept:
            db.add(InspectionGroupTown(group_id=group.id, town_id=town_id, assigned_at=now))


def create_group(*, db: Session, principal: Principal | None, data: GroupIn,
                 now: datetime) -> InspectionGroup:  # fmt: skip
    """A new group with its members and towns (district administrators and leaders)."""
    if principal is not None:
        require_district_writer(db, principal)
    name = data.name.strip()
    if db.scalar(select(InspectionGroup.id).where(InspectionGroup.name == name)) is not None:
        raise conflict("group-exists", "Name taken", "督查组名称已存在",
                       f"a group named {name} exists", f"已有名为{name}的督查组")  # fmt: skip
    members = _check_members(db, data.member_ids)
    towns = _check_towns(db, None, data.town_ids)
    count = len(list(db.scalars(select(InspectionGroup.id))))
    actor = principal.user_id if principal is not None else None
    group = InspectionGroup(name=name, position=count + 1, version=1, created_by=actor,
                            created_at=now)  # fmt: skip
    db.add(group)
    db.flush()
    _set_members(db, group, members)
    _set_towns(db, group, towns, now)
    log(db, "group", group.id, actor, "create", now, name)
    db.flush()
    return group


def edit_group(*, db: Session, principal: Principal, group: InspectionGroup, data: GroupPatch,
               now: datetime) -> InspectionGroup:  # fmt: skip
    """Rename a group or set its members or towns; a town of another group is refused."""
    require_district_writer(db, principal)
    check_version(data.version, group.version, what="inspection group", what_zh="督查组")
    if data.name is not None and data.name.strip() != group.name:
        group.name = data.name.strip()
        log(db, "group", group.id, principal.user_id, "edit", now, group.name)
    if data.member_ids is not None:
        _set_members(db, group, _check_members(db, data.member_ids))
        log(db, "group", group.id, principal.user_id, "members", now, f"{len(data.member_ids)}")
    if data.town_ids is not None:
        _set_towns(db, group, _check_towns(db, group.id, data.town_ids), now)
        log(db, "group", group.id, principal.user_id, "towns", now, f"{len(data.town_ids)}")
    group.version += 1
    db.flush()
    return group


def list_groups(db: Session, principal: Principal) -> list[InspectionGroup]:
    principal.require_role(*READER_ROLES)
    return list(db.scalars(select(InspectionGroup).order_by(InspectionGroup.position,
                                                            InspectionGroup.id)))  # fmt: skip


def group_of_town(db: Session, town_id: int) -> int | None:
    return db.scalar(
        select(InspectionGroupTown.group_id).where(InspectionGroupTown.town_id == town_id)
    )


def is_member(db: Session, group_id: int, user_id: int) -> bool:
    return db.scalar(select(InspectionGroupMember.id).where(
        InspectionGroupMember.group_id == group_id, InspectionGroupMember.user_id == user_id
    )) is not None  # fmt: skip


def groups_out(db: Session, groups: Sequence[InspectionGroup]) -> list[dict[str, Any]]:
    ids = [g.id for g in groups]
    members = db.execute(
        select(InspectionGroupMember.group_id, User.id, User.name)
        .join(User, User.id == InspectionGroupMember.user_id)
        .where(InspectionGroupMember.group_id.in_(ids)).order_by(User.name)
    ).all()  # fmt: skip
    towns = db.execute(
        select(InspectionGroupTown.group_id, OrgUnit.id, OrgUnit.name, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == InspectionGroupTown.town_id)
        .where(InspectionGroupTown.group_id.in_(ids)).order_by(OrgUnit.code)
    ).all()  # fmt: skip
    return [{
        "id": g.id, "name": g.name, "position": g.position, "version": g.version,
        "members": [{"id": m.id, "name": m.name} for m in members if m.group_id == g.id],
        "towns": [{"id": t.id, "name": t.name, "code": t.code}
                  for t in towns if t.group_id == g.id],
    } for g in groups]  # fmt: skip
