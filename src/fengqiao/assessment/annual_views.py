"""The annual target assessment (/api/v1/assessment/annual) and the benchmark towns
(/api/v1/assessment/benchmarks) over HTTP. Readers are operators, leaders and administrators,
each within their own area: the district's see every town and department, a town's its own
town and the agencies dispatched to it."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from fengqiao.analytics.service import today
from fengqiao.assessment import annual, annual_service
from fengqiao.assessment.annual_models import BenchmarkList
from fengqiao.assessment.annual_schemas import (
    AnnualOut,
    BenchmarkConfirmIn,
    BenchmarkOut,
    EvaluationIn,
    ReportOut,
    SchemeIn,
    SchemeOut,
    YearStep,
)
from fengqiao.assessment.annual_year import Year, compute
from fengqiao.config import Settings
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.exports import csv_download
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal

router = APIRouter(tags=["assessment"])

YearQuery = Annotated[
    int | None, Query(ge=2000, le=2100, description="The year (default: this year).")
]
DistrictQuery = Annotated[
    int | None,
    Query(ge=1, le=2**31 - 1, description="The district assessed (default: the caller's own; "
          "a city or province home: the first of its districts)."),
]  # fmt: skip


def _year(year: int | None, local_today: date) -> int:
    chosen = year or local_today.year
    if chosen > local_today.year:
        raise invalid("year", "a year still to come has no assessment", "未来年度尚无考核")
    return chosen


def report_out(report: annual.Report, principal: Principal | None = None) -> dict[str, Any]:
    return {
        "kind": report.kind, "id": report.id, "name": report.name, "area": report.area,
        "area_id": report.area_id, "total": report.total, "grade": report.grade,
        "rank": report.rank, "formula": report.formula,
        "parts": [vars(part) for part in report.parts],
        "evaluation_note": report.extra.get("note"),
        "evaluation_version": report.extra.get("version", 0),
        "can_evaluate": principal is not None and report.kind != "town"
        and principal.has_any(*annual_service.EVALUATORS)
        and principal.home_org_id == report.area_id,
    }  # fmt: skip


def _reading(principal: Principal) -> None:
    principal.require_role(*annual_service.READERS)


def _computed(principal: Principal, database: AppDatabase, settings: Settings, clock: AppClock,
              year: int | None, district: int | None = None) -> Year:  # fmt: skip
    _reading(principal)
    local_today = today(clock.now())
    chosen = _year(year, local_today)
    with database.session() as db:
        return compute(db, principal=principal, year=chosen, local_today=local_today,
                       settings=settings, district_id=district)  # fmt: skip


def _districts(principal: Principal, database: AppDatabase) -> list[dict[str, Any]]:
    with database.session() as db:
        return _district_list(db, principal)


def _district_list(db: Session, principal: Principal) -> list[dict[str, Any]]:
    return [{"id": d.id, "name": d.name} for d in annual_service.districts_of(db, principal)]


def _visible(principal: Principal, reports: list[annual.Report]) -> list[annual.Report]:
    return [r for r in reports if principal.covers(r.path)]


@router.get("/assessment/annual", response_model=AnnualOut,
            summary="Annual target assessment (年度岗位目标责任制考核)")  # fmt: skip
def annual_assessment(principal: CurrentPrincipal, database: AppDatabase, settings: AppSettings,
                      clock: AppClock, year: YearQuery = None,
                      district: DistrictQuery = None) -> dict[str, Any]:  # fmt: skip
    """Every town's and department's report of the year in the caller's area: each
    component's raw value, 0-100 score, weight and points, the total, grade and rank, and the
    formula (see docs/mechanisms.md). One district at a time, ranked within it: `district`
    (the caller's own by default); `districts` lists those the caller may choose."""
    result = _computed(principal, database, settings, clock, year, district)
    return {
        "district": result.district, "districts": _districts(principal, database),
        "year": result.year, "partial": result.partial, "months": result.months,
        "counted": result.counted, "missing_inputs": result.inputs.missing(), "scheme": result.scheme,
        "towns": [report_out(r) for r in _visible(principal, result.towns)],
        "departments": [report_out(r, principal)
                        for r in _visible(principal, result.departments)],
    }  # fmt: skip


@router.get("/assessment/annual/export", summary="Annual assessment as CSV")
def annual_export(principal: CurrentPrincipal, database: AppDatabase, settings: AppSettings,
                  clock: AppClock, year: YearQuery = None,
                  format: Literal["csv", "xlsx"] = "csv",
                  district: DistrictQuery = None) -> Response:  # fmt: skip
    """Towns then departments of one district, one line each, with Chinese headers: UTF-8
    CSV (opens in Excel) or an XLSX workbook."""
    result = _computed(principal, database, settings, clock, year, district)
    header = ["类别", "名称", "所属", "排名", "总分", "等级"] + [
        name for _, name in (*annual.TOWN_PARTS, annual.DEPARTMENT_PARTS[0])
    ]
    kinds = {"town": "镇街", **annual.DEPARTMENT_CATEGORIES}
    keys = [key for key, _ in (*annual.TOWN_PARTS, annual.DEPARTMENT_PARTS[0])]
    rows = []
    for report in _visible(principal, result.towns) + _visible(principal, result.departments):
        scores = {p.key: p.score for p in report.parts}
        rows.append(
            [kinds[report.kind], report.name, report.area, report.rank or "",
             "" if report.total is None else f"{report.total:.1f}", report.grade or ""]
            + ["" if scores.get(k) is None else f"{scores[k]:.1f}" for k in keys]
        )  # fmt: skip
    name = f"annual-assessment-{result.year}"
    if format == "csv":
        return csv_download(header, rows, filename=f"{name}.csv")
    return Response(_xlsx(f"{result.year}年度考核", header, rows), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})  # fmt: skip


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _hidden_outside(principal: Principal, database: AppDatabase, settings: Settings,
                    clock: AppClock, year: int | None, district: int | None, what: str,
                    what_zh: str) -> Year:  # fmt: skip
    """The year of the district holding one report; 404 (not 403) when that district lies
    outside the caller's area, as for any report they may not read."""
    try:
        return _computed(principal, database, settings, clock, year, district)
    except Problem as refused:
        if refused.status == 403 and district is not None:
            raise not_found(what, what_zh) from None
        raise


