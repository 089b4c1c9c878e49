"""The notices' pages: 宣传 for staff (/notices/manage: notices and leaflet coverage; JSON twins
/api/v1/notices and /api/v1/leaflets/campaigns) and the residents' 通知 (/r/notices, with or
without sign-in; JSON twin /api/v1/public/notices)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from fengqiao.notices.service import READER_ROLES, WRITER_ROLES
from fengqiao.scope import Principal
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/notices/manage", response_class=HTMLResponse)
def manage_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """宣传: the notices of the caller's area (draft, publish, images, withdraw) and the leaflet
    campaigns with their coverage per grid."""
    principal.require_role(*READER_ROLES)
    return web.render(
        request, "notices.html", principal, page="notices",
        can_write=principal.has_any(*WRITER_ROLES),
    )  # fmt: skip


@router.get("/r/notices", response_class=HTMLResponse)
def resident_notices(
    request: Request, principal: Annotated[Principal | None, Depends(web.optional_principal)]
) -> HTMLResponse:
    """通知: today's notices of the resident's area (or the district's and a chosen village's
    without sign-in)."""
    return web.render(request, "resident_notices.html", principal, tab="notices")
