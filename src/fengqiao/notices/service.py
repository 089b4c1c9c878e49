"""The notices' domain functions: drafting, editing, publishing and withdrawing a notice to an
area in the caller's scope, its images, and which notices a resident sees on a given day. They
flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import Problem, conflict, invalid, not_found
from fengqiao.events.photos import PhotoInfo
from fengqiao.notices.models import (
    NOTICE_ACTION_ZH,
    NOTICE_STATUS_ZH,
    Notice,
    NoticeLog,
)
from fengqiao.notices.schemas import IMAGES_MAX, NoticeIn, NoticePatch, _period
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal, in_scope

# Who publishes notices: the command rooms' operators and administrators; leaders read them.
WRITER_ROLES = ("operator", "admin")
READER_ROLES = ("operator", "leader", "admin")
AREA_KINDS = ("district", "town", "village", "grid")


def local_today(now: datetime) -> date:
    """The day it is in Asia/Shanghai: notices are valid from and to local days."""
    return now.astimezone(LOCAL_TZ).date()


def out_of_scope() -> Problem:
    return Problem(
        403, "notice-out-of-scope", "Outside your area", "超出管辖范围",
        "this area lies outside your scope", "该区域不在您的管辖范围内",
    )  # fmt: skip


def area_in_scope(db: Session, principal: Principal, org_id: int, field: str) -> OrgUnit:
    """The org unit a notice or campaign goes to: it exists, is an area, and is in scope."""
    unit = db.get(OrgUnit, org_id)
    if unit is None or unit.kind not in AREA_KINDS:
        raise invalid(field, f"no area with id {org_id}", f"区域 {org_id} 不存在")
    if not principal.covers(unit.path):
        raise out_of_scope()
    return unit


def _stale() -> Problem:
    return conflict(
        "stale-version", "Changed meanwhile", "通知已被他人修改",
        "the notice changed since it was read; reload and try again",
        "该通知在您读取后已被修改，请刷新后重试",
    )  # fmt: skip


def _trail(db: Session, notice: Notice, actor: Principal, action: str, now: datetime,
           note: str | None = None) -> None:  # fmt: skip
    db.add(NoticeLog(notice_id=notice.id, at=now, actor_id=actor.user_id, action=action,
                     note=note))  # fmt: skip


def create_notice(*, db: Session, principal: Principal, data: NoticeIn, now: datetime) -> Notice:
    """Draft a notice to an area in scope; publish it at once if asked."""
    principal.require_role(*WRITER_ROLES)
    unit = area_in_scope(db, principal, data.org_id, "org_id")
    notice = Notice(
        org_id=unit.id, org_path=unit.path, title=data.title.strip(), text=data.text.strip(),
        images=[], valid_from=data.valid_from, valid_to=data.valid_to, status="draft", version=1,
        created_by=principal.user_id, created_at=now,
    )  # fmt: skip
    db.add(notice)
    db.flush()
    _trail(db, notice, principal, "create", now)
    if data.publish:
        publish(db=db, principal=principal, notice=notice, version=notice.version, now=now)
    db.flush()
    return notice


def get_notice(db: Session, principal: Principal, notice_id: int) -> Notice:
    """A notice of the caller's area; 404 for none or one outside it (as events do)."""
    principal.require_role(*READER_ROLES)
    notice = db.get(Notice, notice_id)
    if notice is None or not principal.covers(notice.org_path):
        raise not_found("notice", "通知")
    return notice


def _writable(principal: Principal, notice: Notice, version: int) -> None:
    principal.require_role(*WRITER_ROLES)
    if notice.version != version:
        raise _stale()


def edit_notice(*, db: Session, principal: Principal, notice: Notice, data: NoticePatch,
                now: datetime) -> Notice:  # fmt: skip
    """Change the text or the period of a notice that is not withdrawn."""
    _writable(principal, notice, data.version)
    if notice.status == "withdrawn":
        raise _wrong_state(notice)
    given = data.model_dump(exclude_unset=True, exclude={"version"})
    for name, value in given.items():
        if value is None:
            raise invalid(name, "may not be null", "不能为空")
    valid_from = given.get("valid_from", notice.valid_from)
    valid_to = given.get("valid_to", notice.valid_to)
    try:
        _period(valid_from, valid_to)
    except ValueError as exc:
        raise invalid("valid_to", str(exc), "有效期结束日期须不早于开始日期，且不超过一年") from exc
    for name, value in given.items():
        setattr(notice, name, value.strip() if isinstance(value, str) else value)
    notice.version += 1
    _trail(db, notice, principal, "edit", now)
    db.flush()
    return notice


