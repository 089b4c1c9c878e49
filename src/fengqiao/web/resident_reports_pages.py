"""我的上报 in the residents' app: the list of one's own reports and one report in plain words
(JSON twins: /api/v1/resident/reports and /api/v1/resident/reports/{code})."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fengqiao.scope import Principal
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)

Visitor = Annotated[Principal | None, Depends(web.optional_principal)]


def _sign_in_first(request: Request) -> Response:
    """A signed-out visitor signs in on the residents' own page and comes back here."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/r/login?next={quote(target, safe='')}", status_code=303)


@router.get("/r/reports", response_class=HTMLResponse)
def my_reports_page(request: Request, principal: Visitor) -> Response:
    """我的上报: the caller's own reports, newest first."""
    if principal is None:
        return _sign_in_first(request)
    return web.render(request, "resident_reports.html", principal, tab="reports", code="")


@router.get("/r/reports/{code}", response_class=HTMLResponse)
def my_report_page(code: str, request: Request, principal: Visitor) -> Response:
    """One of the caller's reports: its progress, photos and rating (another's reads as 404)."""
    if principal is None:
        return _sign_in_first(request)
    return web.render(request, "resident_reports.html", principal, tab="reports", code=code[:32])
