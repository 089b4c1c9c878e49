"""Reading and editing the administrative tree and the responsible units, within a scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.org.importer import ImportReport, feature_of, import_tree
from fengqiao.org.models import GRID_TYPES, ORG_KINDS, PLATFORMS, ChangeCounter, OrgUnit, Unit
from fengqiao.scope import Principal, in_scope

GRIDS_COUNTER = "grids"
# Bumped when classes, routing, deadlines, questions or units change: every instance reloads
# its rules snapshot (taxonomy/snapshot.py) when it sees a new value.
RULES_COUNTER = "rules"
# What kind of body a responsible unit is (the words the demo seed files units under).
UNIT_CATEGORIES = (
    "district_department", "agency", "town_office", "coordination_group", "village_committee",
)  # fmt: skip
UNIT_CATEGORY_ZH = {
    "district_department": "区级部门", "agency": "派驻机构", "town_office": "镇街科室",
    "coordination_group": "平台协调组", "village_committee": "村（居）委会",
}  # fmt: skip


def read_counter(*, db: Session, name: str) -> int:
    return db.scalar(select(ChangeCounter.value).where(ChangeCounter.name == name)) or 0


def bump_counter(*, db: Session, name: str) -> None:
    """Tell every instance that data behind `name` changed (their caches compare the value)."""
    changed = db.execute(
        update(ChangeCounter)
        .where(ChangeCounter.name == name)
        .values(value=ChangeCounter.value + 1)
    )
    if getattr(changed, "rowcount", 0) == 0:
        db.add(ChangeCounter(name=name, value=1))
    db.flush()


def get_org_unit(
    *, db: Session, principal: Principal, code: str | None = None, unit_id: int | None = None
) -> OrgUnit:
    """An org unit by code (or id), refused when it lies outside the caller's scope."""
    where = OrgUnit.code == code if code is not None else OrgUnit.id == unit_id
    unit = db.scalar(select(OrgUnit).where(where))
    if unit is None:
        raise not_found("org unit", "该区划或网格")
    principal.require_covers(unit.path)
    return unit


def children(*, db: Session, unit: OrgUnit) -> list[OrgUnit]:
    return list(
        db.scalars(
            select(OrgUnit)
            .where(OrgUnit.parent_id == unit.id, OrgUnit.valid_to.is_(None))
            .order_by(OrgUnit.code)
        )
    )


