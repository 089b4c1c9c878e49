"""The standard's domain functions: draft a version (or copy the current one), change the draft,
publish it (superseding the version before), and read versions. They flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.errors import Problem, check_version, conflict, forbidden, invalid, not_found
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.standards.models import (
    ASPECT_ZH,
    ASPECTS,
    EVIDENCE_ZH,
    STANDARD_ACTION_ZH,
    STANDARD_STATUS_ZH,
    StandardItem,
    StandardLog,
    StandardVersion,
)
from fengqiao.standards.schemas import ItemIn, StandardIn, StandardPatch

READER_ROLES = ("operator", "leader", "admin")
WRITER_ROLES = ("admin", "leader")  # at the district (or above)
ABOVE_TOWN = ("province", "city", "district")
WEIGHT_TOTAL = 100.0
WEIGHT_SLACK = 0.001  # weights are typed with at most a few decimals


def is_district_staff(db: Session, principal: Principal) -> bool:
    """True for a caller whose home is the district (or above): they keep the standard and the
    supervision groups, which are the district's."""
    home = db.get(OrgUnit, principal.home_org_id)
    return home is not None and home.kind in ABOVE_TOWN


def require_district_writer(db: Session, principal: Principal) -> None:
    """District administrators and leaders only."""
    principal.require_role(*WRITER_ROLES)
    if not is_district_staff(db, principal):
        raise forbidden(
            "only the district's administrators and leaders keep this",
            "只有区县级及以上的管理员和领导可以维护",
        )


def check_weights(items: Sequence[ItemIn]) -> None:
    """Refuse a checklist that is empty or whose weights do not sum to 100."""
    if not items:
        raise invalid("items", "a standard needs at least one item", "标准至少要有一个条目")
    total = sum(item.weight for item in items)
    if abs(total - WEIGHT_TOTAL) > WEIGHT_SLACK:
        raise invalid(
            "items", f"the weights sum to {total:g}, not 100",
            f"各条目分值合计为 {total:g}，应为 100",
        )  # fmt: skip


def _trail(db: Session, version: StandardVersion, actor_id: int | None, action: str,
           now: datetime, note: str | None = None) -> None:  # fmt: skip
    db.add(StandardLog(version_id=version.id, at=now, actor_id=actor_id, action=action, note=note))


def _write_items(db: Session, version: StandardVersion, items: Sequence[ItemIn]) -> None:
    # In aspect order, then as given within an aspect: the checklist reads the same everywhere.
    ordered = sorted(enumerate(items), key=lambda pair: (ASPECTS.index(pair[1].aspect), pair[0]))
    for position, (_, item) in enumerate(ordered, start=1):
        db.add(StandardItem(
            version_id=version.id, position=position, aspect=item.aspect,
            text=item.text.strip(), weight=item.weight, evidence=item.evidence,
        ))  # fmt: skip


def current(db: Session) -> StandardVersion | None:
    """The published version in force, if any."""
    return db.scalars(
        select(StandardVersion).where(StandardVersion.status == "published")
        .order_by(StandardVersion.number.desc()).limit(1)
    ).first()  # fmt: skip


def require_current(db: Session) -> StandardVersion:
    """The version in force, or a 409 naming `standard` when none is published."""
    version = current(db)
    if version is None:
        raise conflict(
            "no-standard", "No standard published", "尚未发布标准",
            "publish a version of the standard first", "请先发布一个版本的标准化建设标准",
        )  # fmt: skip
    return version


def items_of(db: Session, version_id: int) -> list[StandardItem]:
    return list(db.scalars(
        select(StandardItem).where(StandardItem.version_id == version_id)
        .order_by(StandardItem.position)
    ))  # fmt: skip


def create_version(*, db: Session, principal: Principal | None, data: StandardIn,
                   now: datetime) -> StandardVersion:  # fmt: skip
    """Draft a new version with the given items, or a copy of the version in force."""
    if principal is not None:
        require_district_writer(db, principal)
    if data.items is None:
        base = require_current(db)
        items = [
            ItemIn(aspect=i.aspect, text=i.text, weight=i.weight, evidence=i.evidence)
            for i in items_of(db, base.id)
        ]
    else:
        items = list(data.items)
    check_weights(items)
    number = (db.scalar(select(func.max(StandardVersion.number))) or 0) + 1
    actor = principal.user_id if principal is not None else None
    version = StandardVersion(
        number=number, title=data.title.strip(), note=(data.note or "").strip() or None,
        status="draft", version=1, created_by=actor, created_at=now,
    )  # fmt: skip
    db.add(version)
    db.flush()
    _write_items(db, version, items)
    _trail(db, version, actor, "create", now)
    db.flush()
    return version


def get_version(db: Session, principal: Principal, version_id: int) -> StandardVersion:
    """One version (the standard is the district's: every staff member reads it)."""
    principal.require_role(*READER_ROLES)
    version = db.get(StandardVersion, version_id)
    if version is None:
        raise not_found("standard version", "标准版本")
    return version