def _district_holding(database: AppDatabase, org_id: int | None, unit_id: int | None) -> int | None:
    """The district of a town (`org_id`) or of a department's area (`unit_id`), so that its
    report is computed among its own district's; None when there is no such place (404 later)."""
    with database.session() as db:
        if unit_id is not None:
            unit = db.get(Unit, unit_id)
            org_id = unit.org_unit_id if unit is not None else None
        place = db.get(OrgUnit, org_id) if org_id is not None else None
        if place is None or place.kind not in ("district", "town"):
            return None
        return place.id if place.kind == "district" else place.parent_id


def _one(reports: list[annual.Report], principal: Principal, wanted: int,
         what: str, what_zh: str) -> annual.Report:  # fmt: skip
    found = next((r for r in reports if r.id == wanted and principal.covers(r.path)), None)
    if found is None:
        raise not_found(what, what_zh)
    return found


@router.get("/assessment/annual/towns/{town_id}", response_model=ReportOut,
            summary="One town's annual report")  # fmt: skip
def town_report(town_id: int, principal: CurrentPrincipal, database: AppDatabase,
                settings: AppSettings, clock: AppClock,
                year: YearQuery = None) -> dict[str, Any]:  # fmt: skip
    """404 for a town outside the caller's area."""
    result = _hidden_outside(principal, database, settings, clock, year,
                             _district_holding(database, town_id, None), "town", "镇街")  # fmt: skip
    return report_out(_one(result.towns, principal, town_id, "town", "镇街"))


@router.get("/assessment/annual/departments/{unit_id}", response_model=ReportOut,
            summary="One department's annual report")  # fmt: skip
def department_report(unit_id: int, principal: CurrentPrincipal, database: AppDatabase,
                      settings: AppSettings, clock: AppClock,
                      year: YearQuery = None) -> dict[str, Any]:  # fmt: skip
    """A dispatched agency or a district department; 404 outside the caller's area."""
    result = _hidden_outside(principal, database, settings, clock, year,
                             _district_holding(database, None, unit_id), "department", "部门")  # fmt: skip
    return report_out(_one(result.departments, principal, unit_id, "department", "部门"),
                      principal)  # fmt: skip


@router.get("/assessment/annual/scheme", response_model=SchemeOut, summary="A year's scheme")
def read_scheme(principal: CurrentPrincipal, database: AppDatabase, clock: AppClock,
                year: YearQuery = None) -> dict[str, Any]:  # fmt: skip
    """The weights stored for the year, or the defaults while none are."""
    _reading(principal)
    chosen = year or today(clock.now()).year
    with database.session() as db:
        return annual_service.scheme_out(db, principal, chosen,
                                         annual_service.get_scheme(db, chosen))  # fmt: skip


@router.put("/assessment/annual/scheme", response_model=SchemeOut, summary="Set a year's scheme")
def put_scheme(body: SchemeIn, principal: CurrentPrincipal, database: AppDatabase,
               clock: AppClock) -> dict[str, Any]:  # fmt: skip
    """District leaders and administrators, while the year is open; each set of weights names
    all its components and sums to 100 (else 422 naming the set); send the version read."""
    with database.transaction() as db:
        scheme = annual_service.save_scheme(
            db=db, principal=principal, year=body.year, weights=body.weights,
            department_weights=body.department_weights, benchmark_weights=body.benchmark_weights,
            benchmark_count=body.benchmark_count, version=body.version, now=clock.now(),
        )  # fmt: skip
        return annual_service.scheme_out(db, principal, body.year, scheme)


