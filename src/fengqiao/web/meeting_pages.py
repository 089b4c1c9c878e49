"""The analysis meetings' pages: 研判会商 (/meetings: the month's meetings of the caller's area,
missed ones flagged; JSON twin /api/v1/meetings) and one meeting (/meetings/{id}: the agenda to
edit, minutes and decisions to record, the decisions' lights; JSON twin /api/v1/meetings/{id})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from fengqiao.deps import AppDatabase
from fengqiao.meetings.service import READER_ROLES, WRITER_ROLES, get_meeting
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """研判会商: the meetings of a month by day, a meeting arranged."""
    principal.require_role(*READER_ROLES)
    return web.render(request, "meetings.html", principal, page="meetings",
                      can_write=principal.has_any(*WRITER_ROLES))  # fmt: skip


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    meeting_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
    principal: web.PagePrincipal, database: AppDatabase,
) -> HTMLResponse:  # fmt: skip
    """One meeting: agenda, attendees, minutes, decisions with their lights."""
    with database.session() as db:
        get_meeting(db, principal, meeting_id)  # 404 in the shell outside the caller's area
    return web.render(request, "meeting.html", principal, page="meetings", meeting_id=meeting_id)