def ancestors(*, db: Session, unit: OrgUnit) -> list[OrgUnit]:
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    rows = {u.id: u for u in db.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def summary(*, db: Session, principal: Principal) -> dict[str, int]:
    """Counts of towns, villages, grids and units in the caller's scope (the people in it are
    counted by `auth.service.staff_counts`)."""
    counts = dict(
        db.execute(
            select(OrgUnit.kind, func.count())
            .where(in_scope(principal, OrgUnit.path), OrgUnit.valid_to.is_(None))
            .group_by(OrgUnit.kind)
        ).all()
    )
    special = db.scalar(
        select(func.count()).where(
            in_scope(principal, OrgUnit.path),
            OrgUnit.kind == "grid",
            OrgUnit.grid_type != "residential",
            OrgUnit.valid_to.is_(None),
        )
    )
    units = db.scalar(
        select(func.count())
        .select_from(Unit)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        # the same units the units list shows: those at or above the caller's area
        .where(in_scope(principal, OrgUnit.path, with_ancestors=True))
    )
    return {
        "towns": counts.get("town", 0),
        "villages": counts.get("village", 0),
        "grids": counts.get("grid", 0),
        "special_grids": special or 0,
        "units": units or 0,
    }


def list_units(
    *,
    db: Session,
    principal: Principal,
    org_code: str | None = None,
    unit_type: str | None = None,
    platform: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[tuple[Unit, OrgUnit]]]:
    """Units at or above the caller's area (a town's agencies serve its grids too)."""
    query = (
        select(Unit, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(in_scope(principal, OrgUnit.path, with_ancestors=True))
    )
    if org_code:
        query = query.where(OrgUnit.code == org_code)
    if unit_type:
        query = query.where(Unit.unit_type == unit_type)
    if platform:
        query = query.where(Unit.platform == platform)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(query.order_by(Unit.code).offset(offset).limit(limit)).all()
    return total, list(rows)


def edit_org_unit(
    *,
    db: Session,
    principal: Principal,
    unit: OrgUnit,
    changes: dict[str, Any],
    settings: Settings,
    crs: str | None = None,
) -> ImportReport:
    """Change a unit through the importer, so an edit passes the same checks as an import."""
    principal.require_role("admin")
    principal.require_covers(unit.path)
    feature = feature_of(unit, None)
    props = {k: v for k, v in feature["properties"].items() if k != "parent"}
    if "geometry" not in changes:
        crs = None  # the stored polygon is WGS-84 already
    geometry = changes.pop("geometry", feature["geometry"])
    props.update(changes)
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": props, "geometry": geometry}],
    }
    report = import_tree(db=db, data=collection, settings=settings, crs=crs)
    bump_counter(db=db, name=GRIDS_COUNTER)
    return report


def list_org_units(
    *,
    db: Session,
    principal: Principal,
    kind: str | None = None,
    within: OrgUnit | None = None,
    grid_type: str | None = None,
    text: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[OrgUnit]]:
    """Current org units in the caller's scope (and under `within`), by code; (total, page)."""
    query = select(OrgUnit).where(in_scope(principal, OrgUnit.path), OrgUnit.valid_to.is_(None))
    if within is not None:
        query = query.where(OrgUnit.path.startswith(within.path, autoescape=True))
    if kind:
        query = query.where(OrgUnit.kind == kind)
    if grid_type:
        query = query.where(OrgUnit.grid_type == grid_type)
    if text:
        query = query.where(
            OrgUnit.name.contains(text, autoescape=True)
            | OrgUnit.code.startswith(text, autoescape=True)
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(OrgUnit.code).offset(offset).limit(limit))
    return total, list(rows)


def check_list_filters(kind: str | None, grid_type: str | None) -> None:
    """Refuse unknown kinds and grid types by name rather than returning an empty list."""
    if kind is not None and kind not in ORG_KINDS:
        raise invalid("kind", f"one of {', '.join(ORG_KINDS)}", f"须为：{'、'.join(ORG_KINDS)}")
    if grid_type is not None and grid_type not in GRID_TYPES:
        raise invalid(
            "grid_type", f"one of {', '.join(GRID_TYPES)}", f"须为：{'、'.join(GRID_TYPES)}"
        )


def _check_unit_fields(values: dict[str, Any]) -> None:
    if "category" in values and values["category"] not in UNIT_CATEGORIES:
        raise invalid(
            "category",
            f"one of {', '.join(UNIT_CATEGORIES)}",
            f"单位类别须为：{'、'.join(UNIT_CATEGORY_ZH[c] for c in UNIT_CATEGORIES)}之一",
        )
    if values.get("platform") is not None and values["platform"] not in PLATFORMS:
        raise invalid("platform", f"one of {', '.join(PLATFORMS)}", f"须为：{'、'.join(PLATFORMS)}")


def _units_changed(db: Session) -> None:
    # Routing reads units from each instance's rules snapshot: tell every instance to reload it.
    bump_counter(db=db, name=RULES_COUNTER)


def create_unit(*, db: Session, principal: Principal, values: dict[str, Any]) -> Unit:
    """Add a responsible unit at a district, town or village in the caller's area."""
    principal.require_role("admin")
    _check_unit_fields(values)
    org_code = values.pop("org_code")
    org = db.scalar(select(OrgUnit).where(OrgUnit.code == org_code, OrgUnit.valid_to.is_(None)))
    if org is None:
        raise invalid("org_code", f"no org unit {org_code}", f"不存在编码为 {org_code} 的区划")
    if org.kind == "grid":
        raise invalid(
            "org_code", "units sit at a district, town or village", "责任单位须设在区、镇街或村社"
        )
    principal.require_covers(org.path)
    code = values.pop("code", None)
    if code is None:
        taken = set(db.scalars(select(Unit.code).where(Unit.code.startswith(f"U{org.code}"))))
        sequence = 1
        while f"U{org.code}{sequence:02d}" in taken:
            sequence += 1
        code = f"U{org.code}{sequence:02d}"
    elif db.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Problem(
            409, "duplicate-code", "Code already in use", "编码已存在",
            f"unit {code} exists", f"单位编码 {code} 已被使用",
        )  # fmt: skip
    unit = Unit(code=code, org_unit_id=org.id, active=True, **values)
    db.add(unit)
    db.flush()
    _units_changed(db)
    return unit


def get_unit_in_scope(*, db: Session, principal: Principal, unit_id: int) -> tuple[Unit, OrgUnit]:
    """A unit whose org unit lies in the caller's subtree (where an admin may change it)."""
    row = db.execute(
        select(Unit, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.id == unit_id)
    ).first()
    if row is None:
        raise not_found("unit", "该单位")
    principal.require_covers(row[1].path)
    return row[0], row[1]


def edit_unit(*, db: Session, principal: Principal, unit: Unit, changes: dict[str, Any]) -> Unit:
    """Change a responsible unit; events keep the owner they have."""
    principal.require_role("admin")
    for key in ("name", "unit_type", "category", "active"):
        if key in changes and changes[key] is None:
            raise invalid(key, "may not be null", "不能为空")
    _check_unit_fields(changes)
    for key, value in changes.items():
        setattr(unit, key, value)
    db.flush()
    _units_changed(db)
    return unit


def towns_by_child(*, db: Session, root_id: int) -> dict[int, int]:
    """Each town below the unit `root_id` → the child of that unit it lies in (a province's
    city, a city's district, a district's town itself): the one-level-down breakdown."""
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.path).where(
            OrgUnit.kind == "town",
            OrgUnit.path.like(f"%/{root_id}/%"),
            OrgUnit.valid_to.is_(None),
        )
    ).all()
    found: dict[int, int] = {}
    for town_id, path in rows:
        parts = path.strip("/").split("/")
        at = parts.index(str(root_id))
        if at + 1 < len(parts):
            found[town_id] = int(parts[at + 1])
    return found


def ancestor_of_kind(*, db: Session, path: str, kind: str) -> int | None:
    """The id of the unit of `kind` on a materialised path (itself included), or None: the
    district of a grid whatever stands above the district."""
    ids = [int(part) for part in path.strip("/").split("/") if part]
    if not ids:
        return None
    return db.scalar(select(OrgUnit.id).where(OrgUnit.id.in_(ids), OrgUnit.kind == kind).limit(1))