def _wrong_state(notice: Notice) -> Problem:
    word = NOTICE_STATUS_ZH[notice.status]
    return conflict(
        "notice-wrong-state", "Not in this state", f"通知{word}",
        f"the notice is {notice.status}", f"该通知{word}，不能进行此操作",
    )  # fmt: skip


def publish(*, db: Session, principal: Principal, notice: Notice, version: int,
            now: datetime) -> Notice:  # fmt: skip
    """Publish a draft: residents of the area see it on the days it is valid."""
    _writable(principal, notice, version)
    if notice.status != "draft":
        raise _wrong_state(notice)
    notice.status, notice.published_by, notice.published_at = "published", principal.user_id, now
    notice.version += 1
    _trail(db, notice, principal, "publish", now)
    db.flush()
    return notice


def withdraw(*, db: Session, principal: Principal, notice: Notice, version: int,
             reason: str | None, now: datetime) -> Notice:  # fmt: skip
    """Withdraw a published notice (or drop a draft): nobody outside the staff sees it again."""
    _writable(principal, notice, version)
    if notice.status == "withdrawn":
        raise _wrong_state(notice)
    notice.status, notice.withdrawn_by, notice.withdrawn_at = "withdrawn", principal.user_id, now
    notice.version += 1
    _trail(db, notice, principal, "withdraw", now, (reason or "").strip() or None)
    db.flush()
    return notice


def check_room_for_images(notice: Notice, adding: int) -> None:
    """Refuse before storing anything when the notice would hold too many images."""
    if notice.status == "withdrawn":
        raise _wrong_state(notice)
    if len(notice.images) + adding > IMAGES_MAX:
        raise invalid(
            "images", f"a notice holds at most {IMAGES_MAX} images",
            f"每条通知最多 {IMAGES_MAX} 张图片",
        )  # fmt: skip


def add_images(*, db: Session, principal: Principal, notice: Notice, images: Sequence[PhotoInfo],
               now: datetime) -> Notice:  # fmt: skip
    """Attach checked images (already in the photo store) to a notice."""
    principal.require_role(*WRITER_ROLES)
    check_room_for_images(notice, len(images))
    notice.images = [*notice.images, *(
        {"sha256": i.sha256, "mime": i.mime, "width": i.width, "height": i.height} for i in images
    )]  # fmt: skip
    notice.version += 1
    _trail(db, notice, principal, "images", now, f"{len(images)}")
    db.flush()
    return notice


def list_notices(*, db: Session, principal: Principal, status: str | None, offset: int,
                 limit: int) -> tuple[list[Notice], int]:  # fmt: skip
    """The notices of areas in the caller's scope, newest first."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [in_scope(principal, Notice.org_path)]
    if status:
        where.append(Notice.status == status)
    total = db.scalar(select(func.count()).select_from(Notice).where(*where)) or 0
    rows = db.scalars(
        select(Notice).where(*where).order_by(Notice.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def visible(db: Session, path: str, today: date) -> list[Notice]:
    """The published notices valid on `today` for the residents at `path`: those of the area
    itself and of every area above it, newest first."""
    return list(db.scalars(
        select(Notice).where(
            Notice.status == "published", Notice.valid_from <= today, Notice.valid_to >= today,
            literal(path).startswith(Notice.org_path),
        ).order_by(Notice.published_at.desc(), Notice.id.desc()).limit(50)
    ))  # fmt: skip


def is_visible(notice: Notice, today: date) -> bool:
    return notice.status == "published" and notice.valid_from <= today <= notice.valid_to


def names(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {r.id: r.name for r in db.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def places(db: Session, org_ids: Iterable[int]) -> dict[int, OrgUnit]:
    ids = set(org_ids)
    if not ids:
        return {}
    return {u.id: u for u in db.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}


def image_urls(notice: Notice, base: str) -> list[dict[str, Any]]:
    return [
        {"url": f"{base}/{notice.id}/images/{n}", "width": i["width"], "height": i["height"]}
        for n, i in enumerate(notice.images)
    ]


def notice_out(db: Session, notice: Notice, *, trail: bool = False) -> dict[str, Any]:
    """The staff's view of a notice, with its trail when asked."""
    return notices_out(db, [notice], trail=trail)[0]


