"""工作机制 (/mechanisms): the mechanisms around the loop in one place — 联合行动, 专项整治,
研判会商, 督查整改 with the standard, 年度考核, 标杆镇街 and 督办事项 — each a card with its own
figure, read by the page's script from the mechanism's own list (its JSON twin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)

# Who the mechanisms' pages are for: the command room and its administrators.
HUB_ROLES = ("operator", "leader", "admin")


@router.get("/mechanisms", response_class=HTMLResponse)
def mechanisms_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """工作机制: a card per mechanism with the figure that asks for attention."""
    principal.require_role(*HUB_ROLES)
    return web.render(request, "mechanisms.html", principal, page="mechanisms")
