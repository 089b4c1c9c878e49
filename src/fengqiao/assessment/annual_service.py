"""The annual assessment's writes: a year's scheme (district leaders and administrators, until
the year is closed), closing a year, a department's evaluation (by the area that judges it:
a dispatched agency by its own town's leader, a district department by the district's), and
the confirmed list of benchmark towns. Each checks the caller, the version, writes, and leaves
a row in `annual_log`; they flush, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment.annual import (
    BENCHMARK_PARTS,
    DEFAULT_BENCHMARK_COUNT,
    DEFAULT_BENCHMARK_WEIGHTS,
    DEFAULT_DEPARTMENT_WEIGHTS,
    DEFAULT_WEIGHTS,
    DEPARTMENT_CATEGORIES,
    DEPARTMENT_PARTS,
    PART_ZH,
    TOWN_PARTS,
    Report,
)
from fengqiao.assessment.annual_models import (
    SCHEME_STATUS_ZH,
    AnnualLog,
    AnnualScheme,
    BenchmarkList,
    UnitEvaluation,
)
from fengqiao.auth.models import User
from fengqiao.errors import Problem, check_version, conflict, forbidden, invalid, not_found
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal

READERS = ("operator", "leader", "admin")
SCHEME_WRITERS = ("leader", "admin")  # at the district
EVALUATORS = ("leader",)  # of the area that holds the department
WEIGHT_SETS: dict[str, tuple[tuple[str, str], ...]] = {
    "weights": TOWN_PARTS,
    "department_weights": DEPARTMENT_PARTS,
    "benchmark_weights": BENCHMARK_PARTS,
}


def check_weights(field: str, given: Mapping[str, float]) -> dict[str, float]:
    """Weights naming exactly the set's components, each 0-100, summing to 100."""
    keys = [key for key, _ in WEIGHT_SETS[field]]
    for key in given:
        if key not in keys:
            raise invalid(
                f"{field}.{key}", f"not a component; the components are {', '.join(keys)}",
                f"不是考核项；考核项为{'、'.join(PART_ZH[k] for k in keys)}",
            )  # fmt: skip
    for key in keys:
        if key not in given:
            raise invalid(f"{field}.{key}", "missing: give every component a weight (0 is allowed)",
                          f"缺少{PART_ZH[key]}的权重（可为0）")  # fmt: skip
    total = sum(given.values())
    if abs(total - 100.0) > 1e-6:
        raise invalid(
            field, f"the weights sum to {total:g}, not 100", f"各项权重之和为 {total:g}，应为 100"
        )
    return {key: float(given[key]) for key in keys}


def root_of(db: Session) -> OrgUnit:
    """The root of the tree: the district of a district-only database, else the province."""
    root = db.scalars(
        select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1)
    ).first()
    if root is None:
        raise not_found("district", "区")
    return root


def district_for(db: Session, principal: Principal, chosen: int | None) -> OrgUnit:
    """The district whose towns and departments are assessed: the chosen one (in the caller's
    area, or the one the caller's home lies in), else the caller's own district, else (a city or
    province home) the first district of its area by code."""
    if chosen is not None:
        district = db.get(OrgUnit, chosen)
        if district is None or district.kind != "district":
            raise invalid("district", f"no district with id {chosen}", f"区县 {chosen} 不存在")
        if not (principal.covers(district.path) or principal.home_path.startswith(district.path)):
            raise forbidden("this district lies outside your area", "该区县不在您的管辖范围内")
        return district
    ids = [int(p) for p in principal.home_path.strip("/").split("/") if p.isdigit()]
    district = db.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == "district").limit(1)
    ).first() or db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == "district",
               OrgUnit.path.startswith(principal.home_path, autoescape=True))
        .order_by(OrgUnit.code).limit(1)
    ).first()  # fmt: skip
    if district is None:
        raise not_found("district", "区")
    return district


def districts_of(db: Session, principal: Principal) -> list[OrgUnit]:
    """The districts a caller may choose: those of their area, or the one they are in."""
    ids = [int(p) for p in principal.home_path.strip("/").split("/") if p.isdigit()]
    return list(db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == "district",
               OrgUnit.path.startswith(principal.home_path, autoescape=True) | OrgUnit.id.in_(ids))
        .order_by(OrgUnit.code)
    ))  # fmt: skip


def at_district(db: Session, principal: Principal) -> bool:
    """True when the caller's home is the root of the tree: the district of a district-only
    database (not a town or below); with several districts, the province, whose scheme and
    benchmark list (one per year) every district shares."""
    return principal.home_path == root_of(db).path


