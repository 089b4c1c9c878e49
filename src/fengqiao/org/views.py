"""The org tree, org units, import/export and responsible units."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlalchemy import select

from fengqiao.bounds import BODY_BOUNDED
from fengqiao.deps import AppSettings, CurrentPrincipal, DbSession, WriteSession
from fengqiao.errors import forbidden, invalid, not_found
from fengqiao.org import service
from fengqiao.org.codes import kind_of_code
from fengqiao.org.importer import KIND_ORDER, export_tree, import_tree
from fengqiao.org.models import PLATFORMS, OrgUnit, Unit
from fengqiao.org.schemas import (
    ImportReportOut,
    OrgTreeNode,
    OrgUnitDetail,
    OrgUnitEdit,
    OrgUnitOut,
    UnitCreate,
    UnitEdit,
    UnitOut,
)
from fengqiao.paging import Page, Paging
from fengqiao.scope import Principal, in_scope

router = APIRouter(tags=["org"])


def org_out(unit: OrgUnit) -> OrgUnitOut:
    bbox = None
    if unit.min_lng is not None:
        bbox = [unit.min_lng, unit.min_lat, unit.max_lng, unit.max_lat]
    return OrgUnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        parent_id=unit.parent_id,
        path=unit.path,
        area_type=unit.area_type,
        village_type=unit.village_type,
        grid_type=unit.grid_type,
        households=unit.households,
        population=unit.population,
        bbox=bbox,
    )


@router.get("/org/tree", response_model=OrgTreeNode)
def org_tree(
    principal: CurrentPrincipal,
    db: DbSession,
    depth: Annotated[int, Query(ge=0, le=3, description="Levels below the root to include.")] = 2,
    root: Annotated[str | None, Query(description="Code of the root; default: your home.")] = None,
) -> OrgTreeNode:
    """The tree below the caller's home unit (or `root` inside their scope), `depth` levels deep."""
    if root is None:
        top = service.get_org_unit(db=db, principal=principal, unit_id=principal.home_org_id)
    else:
        top = _unit_by_code(db, principal, root)
    kinds = KIND_ORDER[KIND_ORDER.index(top.kind) : KIND_ORDER.index(top.kind) + depth + 1]
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
        .where(
            OrgUnit.path.startswith(top.path, autoescape=True),
            OrgUnit.kind.in_(kinds),
            OrgUnit.valid_to.is_(None),
        )
        .order_by(OrgUnit.code)
    ).all()
    nodes = {r.id: OrgTreeNode(id=r.id, code=r.code, name=r.name, kind=r.kind) for r in rows}
    for r in rows:
        if r.id != top.id and r.parent_id in nodes:
            nodes[r.parent_id].children.append(nodes[r.id])
    return nodes[top.id]