def _draft_only(version: StandardVersion) -> Problem:
    word = STANDARD_STATUS_ZH[version.status]
    return conflict(
        "standard-published", "Published versions are immutable", f"该版本{word}，不能修改",
        f"version {version.number} is {version.status}; draft a new version instead",
        f"第 {version.number} 版{word}，请起草新版本",
    )  # fmt: skip


def edit_version(*, db: Session, principal: Principal, version: StandardVersion,
                 data: StandardPatch, now: datetime) -> StandardVersion:  # fmt: skip
    """Change a draft's title, note or items (all items at once)."""
    require_district_writer(db, principal)
    check_version(data.version, version.version, what="standard version", what_zh="标准版本")
    if version.status != "draft":
        raise _draft_only(version)
    given = data.model_dump(exclude_unset=True, exclude={"version", "items"})
    if data.items is not None:
        check_weights(data.items)
        for item in items_of(db, version.id):
            db.delete(item)
        db.flush()
        _write_items(db, version, data.items)
    if "title" in given:
        version.title = given["title"].strip()
    if "note" in given:
        version.note = (given["note"] or "").strip() or None
    version.version += 1
    _trail(db, version, principal.user_id, "edit", now)
    db.flush()
    return version


def publish_version(*, db: Session, principal: Principal | None, version: StandardVersion,
                    expected: int, now: datetime) -> StandardVersion:  # fmt: skip
    """Publish a draft: it becomes the version in force and the one before is superseded."""
    if principal is not None:
        require_district_writer(db, principal)
    check_version(expected, version.version, what="standard version", what_zh="标准版本")
    if version.status != "draft":
        raise _draft_only(version)
    items = items_of(db, version.id)
    check_weights([
        ItemIn(aspect=i.aspect, text=i.text, weight=i.weight, evidence=i.evidence)
        for i in items
    ])  # fmt: skip
    actor = principal.user_id if principal is not None else None
    before = current(db)
    if before is not None:
        before.status, before.superseded_at = "superseded", now
        _trail(db, before, actor, "supersede", now, f"第 {version.number} 版发布")
    version.status, version.published_by, version.published_at = "published", actor, now
    version.version += 1
    _trail(db, version, actor, "publish", now)
    db.flush()
    return version


def list_versions(db: Session, principal: Principal) -> list[StandardVersion]:
    """Every version, newest first."""
    principal.require_role(*READER_ROLES)
    return list(db.scalars(select(StandardVersion).order_by(StandardVersion.number.desc())))


def _names(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {r.id: r.name for r in db.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def item_out(item: StandardItem) -> dict[str, Any]:
    return {
        "id": item.id, "position": item.position, "aspect": item.aspect,
        "aspect_name": ASPECT_ZH[item.aspect], "text": item.text, "weight": item.weight,
        "evidence": item.evidence, "evidence_name": EVIDENCE_ZH[item.evidence],
    }  # fmt: skip


def aspects_out(items: Sequence[StandardItem]) -> list[dict[str, Any]]:
    """The items grouped by aspect, in the standard's order, each aspect with its weight."""
    out = []
    for aspect in ASPECTS:
        mine = [item_out(i) for i in items if i.aspect == aspect]
        if mine:
            out.append({"aspect": aspect, "name": ASPECT_ZH[aspect],
                        "weight": round(sum(i["weight"] for i in mine), 3), "items": mine})  # fmt: skip
    return out


def version_out(db: Session, version: StandardVersion, *, detail: bool = True) -> dict[str, Any]:
    """A version with its items by aspect and its trail (`detail`), else only its head."""
    items = items_of(db, version.id)
    logs = list(db.scalars(
        select(StandardLog).where(StandardLog.version_id == version.id).order_by(StandardLog.id)
    )) if detail else []  # fmt: skip
    people = _names(db, [version.created_by, version.published_by] + [g.actor_id for g in logs])

    def person(user_id: int | None) -> dict[str, Any] | None:
        return None if user_id is None else {"id": user_id, "name": people.get(user_id, "")}

    return {
        "id": version.id, "number": version.number, "title": version.title, "note": version.note,
        "status": version.status, "status_name": STANDARD_STATUS_ZH[version.status],
        "version": version.version, "weight_total": round(sum(i.weight for i in items), 3),
        "created_by": person(version.created_by), "created_at": version.created_at,
        "published_by": person(version.published_by), "published_at": version.published_at,
        "superseded_at": version.superseded_at,
        "aspects": aspects_out(items) if detail else [],
        "trail": [
            {"at": g.at, "action": g.action, "action_name": STANDARD_ACTION_ZH[g.action],
             "actor": person(g.actor_id), "note": g.note}
            for g in logs
        ],
    }  # fmt: skip
