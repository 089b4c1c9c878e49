"""联合行动 (/joint-operations): the joint operations of the caller's area, planning one and
recording its results (JSON twin /api/v1/joint-operations)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fengqiao.jointops.service import READER_ROLES, WRITER_ROLES
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/joint-operations", response_class=HTMLResponse)
def joint_operations_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """联合行动: the list, the planning form (operators) and each operation's results form."""
    principal.require_role(*READER_ROLES)
    return web.render(
        request, "joint_operations.html", principal, page="jointops",
        can_write=principal.has_any(*WRITER_ROLES),
    )  # fmt: skip