@router.get("/org/units", response_model=Page[OrgUnitOut])
def list_org_units(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    kind: Annotated[str | None, Query(description="district, town, village or grid")] = None,
    within: Annotated[str | None, Query(description="Code of an org unit to list below.")] = None,
    grid_type: Annotated[
        str | None, Query(description="residential, market, enterprise or school")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name or a code.")] = None,
) -> Page[OrgUnitOut]:
    """Org units in the caller's scope, e.g. the grids of a town, by code, page by page."""
    service.check_list_filters(kind, grid_type)
    top = _unit_by_code(db, principal, within) if within else None
    total, rows = service.list_org_units(
        db=db, principal=principal, kind=kind, within=top, grid_type=grid_type,
        text=(q or "").strip() or None, offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return Page(items=[org_out(u) for u in rows], total=total, page=paging.page, size=paging.size)


@router.get("/org/units/{code}", response_model=OrgUnitDetail)
def org_unit(code: str, principal: CurrentPrincipal, db: DbSession) -> OrgUnitDetail:
    """One org unit by code, with its ancestors and children."""
    unit = _unit_by_code(db, principal, code)
    return OrgUnitDetail(
        **org_out(unit).model_dump(),
        ancestors=[org_out(a) for a in service.ancestors(db=db, unit=unit)],
        children=[org_out(c) for c in service.children(db=db, unit=unit)],
        geometry=unit.geometry,
    )


def _unit_by_code(db: Any, principal: Principal, code: str) -> OrgUnit:
    if kind_of_code(code) is None:
        raise invalid(
            "code", "an org code has 6, 9, 12 or 15 digits", "区划编码应为 6/9/12/15 位数字"
        )
    return service.get_org_unit(db=db, principal=principal, code=code)


@router.patch("/org/units/{code}", response_model=OrgUnitOut)
def edit_org_unit(
    code: str,
    body: OrgUnitEdit,
    principal: CurrentPrincipal,
    db: WriteSession,
    settings: AppSettings,
    crs: str | None = None,
) -> OrgUnitOut:
    """Change an org unit (administrators); caps, polygon and overlap checks as on import."""
    unit = _unit_by_code(db, principal, code)
    changes = body.model_dump(exclude_unset=True)
    service.edit_org_unit(
        db=db, principal=principal, unit=unit, changes=changes, settings=settings, crs=crs
    )
    db.commit()
    db.refresh(unit)
    return org_out(unit)


@router.post("/org/import", response_model=ImportReportOut)
def import_org(
    principal: CurrentPrincipal,
    db: WriteSession,
    settings: AppSettings,
    collection: Annotated[
        dict[str, Any],
        Body(description="A GeoJSON FeatureCollection (the import limit of the body bounds it)."),
        BODY_BOUNDED,
    ],
    crs: Annotated[str | None, Query(description="wgs84, cgcs2000, gcj02 or bd09")] = None,
) -> ImportReportOut:
    """Import org units from GeoJSON, all or nothing (district administrators)."""
    principal.require_role("admin")
    top = db.scalar(select(OrgUnit.path).where(OrgUnit.parent_id.is_(None)).limit(1))
    if top is not None and principal.home_path != top:
        raise forbidden(
            "only an administrator of the whole district imports the tree",
            "只有管理整棵区划树（最上一级）的管理员可以导入区划",
        )
    report = import_tree(db=db, data=collection, settings=settings, crs=crs)
    service.bump_counter(db=db, name=service.GRIDS_COUNTER)
    db.commit()
    return ImportReportOut(
        created=report.created,
        updated=report.updated,
        by_kind=report.by_kind,
        rerooted=report.rerooted,
    )


@router.get("/org/export")
def export_org(principal: CurrentPrincipal, db: DbSession) -> dict[str, Any]:
    """The caller's part of the tree as GeoJSON, in the import format."""
    principal.require_role("admin", "operator", "leader")
    return export_tree(db=db, root_path=principal.home_path)


def unit_out(unit: Unit, org: OrgUnit) -> UnitOut:
    return UnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        unit_type=unit.unit_type,
        category=unit.category,
        platform=unit.platform,
        org={"id": org.id, "code": org.code, "name": org.name, "kind": org.kind},
        phone=unit.phone,
        duty_phone=unit.duty_phone,
        active=unit.active,
    )


@router.get("/units", response_model=Page[UnitOut])
def list_units(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    org: Annotated[str | None, Query(description="Code of the org unit the units sit at.")] = None,
    unit_type: str | None = None,
    platform: str | None = None,
) -> Page[UnitOut]:
    """Responsible units at or above the caller's area."""
    if platform is not None and platform not in PLATFORMS:
        raise invalid("platform", f"one of {', '.join(PLATFORMS)}", f"须为：{'、'.join(PLATFORMS)}")
    total, rows = service.list_units(
        db=db, principal=principal, org_code=org, unit_type=unit_type, platform=platform,
        offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return Page(
        items=[unit_out(u, o) for u, o in rows], total=total, page=paging.page, size=paging.size
    )


@router.get("/units/{unit_id}", response_model=UnitOut)
def get_unit(unit_id: int, principal: CurrentPrincipal, db: DbSession) -> UnitOut:
    """One responsible unit, if it serves the caller's area."""
    row = db.execute(
        select(Unit, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.id == unit_id)
    ).first()
    if row is None:
        raise not_found("unit", "该单位")
    visible = db.scalar(
        select(OrgUnit.id).where(
            OrgUnit.id == row[1].id, in_scope(principal, OrgUnit.path, with_ancestors=True)
        )
    )
    if visible is None:
        principal.require_covers(row[1].path)
    return unit_out(*row)


@router.post("/units", response_model=UnitOut, status_code=201)
def create_unit(body: UnitCreate, principal: CurrentPrincipal, db: WriteSession) -> UnitOut:
    """Add a responsible unit at an org unit in the caller's area (administrators)."""
    unit = service.create_unit(db=db, principal=principal, values=body.model_dump())
    db.commit()
    org = db.get(OrgUnit, unit.org_unit_id)
    assert org is not None
    return unit_out(unit, org)


@router.patch("/units/{unit_id}", response_model=UnitOut)
def edit_unit(
    unit_id: int, body: UnitEdit, principal: CurrentPrincipal, db: WriteSession
) -> UnitOut:
    """Change a responsible unit (administrators); `active: false` takes it out of routing."""
    principal.require_role("admin")
    unit, org = service.get_unit_in_scope(db=db, principal=principal, unit_id=unit_id)
    service.edit_unit(
        db=db, principal=principal, unit=unit, changes=body.model_dump(exclude_unset=True)
    )
    db.commit()
    return unit_out(unit, org)
