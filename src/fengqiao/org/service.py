"""Reading and editing the administrative tree and the responsible units, within a scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.auth.scope import Principal, in_scope
from fengqiao.config import Settings
from fengqiao.errors import not_found
from fengqiao.org.importer import ImportReport, feature_of, import_tree
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit

GRIDS_COUNTER = "grids"


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
    """Counts of towns, villages, grids, grid workers, units and users in the caller's scope."""
    counts = dict(
        db.execute(
            select(OrgUnit.kind, func.count())
            .where(in_scope(principal, OrgUnit.path), OrgUnit.valid_to.is_(None))
            .group_by(OrgUnit.kind)
        ).all()
    )
    scoped_users = (
        select(User.id)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(in_scope(principal, OrgUnit.path), User.is_active.is_(True))
    )
    grid_workers = db.scalar(
        select(func.count(func.distinct(GridAssignment.user_id))).where(
            GridAssignment.user_id.in_(scoped_users)
        )
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
    users = db.scalar(select(func.count()).select_from(scoped_users.subquery()))
    operators = db.scalar(
        select(func.count()).where(UserRole.role == "operator", UserRole.user_id.in_(scoped_users))
    )
    return {
        "towns": counts.get("town", 0),
        "villages": counts.get("village", 0),
        "grids": counts.get("grid", 0),
        "special_grids": special or 0,
        "grid_workers": grid_workers or 0,
        "units": units or 0,
        "users": users or 0,
        "operators": operators or 0,
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