@router.post("/assessment/annual/scheme/close", response_model=SchemeOut,
             summary="Close a year's assessment")  # fmt: skip
def close_scheme(body: YearStep, principal: CurrentPrincipal, database: AppDatabase,
                 clock: AppClock) -> dict[str, Any]:  # fmt: skip
    """Nothing of a closed year changes again: scheme, evaluations, benchmark list."""
    with database.transaction() as db:
        scheme = annual_service.close_year(db=db, principal=principal, year=body.year,
                                           version=body.version, now=clock.now())  # fmt: skip
        return annual_service.scheme_out(db, principal, body.year, scheme)


@router.put("/assessment/annual/evaluations/{unit_id}", response_model=ReportOut,
            summary="Evaluate a department for a year")  # fmt: skip
def put_evaluation(unit_id: int, body: EvaluationIn, principal: CurrentPrincipal,
                   database: AppDatabase, settings: AppSettings,
                   clock: AppClock) -> dict[str, Any]:  # fmt: skip
    """A dispatched agency by its own town's leader (403 for another town's), a district
    department by the district's; 0-100; send the version read (0 the first time)."""
    now = clock.now()
    local_today = today(now)
    chosen = _year(body.year, local_today)
    with database.transaction() as db:
        annual_service.evaluate(db=db, principal=principal, year=chosen, unit_id=unit_id,
                                score=body.score, note=body.note, version=body.version,
                                now=now)  # fmt: skip
    with database.session() as db:
        result = compute(db, principal=principal, year=chosen, local_today=local_today,
                         settings=settings)  # fmt: skip
    return report_out(_one(result.departments, principal, unit_id, "department", "部门"),
                      principal)  # fmt: skip


def _benchmark_out(db: Session, principal: Principal, result: Year) -> dict[str, Any]:
    stored = db.get(BenchmarkList, result.year)
    count = result.scheme["benchmark_count"]
    names = {r.id: r.name for r in result.benchmarks}
    seen = {r.id for r in _visible(principal, result.benchmarks)}
    ranked = sorted((r for r in result.benchmarks if r.rank is not None), key=lambda r: r.rank or 0)
    return {
        "district": result.district,
        "districts": _district_list(db, principal),
        "year": result.year, "scheme": result.scheme, "missing_inputs": result.inputs.missing(),
        "standings": [report_out(r) for r in _visible(principal, result.benchmarks)],
        "proposed": [r.id for r in ranked[:count]],
        "proposed_names": [r.name for r in ranked[:count]],
        "confirmed": list(stored.town_ids) if stored else None,
        "confirmed_by": annual_service._name(db, stored.confirmed_by) if stored else None,
        "confirmed_at": stored.confirmed_at if stored else None,
        "confirmed_note": stored.note if stored else None,
        "confirmed_names": [names.get(t, "") for t in stored.town_ids] if stored else [],
        "confirmed_standings": [s for s in stored.standings if s["id"] in seen] if stored else [],
        "can_confirm": result.scheme["status"] == "open"
        and annual_service.can_confirm(db, principal),
    }  # fmt: skip


@router.get("/assessment/benchmarks", response_model=BenchmarkOut,
            summary="Benchmark towns (标杆镇街): standings and the annual list")  # fmt: skip
def benchmarks(principal: CurrentPrincipal, database: AppDatabase, settings: AppSettings,
               clock: AppClock, year: YearQuery = None,
               district: DistrictQuery = None) -> dict[str, Any]:  # fmt: skip
    """Every town's standing on the standard (self-assessment, round scores), 工作成效明显 and
    群众满意, the best proposed, and the list the district confirmed (who, when). Town staff
    see their own town's standing and the names on the confirmed list. One district's towns:
    `district`, the caller's own by default."""
    _reading(principal)
    local_today = today(clock.now())
    chosen = _year(year, local_today)
    with database.session() as db:
        result = compute(db, principal=principal, year=chosen, local_today=local_today,
                         settings=settings, district_id=district)  # fmt: skip
        return _benchmark_out(db, principal, result)


@router.post("/assessment/benchmarks/confirm", response_model=BenchmarkOut,
             summary="Confirm the year's benchmark towns")  # fmt: skip
def confirm(body: BenchmarkConfirmIn, principal: CurrentPrincipal, database: AppDatabase,
            settings: AppSettings, clock: AppClock) -> dict[str, Any]:  # fmt: skip
    """District leaders and administrators; exactly the scheme's count of towns, each with a
    standing; stored with the standings, who and when."""
    now = clock.now()
    local_today = today(now)
    chosen = _year(body.year, local_today)
    with database.transaction() as db:
        result = compute(db, principal=principal, year=chosen, local_today=local_today,
                         settings=settings)  # fmt: skip
        annual_service.confirm_benchmarks(
            db=db, principal=principal, year=chosen, town_ids=body.town_ids,
            standings=result.benchmarks, count=result.scheme["benchmark_count"], note=body.note,
            now=now,
        )  # fmt: skip
        return _benchmark_out(db, principal, result)
