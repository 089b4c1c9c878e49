"""Loading and editing the taxonomy and routing rules (administrators only); the import also
adds the shipped SLA policies when there are none (editing them: sla/service.py).

The starting data ships in the package (`categories.json`, `routing_rules.json`) and is loaded by
`fengqiao taxonomy import` and by the demo seed. Every edit bumps the `rules` counter so each
instance reloads its in-memory snapshot; events keep the class names they were filed with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fengqiao.db import utcnow
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal
from fengqiao.sla.models import SlaPolicy
from fengqiao.sla.service import check_level
from fengqiao.taxonomy.models import Category, CategoryMajor, RoutingRule
from fengqiao.taxonomy.snapshot import rules_changed

PLATFORMS = ("governance", "market", "enforcement", "service")

# DESIGN.md section 7: level 1 same day without reminders, 2/3/4 three, five and ten working
# days, urgent events two continuous hours whatever their level.
DEFAULT_POLICIES: tuple[dict[str, Any], ...] = (
    {"level": 1, "limit_value": 0, "limit_unit": "calendar_days", "remind_before_hours": None},
    {"level": 2, "limit_value": 3, "limit_unit": "working_days", "remind_before_hours": 24},
    {"level": 3, "limit_value": 5, "limit_unit": "working_days", "remind_before_hours": 24},
    {"level": 4, "limit_value": 10, "limit_unit": "working_days", "remind_before_hours": 24},
    {"level": None, "urgent": True, "limit_value": 2, "limit_unit": "hours",
     "remind_before_hours": 0.5},
)  # fmt: skip


@dataclass
class TaxonomyReport:
    majors: int
    categories: int
    rules: int
    policies: int


def shipped(name: str) -> dict[str, Any]:
    """One of the data files shipped in this package."""
    text = resources.files("fengqiao.taxonomy").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def import_taxonomy(
    *,
    db: Session,
    categories: dict[str, Any] | None = None,
    rules: dict[str, Any] | None = None,
    replace_rules: bool = False,
) -> TaxonomyReport:
    """Insert or update classes from a data file; add the shipped rules and policies when none.

    Classes are matched by code and updated in place (events keep their own copy of the names);
    routing rules are only loaded into an empty table unless `replace_rules`.
    """
    categories = categories if categories is not None else shipped("categories.json")
    now = utcnow()
    majors = {m.code: m for m in db.scalars(select(CategoryMajor))}
    for row in categories["majors"]:
        _check_platform(row["platform"], f"majors[{row['code']}].platform")
        major = majors.get(row["code"]) or CategoryMajor(code=row["code"])
        major.name_zh, major.name_en = row["name_zh"], row.get("name_en", "")
        major.platform = row["platform"]
        db.add(major)
        majors[major.code] = major
    existing = {c.code: c for c in db.scalars(select(Category))}
    for row in categories["categories"]:
        if row["major_code"] not in majors:
            raise invalid(
                f"categories[{row['code']}].major_code",
                f"unknown major class {row['major_code']!r}",
                f"大类 {row['major_code']} 不存在",
            )
        check_level(row["default_level"], f"categories[{row['code']}].default_level")
        category = existing.get(row["code"]) or Category(code=row["code"])
        for key in (
            "major_code", "name_zh", "platform", "default_unit_type", "default_level",
        ):  # fmt: skip
            setattr(category, key, row[key])
        category.name_en = row.get("name_en", "")
        category.filing_condition = row.get("filing_condition", "")
        category.closing_condition = row.get("closing_condition", "")
        category.national_code = row.get("national_code")
        category.active = row.get("active", True)
        if "feedback_photo_required" in row:  # else a class keeps what an admin set
            category.feedback_photo_required = bool(row["feedback_photo_required"])
        elif category.feedback_photo_required is None:
            category.feedback_photo_required = True
        category.updated_at = now
        db.add(category)
    db.flush()
    rule_count = db.scalar(select(func.count()).select_from(RoutingRule)) or 0
    if rule_count == 0 or replace_rules:
        db.execute(delete(RoutingRule))
        data = rules if rules is not None else shipped("routing_rules.json")
        towns = {
            code: town_id
            for code, town_id in db.execute(
                select(OrgUnit.code, OrgUnit.id).where(OrgUnit.kind == "town")
            )
        }
        for row in data["rules"]:
            town_id = None
            if row.get("town_code"):
                town_id = towns.get(row["town_code"])
                if town_id is None:
                    raise invalid(
                        "rules.town_code", f"unknown town {row['town_code']}", "镇街编码不存在"
                    )
            db.add(
                RoutingRule(
                    position=row["position"],
                    category_code=row.get("category_code"),
                    major_code=row.get("major_code"),
                    town_id=town_id,
                    level=row.get("level"),
                    unit_type=row.get("unit_type"),
                    assist_unit_types=list(row.get("assist_unit_types", [])),
                    note=row.get("note_zh", ""),
                )
            )
    if (db.scalar(select(func.count()).select_from(SlaPolicy)) or 0) == 0:
        for policy in DEFAULT_POLICIES:
            db.add(SlaPolicy(**{"yellow_ratio": 0.8, "urgent": False, **policy}))
    db.flush()
    rules_changed(db)
    return TaxonomyReport(
        majors=len(majors),
        categories=db.scalar(select(func.count()).select_from(Category)) or 0,
        rules=db.scalar(select(func.count()).select_from(RoutingRule)) or 0,
        policies=db.scalar(select(func.count()).select_from(SlaPolicy)) or 0,
    )


def load_file(path: Path) -> dict[str, Any]:
    """A categories file from disk, refused with the reason when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid("file", f"not a readable JSON file: {exc}", "不是可读取的 JSON 文件") from exc
    if not isinstance(data, dict) or not {"majors", "categories"} <= set(data):
        raise invalid(
            "file", "needs `majors` and `categories` lists", "需包含 majors 与 categories"
        )
    return data


