"""The meeting rooms' pages: 会商室 (the rooms the caller reaches and the past sessions) and one
room's meeting view; their JSON twins are /api/v1/rooms and /api/v1/rooms/{org_id}."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.web import nav
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/rooms", response_class=HTMLResponse)
def rooms_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """会商室: the rooms of the caller's level and below, and the sessions held in them."""
    principal.require_role(*nav.STAFF)
    return web.render(request, "rooms.html", principal, page="rooms", org_id="")


@router.get("/rooms/{org_id}", response_class=HTMLResponse)
def room_page(org_id: int, request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """One room: open a session, or join the one under way (camera, microphone, screen)."""
    principal.require_role(*nav.STAFF)
    return web.render(request, "rooms.html", principal, page="rooms", org_id=org_id)