def get_scheme(db: Session, year: int, *, lock: bool = False) -> AnnualScheme | None:
    query = select(AnnualScheme).where(AnnualScheme.year == year)
    return db.scalars(query.with_for_update() if lock else query).first()


def scheme_weights(scheme: AnnualScheme | None) -> tuple[dict[str, float], dict[str, float],
                                                         dict[str, float], int]:  # fmt: skip
    """The year's weights (towns, departments, benchmark towns) and benchmark count: stored,
    or the defaults."""
    if scheme is None:
        return (dict(DEFAULT_WEIGHTS), dict(DEFAULT_DEPARTMENT_WEIGHTS),
                dict(DEFAULT_BENCHMARK_WEIGHTS), DEFAULT_BENCHMARK_COUNT)  # fmt: skip
    return (dict(scheme.weights), dict(scheme.department_weights),
            dict(scheme.benchmark_weights), scheme.benchmark_count)  # fmt: skip


def _name(db: Session, user_id: int | None) -> str | None:
    return None if user_id is None else db.scalar(select(User.name).where(User.id == user_id))


def can_write_scheme(db: Session, principal: Principal) -> bool:
    return principal.has_any(*SCHEME_WRITERS) and at_district(db, principal)


def scheme_out(db: Session, principal: Principal, year: int,
               scheme: AnnualScheme | None) -> dict[str, Any]:  # fmt: skip
    weights, department, benchmark, count = scheme_weights(scheme)
    status = scheme.status if scheme else "open"
    return {
        "year": year, "stored": scheme is not None, "status": status,
        "status_name": SCHEME_STATUS_ZH[status], "weights": weights,
        "department_weights": department, "benchmark_weights": benchmark,
        "benchmark_count": count, "names": dict(PART_ZH),
        "version": scheme.version if scheme else 0,
        "updated_by": _name(db, scheme.updated_by) if scheme else None,
        "updated_at": scheme.updated_at if scheme else None,
        "closed_by": _name(db, scheme.closed_by) if scheme else None,
        "closed_at": scheme.closed_at if scheme else None,
        "can_edit": status == "open" and can_write_scheme(db, principal),
    }  # fmt: skip


def _closed(year: int) -> Problem:
    return conflict(
        "year-closed", "The year is closed", "年度考核已封存",
        f"the assessment of {year} is closed; nothing of it may change",
        f"{year}年度考核已封存，不能再修改",
    )  # fmt: skip


def _log(db: Session, *, year: int, actor: Principal, action: str, now: datetime,
         unit_id: int | None = None, note: str | None = None) -> None:  # fmt: skip
    db.add(AnnualLog(year=year, at=now, actor_id=actor.user_id, action=action, unit_id=unit_id,
                     note=note))  # fmt: skip


def _require_district_writer(db: Session, principal: Principal) -> None:
    principal.require_role(*SCHEME_WRITERS)
    if not at_district(db, principal):
        raise forbidden(
            "only the district's leaders and administrators set the annual scheme",
            "年度考核方案只能由区县级领导或管理员调整",
        )


def save_scheme(*, db: Session, principal: Principal, year: int, weights: Mapping[str, float],
                department_weights: Mapping[str, float], benchmark_weights: Mapping[str, float],
                benchmark_count: int, version: int, now: datetime) -> AnnualScheme:  # fmt: skip
    """Store a year's scheme (or change it) while the year is open."""
    _require_district_writer(db, principal)
    checked = {
        "weights": check_weights("weights", weights),
        "department_weights": check_weights("department_weights", department_weights),
        "benchmark_weights": check_weights("benchmark_weights", benchmark_weights),
    }
    scheme = get_scheme(db, year, lock=True)
    check_version(version, scheme.version if scheme else 0, what="scheme", what_zh="考核方案")
    if scheme is not None and scheme.status == "closed":
        raise _closed(year)
    if scheme is None:
        scheme = AnnualScheme(year=year, status="open", version=0)
        db.add(scheme)
    scheme.weights, scheme.department_weights = checked["weights"], checked["department_weights"]
    scheme.benchmark_weights, scheme.benchmark_count = checked["benchmark_weights"], benchmark_count
    scheme.version += 1
    scheme.updated_by, scheme.updated_at = principal.user_id, now
    note = "；".join(
        "、".join(f"{PART_ZH[k]}{v:g}" for k, v in values.items()) for values in checked.values()
    )
    _log(db, year=year, actor=principal, action="scheme", now=now, note=note[:500])
    db.flush()
    return scheme


