"""The campaigns' pages (专项整治): the list with the form that defines one (/campaigns; JSON
twin /api/v1/campaigns) and a campaign's dashboard (/campaigns/{id}; JSON twin
/api/v1/campaigns/{id}/dashboard)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.campaigns.service import WRITER_ROLES
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)
PAGE_ROLES = ("operator", "leader", "admin")


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """专项整治: the campaigns of the caller's area with their progress; writers define new ones."""
    principal.require_role(*PAGE_ROLES)
    return web.render(request, "campaigns.html", principal, page="campaigns",
                      can_write=principal.has_any(*WRITER_ROLES))  # fmt: skip


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, principal: web.PagePrincipal, campaign_id: int) -> HTMLResponse:
    """A campaign's dashboard: per measure, per town, over time, against the expected line."""
    principal.require_role(*PAGE_ROLES)
    return web.render(request, "campaign.html", principal, page="campaigns",
                      campaign_id=campaign_id, can_write=principal.has_any(*WRITER_ROLES))  # fmt: skip