def _check_platform(platform: str, field: str) -> None:
    if platform not in PLATFORMS:
        raise invalid(field, f"platform must be one of {', '.join(PLATFORMS)}", "平台取值无效")


def list_categories(*, db: Session) -> tuple[list[CategoryMajor], list[Category]]:
    majors = list(db.scalars(select(CategoryMajor).order_by(CategoryMajor.code)))
    return majors, list(db.scalars(select(Category).order_by(Category.code)))


def update_category(*, db: Session, code: str, changes: dict[str, Any]) -> Category:
    """Edit one class; filed events keep the names they were filed with."""
    category = db.get(Category, code)
    if category is None:
        raise not_found("category", "事件分类")
    if "platform" in changes:
        _check_platform(changes["platform"], "platform")
    if "default_level" in changes:
        check_level(changes["default_level"], "default_level")
    for key, value in changes.items():
        setattr(category, key, value)
    category.updated_at = utcnow()
    db.flush()
    rules_changed(db)
    return category


def create_category(*, db: Session, values: dict[str, Any]) -> Category:
    """Add a minor class under an existing major class."""
    if db.get(Category, values["code"]) is not None:
        raise Problem(
            409, "duplicate-code", "Code already in use", "编码已存在",
            f"category {values['code']} exists", f"分类 {values['code']} 已存在",
        )  # fmt: skip
    major = db.get(CategoryMajor, values["major_code"])
    if major is None:
        raise invalid("major_code", "unknown major class", "大类不存在")
    check_level(values["default_level"], "default_level")
    values = {"platform": major.platform, **values}
    _check_platform(values["platform"], "platform")
    category = Category(updated_at=utcnow(), active=True, **values)
    db.add(category)
    db.flush()
    rules_changed(db)
    return category


def list_rules(*, db: Session) -> list[RoutingRule]:
    return list(db.scalars(select(RoutingRule).order_by(RoutingRule.position)))


