"""The supervision pages: 标准化 (/standards, twin /api/v1/standards), 督查整改 (/inspections:
groups, towns' rounds and rectifications; twins /api/v1/inspections/groups, /summary,
/missing, /api/v1/inspections and /api/v1/rectifications), the round scoring form and the
self-assessment form (/inspections/new, /inspections/self-assessment; they post to
/api/v1/inspections and /api/v1/inspections/self-assessments) and one round
(/inspections/rounds/{id}, twin /api/v1/inspections/{id})."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.deps import AppDatabase
from fengqiao.inspections.selfassess import WRITER_ROLES as SELF_WRITERS
from fengqiao.standards.service import READER_ROLES, is_district_staff
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/standards", response_class=HTMLResponse)
def standards_page(request: Request, principal: web.PagePrincipal,
                   database: AppDatabase) -> HTMLResponse:  # fmt: skip
    """标准化: the version in force by aspect, the versions, and (district administrators and
    leaders) drafting, editing and publishing a new version."""
    principal.require_role(*READER_ROLES)
    with database.session() as db:
        can_write = principal.has_any("admin", "leader") and is_district_staff(db, principal)
    return web.render(request, "standards.html", principal, page="inspections",
                      can_write=can_write)  # fmt: skip


@router.get("/inspections", response_class=HTMLResponse)
def inspections_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """督查整改: each town's rounds, score, rectification rate and self-assessment for a year,
    towns missing this month's round, the groups, the rounds and the rectifications by light."""
    principal.require_role(*READER_ROLES)
    return web.render(request, "inspections.html", principal, page="inspections",
                      can_self=principal.has_any(*SELF_WRITERS))  # fmt: skip


@router.get("/inspections/new", response_class=HTMLResponse)
def round_form(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """The round scoring form (a group member on a phone): group, town, month, then every item
    by aspect: 达标／部分达标／未达标 with a note."""
    principal.require_role(*READER_ROLES)
    return web.render(request, "inspection_form.html", principal, page="inspections",
                      mode="round")  # fmt: skip


@router.get("/inspections/self-assessment", response_class=HTMLResponse)
def self_form(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """A town's self-assessment form: the same sheet with a note and evidence per item."""
    principal.require_role(*SELF_WRITERS)
    return web.render(request, "inspection_form.html", principal, page="inspections",
                      mode="self")  # fmt: skip


@router.get("/inspections/rounds/{round_id}", response_class=HTMLResponse)
def round_page(round_id: int, request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """One round: its items and their rectifications with lights, and its trail."""
    principal.require_role(*READER_ROLES)
    return web.render(request, "inspection_round.html", principal, page="inspections",
                      round_id=round_id)  # fmt: skip
