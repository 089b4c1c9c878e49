"""The service catalogue's pages: 办事指南 (public) and 代办 (proxy requests); their JSON twins are
the catalogue's API (catalogue/views.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from fengqiao.catalogue import access
from fengqiao.scope import Principal
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/services", response_class=HTMLResponse)
def catalogue_page(
    request: Request, principal: Annotated[Principal | None, Depends(web.optional_principal)]
) -> HTMLResponse:
    """办事指南: the public catalogue, no login (JSON twin: /api/v1/public/services)."""
    return web.render(request, "services.html", principal, page="services")


@router.get("/proxy", response_class=HTMLResponse)
def proxy_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """代办: the proxy requests the caller may read (JSON twin: /api/v1/proxy-requests)."""
    access.require_reader(principal)
    return web.render(
        request, "proxy.html", principal, page="proxy",
        can_create=principal.has_any("grid_worker", "grid_leader", "operator", "admin", "resident"),
        is_resident=principal.has_any("resident")
        and not principal.has_any(*access.WORKER_ROLES, *access.AREA_ROLES),
    )  # fmt: skip
