"""The TV set-top box (有线电视机顶盒): one 1280×720 page, `/tv`, for the service catalogue
(办事指南) and a report looked up by its code, driven by a remote control only (docs/tv.md).

The page reads public JSON only: the catalogue's `/api/v1/public/services…` and the code lookup
here, `/api/v1/public/report-lookup/{code}` (events/lookup.py decides what it may show). Both
are on the rate limits of the public doors (ratelimit.py: `public`, and the stricter `lookup`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from fengqiao.deps import AppDatabase, AppSettings
from fengqiao.errors import invalid, not_found
from fengqiao.events.lookup import CODE_MAX_CHARS, PublicReportOut, normalise_code, public_report
from fengqiao.open311.service import hidden_codes
from fengqiao.taxonomy.deps import app_rules
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)
public = APIRouter(tags=["public"])


@router.get("/tv", response_class=HTMLResponse)
def tv_page(request: Request) -> HTMLResponse:
    """The set-top box's page: no login, no navigation of the staff shell, its own script."""
    return web.render(request, "tv.html", None, page="tv")


CodePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=CODE_MAX_CHARS,
        description="The report's complete code, with or without its dashes "
        "(001-20261205-0007 or 001202612050007).",
    ),
]


@public.get(
    "/public/report-lookup/{code}",
    response_model=PublicReportOut,
    summary="A report's public status and steps by its complete code (no login)",
)
def report_lookup(
    code: CodePath, request: Request, database: AppDatabase, settings: AppSettings
) -> PublicReportOut:
    """No login, so nothing personal or internal: the class, the public status and the public
    steps with their times. A partial code is refused (422); an unknown code and a report of a
    hidden class are the same 404. Rate-limited per address (setting `rate_limit_lookup`)."""
    normalised = normalise_code(code)
    if normalised is None:
        raise invalid(
            "code",
            "a report code is 15 to 18 digits (town, day, sequence), dashes optional",
            "请输入完整的上报编号（15 至 18 位数字）",
        )
    with database.session() as db:
        hidden = hidden_codes(app_rules(request, db), settings.open311_hidden_majors)
        found = public_report(db, code=normalised, hidden=hidden)
    if found is None:
        raise not_found("report", "该编号的上报")
    return found