def _check_unit_serves_rule(db: Session, unit: Unit, town_id: int | None) -> None:
    """A rule naming a unit must name one that may own the events it routes (the same rule as
    dispatch): a department of the district, or a unit of the rule's town or one of its
    villages; a rule for every town can only name a district department."""
    place = db.get(OrgUnit, unit.org_unit_id)
    if place is None or place.kind == "district":
        return
    if town_id is not None and town_id in (place.id, place.parent_id):
        return
    where = "其所在镇街" if town_id is None else "该镇街"
    raise invalid(
        "unit_id",
        f"{unit.name} does not serve every place this rule routes: name a unit type, a district "
        "department, or a unit of the rule's town",
        f"{unit.name}不负责本规则覆盖的全部地区：请指定单位类型、区级部门，或将规则限定在{where}",
    )


def save_rule(*, db: Session, values: dict[str, Any], rule_id: int | None = None) -> RoutingRule:
    """Create or change a routing rule, checking that what it names exists."""
    rule = RoutingRule(active=True, note="") if rule_id is None else db.get(RoutingRule, rule_id)
    if rule is None:
        raise not_found("routing rule", "流转规则")
    merged = {
        key: values.get(key, getattr(rule, key, None))
        for key in (
            "position", "category_code", "major_code", "town_id", "district_id", "level",
            "unit_type", "unit_id", "note", "active", "assist_unit_types",
        )
    }  # fmt: skip
    merged["assist_unit_types"] = list(merged["assist_unit_types"] or [])
    if merged["position"] is None:
        raise invalid("position", "a rule needs a position", "规则须有顺序号")
    if (merged["unit_type"] is None) == (merged["unit_id"] is None):
        raise invalid(
            "unit_type",
            "name exactly one of unit_type and unit_id",
            "须且只能指定单位类型或单位之一",
        )
    if merged["category_code"] is not None and db.get(Category, merged["category_code"]) is None:
        raise invalid("category_code", "unknown class", "事件分类不存在")
    if merged["major_code"] is not None and db.get(CategoryMajor, merged["major_code"]) is None:
        raise invalid("major_code", "unknown major class", "大类不存在")
    if merged["level"] is not None:
        check_level(merged["level"], "level")
    if merged["town_id"] is not None:
        town = db.get(OrgUnit, merged["town_id"])
        if town is None or town.kind != "town":
            raise invalid("town_id", "not a town", "不是镇街")
    if merged["district_id"] is not None:
        district = db.get(OrgUnit, merged["district_id"])
        if district is None or district.kind != "district":
            raise invalid("district_id", "not a district", "不是区（县）")
    if merged["unit_id"] is not None:
        unit = db.get(Unit, merged["unit_id"])
        if unit is None:
            raise invalid("unit_id", "unknown unit", "责任单位不存在")
        _check_unit_serves_rule(db, unit, merged["town_id"])
    if merged["unit_type"] is not None:
        known = db.scalar(select(Unit.id).where(Unit.unit_type == merged["unit_type"]).limit(1))
        if known is None:
            raise invalid("unit_type", "no unit has this type", "没有此类型的责任单位")
    assists: list[str] = merged["assist_unit_types"] or []
    for assist in assists:
        if db.scalar(select(Unit.id).where(Unit.unit_type == assist).limit(1)) is None:
            raise invalid("assist_unit_types", f"no unit has type {assist}", "协办单位类型不存在")
        if assist == merged["unit_type"]:
            raise invalid(
                "assist_unit_types",
                "the lead's type cannot assist itself",
                "协办单位类型不能与主办相同",
            )
    clash = db.scalar(
        select(RoutingRule.id).where(
            RoutingRule.position == merged["position"], RoutingRule.id != (rule.id or 0)
        )
    )
    if clash is not None:
        raise Problem(
            409, "duplicate-position", "Position already in use", "顺序号已被占用",
            f"rule {clash} already has position {merged['position']}",
            f"规则 {clash} 已使用顺序号 {merged['position']}",
        )  # fmt: skip
    for key, value in merged.items():
        setattr(rule, key, value)
    db.add(rule)
    db.flush()
    rules_changed(db)
    return rule


def require_covers_rule(*, db: Session, principal: Principal, rule: RoutingRule) -> None:
    """A district's own rule is its administrators' (or those above it): 403 for another's."""
    if rule.district_id is not None:
        path = db.scalar(select(OrgUnit.path).where(OrgUnit.id == rule.district_id))
        principal.require_covers(path or "")
