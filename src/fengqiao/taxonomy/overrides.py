"""A district's own settings for a shared class (`ClassOverride`), written by the administrators
covering that district; the snapshot (`taxonomy.snapshot`) makes routing and deadlines read them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengqiao.db import utcnow
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal
from fengqiao.taxonomy.models import Category, ClassOverride
from fengqiao.taxonomy.snapshot import rules_changed

FIELDS = ("enabled", "unit_type", "limit_hours", "note")


def list_overrides(*, db: Session, principal: Principal) -> list[tuple[ClassOverride, str, str]]:
    """The overrides of the districts the caller's home covers or lies in, with the district's
    and the class's names."""
    home = principal.home_path
    rows = db.execute(
        select(ClassOverride, OrgUnit.name, Category.name_zh)
        .join(OrgUnit, OrgUnit.id == ClassOverride.district_id)
        .join(Category, Category.code == ClassOverride.category_code)
        .where(
            or_(
                OrgUnit.path.startswith(home, autoescape=True),
                OrgUnit.id.in_(_ids_on_path(home)),
            )
        )
        .order_by(OrgUnit.code, ClassOverride.category_code)
    ).all()
    return [(o, district, category) for o, district, category in rows]


def _ids_on_path(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


def _district(db: Session, principal: Principal, district_id: int) -> OrgUnit:
    district = db.get(OrgUnit, district_id)
    if district is None or district.kind != "district" or district.valid_to is not None:
        raise invalid("district_id", "not a district", "不是区（县）")
    principal.require_covers(district.path)
    return district


def _check(db: Session, district: OrgUnit, values: dict[str, Any]) -> None:
    unit_type = values.get("unit_type")
    if unit_type is not None:
        known = db.scalar(
            select(Unit.id)
            .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
            .where(
                Unit.unit_type == unit_type,
                Unit.active.is_(True),
                OrgUnit.path.startswith(district.path, autoescape=True),
            )
            .limit(1)
        )
        if known is None:
            raise invalid(
                "unit_type",
                f"no active unit of type {unit_type} in {district.name}",
                f"{district.name}没有该类型的在用责任单位",
            )


def create_override(*, db: Session, principal: Principal, values: dict[str, Any]) -> ClassOverride:
    """A district's first override of a class (409 when it has one: change that one)."""
    for name, zh in (("district_id", "区（县）"), ("category_code", "事件分类")):
        if values.get(name) is None:
            raise invalid(name, f"{name} is required", f"须指定{zh}")
    district = _district(db, principal, values["district_id"])
    category = db.get(Category, values["category_code"])
    if category is None:
        raise invalid("category_code", "unknown class", "事件分类不存在")
    _check(db, district, values)
    clash = db.scalar(
        select(ClassOverride.id).where(
            ClassOverride.district_id == district.id,
            ClassOverride.category_code == category.code,
        )
    )
    if clash is not None:
        raise Problem(
            409, "duplicate-override", "This district already overrides this class",
            "本区县已有该分类的设置", f"override {clash} already covers this class here",
            f"设置 {clash} 已是本区县该分类的设置，请修改它",
        )  # fmt: skip
    override = ClassOverride(
        district_id=district.id,
        category_code=category.code,
        enabled=values.get("enabled", True),
        unit_type=values.get("unit_type"),
        limit_hours=values.get("limit_hours"),
        note=values.get("note") or "",
        updated_at=utcnow(),
    )
    db.add(override)
    db.flush()
    rules_changed(db)
    return override


def _get(db: Session, principal: Principal, override_id: int) -> tuple[ClassOverride, OrgUnit]:
    override = db.get(ClassOverride, override_id)
    if override is None:
        raise not_found("class override", "区县分类设置")
    return override, _district(db, principal, override.district_id)


def update_override(
    *, db: Session, principal: Principal, override_id: int, changes: dict[str, Any]
) -> ClassOverride:
    override, district = _get(db, principal, override_id)
    for name in ("district_id", "category_code"):
        if name in changes and changes[name] != getattr(override, name):
            raise invalid(
                name,
                "cannot change: remove this override and add another",
                "不能修改，请删除后新增",
            )
    _check(db, district, changes)
    for name in FIELDS:
        if name in changes:
            setattr(override, name, changes[name] if name != "note" else changes[name] or "")
    override.updated_at = utcnow()
    db.flush()
    rules_changed(db)
    return override


def delete_override(*, db: Session, principal: Principal, override_id: int) -> None:
    """Back to the shared settings for this class in this district."""
    override, _ = _get(db, principal, override_id)
    db.delete(override)
    db.flush()
    rules_changed(db)


def names(db: Session, override: ClassOverride) -> tuple[str, str]:
    district = db.get(OrgUnit, override.district_id)
    category = db.get(Category, override.category_code)
    return (district.name if district else "", category.name_zh if category else "")