def close_year(*, db: Session, principal: Principal, year: int, version: int,
               now: datetime) -> AnnualScheme:  # fmt: skip
    """Close a year: its scheme, evaluations and benchmark list no longer change."""
    _require_district_writer(db, principal)
    scheme = get_scheme(db, year, lock=True)
    if scheme is None:
        raise invalid("year", "store the year's scheme before closing it",
                      "请先保存该年度的考核方案再封存")  # fmt: skip
    check_version(version, scheme.version, what="scheme", what_zh="考核方案")
    if scheme.status == "closed":
        raise _closed(year)
    scheme.status, scheme.closed_by, scheme.closed_at = "closed", principal.user_id, now
    scheme.version += 1
    _log(db, year=year, actor=principal, action="close", now=now)
    db.flush()
    return scheme


def department(db: Session, unit_id: int) -> tuple[Unit, OrgUnit]:
    """A department that is assessed (a dispatched agency or a district department)."""
    unit = db.get(Unit, unit_id)
    if unit is None or unit.category not in DEPARTMENT_CATEGORIES:
        raise not_found("department", "部门")
    area = db.get(OrgUnit, unit.org_unit_id)
    assert area is not None
    return unit, area


def can_evaluate(principal: Principal, unit: Unit) -> bool:
    """A department is judged by the leaders of the area that holds it: an agency by its town's
    (never another town's, nor the district's), a district department by the district's."""
    return principal.has_any(*EVALUATORS) and principal.home_org_id == unit.org_unit_id


def evaluate(*, db: Session, principal: Principal, year: int, unit_id: int, score: float,
             note: str | None, version: int, now: datetime) -> UnitEvaluation:  # fmt: skip
    """Enter (or change) a department's evaluation score of the year."""
    principal.require_role(*EVALUATORS)
    unit, _area = department(db, unit_id)
    if not can_evaluate(principal, unit):
        raise forbidden(
            "a dispatched agency is judged by its own town's leaders, a district department by "
            "the district's",
            "派驻机构由所在镇街领导评价，区级部门由区领导评价",
        )
    scheme = get_scheme(db, year, lock=True)
    if scheme is not None and scheme.status == "closed":
        raise _closed(year)
    row = db.scalars(
        select(UnitEvaluation)
        .where(UnitEvaluation.year == year, UnitEvaluation.unit_id == unit_id)
        .with_for_update()
    ).first()
    check_version(version, row.version if row else 0, what="evaluation", what_zh="评价")
    if row is None:
        row = UnitEvaluation(year=year, unit_id=unit_id, version=0)
        db.add(row)
    row.score, row.note = round(score, 1), (note or "").strip() or None
    row.entered_by, row.entered_at = principal.user_id, now
    row.version += 1
    _log(db, year=year, actor=principal, action="evaluate", now=now, unit_id=unit_id,
         note=f"{row.score:g}")  # fmt: skip
    db.flush()
    return row


def can_confirm(db: Session, principal: Principal) -> bool:
    return can_write_scheme(db, principal)


def confirm_benchmarks(*, db: Session, principal: Principal, year: int, town_ids: Sequence[int],
                       standings: Sequence[Report], count: int, note: str | None,
                       now: datetime) -> BenchmarkList:  # fmt: skip
    """Store the year's benchmark towns as the district confirms them (again while the year is
    open), with the standings they were chosen from."""
    _require_district_writer(db, principal)
    scheme = get_scheme(db, year, lock=True)
    if scheme is not None and scheme.status == "closed":
        raise _closed(year)
    if len(set(town_ids)) != len(town_ids):
        raise invalid("town_ids", "a town is listed twice", "同一镇街重复列出")
    if len(town_ids) != count:
        raise invalid("town_ids", f"the list holds {count} towns, not {len(town_ids)}",
                      f"标杆镇街名单应为 {count} 个，实际 {len(town_ids)} 个")  # fmt: skip
    ranked = {r.id: r for r in standings}
    for town_id in town_ids:
        if town_id not in ranked:
            raise invalid("town_ids", f"{town_id} is not a town", f"{town_id} 不是镇街")
        if ranked[town_id].total is None:
            raise invalid("town_ids", f"{ranked[town_id].name} has no standing this year",
                          f"{ranked[town_id].name}本年度无评分，不能列为标杆")  # fmt: skip
    row = db.get(BenchmarkList, year)
    if row is None:
        row = BenchmarkList(year=year)
        db.add(row)
    row.town_ids = list(town_ids)
    row.standings = [
        {"id": r.id, "name": r.name, "total": r.total, "rank": r.rank,
         "parts": {p.key: p.score for p in r.parts}}
        for r in standings
    ]  # fmt: skip
    row.note = (note or "").strip() or None
    row.confirmed_by, row.confirmed_at = principal.user_id, now
    names = "、".join(ranked[t].name for t in town_ids)
    _log(db, year=year, actor=principal, action="confirm", now=now, note=names[:500])
    db.flush()
    return row
