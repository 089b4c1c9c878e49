"""The annual assessment's pages: 年度考核 (towns and departments, the scheme), one report per
town and per department with its formula, and 标杆镇街 (standings and the annual list). JSON
twins: /api/v1/assessment/annual, /annual/towns/{id}, /annual/departments/{id} and
/api/v1/assessment/benchmarks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.assessment.annual_service import READERS
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


def _page(request: Request, principal: web.PagePrincipal, view: str, item: int = 0) -> HTMLResponse:
    principal.require_role(*READERS)
    return web.render(request, "annual.html", principal, page="annual", view=view, item=item)


@router.get("/assessment/annual", response_class=HTMLResponse)
def annual_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """年度考核: the towns' and departments' tables of a year, and the year's scheme."""
    return _page(request, principal, "list")


@router.get("/assessment/annual/towns/{town_id}", response_class=HTMLResponse)
def town_page(request: Request, principal: web.PagePrincipal, town_id: int) -> HTMLResponse:
    """One town's annual report with its formula."""
    return _page(request, principal, "town", town_id)


@router.get("/assessment/annual/departments/{unit_id}", response_class=HTMLResponse)
def department_page(request: Request, principal: web.PagePrincipal, unit_id: int) -> HTMLResponse:
    """One department's annual report with its formula (and the evaluation form for the leader
    who judges it)."""
    return _page(request, principal, "department", unit_id)


@router.get("/assessment/benchmarks", response_class=HTMLResponse)
def benchmarks_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """标杆镇街: the towns' standings and the year's confirmed list."""
    return _page(request, principal, "benchmarks")