def notices_out(db: Session, notices: Sequence[Notice], *, trail: bool = False
                ) -> list[dict[str, Any]]:  # fmt: skip
    logs: list[NoticeLog] = []
    if trail:
        logs = list(db.scalars(
            select(NoticeLog).where(NoticeLog.notice_id.in_([n.id for n in notices]))
            .order_by(NoticeLog.id)
        ))  # fmt: skip
    people = names(db, [
        u for n in notices for u in (n.created_by, n.published_by, n.withdrawn_by)
    ] + [log.actor_id for log in logs])  # fmt: skip
    units = places(db, [n.org_id for n in notices])

    def person(user_id: int | None) -> dict[str, Any] | None:
        return None if user_id is None else {"id": user_id, "name": people.get(user_id, "")}

    out = []
    for n in notices:
        unit = units[n.org_id]
        out.append({
            "id": n.id, "org": {"id": unit.id, "name": unit.name, "kind": unit.kind},
            "title": n.title, "text": n.text, "images": image_urls(n, "/api/v1/notices"),
            "valid_from": n.valid_from, "valid_to": n.valid_to, "status": n.status,
            "status_name": NOTICE_STATUS_ZH[n.status], "version": n.version,
            "created_by": person(n.created_by), "created_at": n.created_at,
            "published_by": person(n.published_by), "published_at": n.published_at,
            "withdrawn_by": person(n.withdrawn_by), "withdrawn_at": n.withdrawn_at,
            "trail": [
                {"at": log.at, "action": log.action, "action_name": NOTICE_ACTION_ZH[log.action],
                 "actor": person(log.actor_id), "note": log.note}
                for log in logs if log.notice_id == n.id
            ],
        })  # fmt: skip
    return out


def public_out(db: Session, notices: Sequence[Notice]) -> list[dict[str, Any]]:
    """What a resident sees of each notice: the area's name, no staff names, no trail."""
    units = places(db, [n.org_id for n in notices])
    return [{
        "id": n.id, "area": units[n.org_id].name, "title": n.title, "text": n.text,
        "images": image_urls(n, "/api/v1/public/notices"), "valid_from": n.valid_from,
        "valid_to": n.valid_to, "published_at": n.published_at,
    } for n in notices]  # fmt: skip


def district(db: Session) -> OrgUnit:
    """The root of the tree: the district of a district-only database, else the province (the
    area an anonymous caller who chose none reads)."""
    root = db.scalars(
        select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1)
    ).first()
    if root is None:
        raise not_found("district", "区")
    return root


CHOSEN_KINDS = ("district", "town", "village")


def resident_area(db: Session, principal: Principal | None, village_id: int | None) -> OrgUnit:
    """Whose notices to show: the chosen district, town or village; else the signed-in
    caller's home area (a resident's is their own district, auth/sms.py; anyone's home shows
    its own notices and those of every area above it, its district's included); else the root."""
    if village_id is not None:
        unit = db.get(OrgUnit, village_id)
        if unit is None or unit.kind not in CHOSEN_KINDS:
            raise invalid(
                "village", f"no district, town or village with id {village_id}",
                f"区县、镇街或村社 {village_id} 不存在",
            )  # fmt: skip
        return unit
    if principal is not None:
        home = db.get(OrgUnit, principal.home_org_id)
        if home is not None:
            return home
    return district(db)


def towns_and_villages(db: Session) -> list[dict[str, Any]]:
    """The village chooser: every town with its villages, by code."""
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
        .where(OrgUnit.kind.in_(("town", "village")), OrgUnit.valid_to.is_(None))
        .order_by(OrgUnit.code)
    ).all()
    towns = {r.id: {"id": r.id, "name": r.name, "villages": []} for r in rows if r.kind == "town"}
    for r in rows:
        if r.kind == "village" and r.parent_id in towns:
            towns[r.parent_id]["villages"].append({"id": r.id, "name": r.name, "kind": r.kind})
    return list(towns.values())
