"""The residents' public pages that need no sign-in: 身边事 (/r/map), the public map of reports
(JSON twin: /api/v1/public/reports and /api/v1/public/reports/meta)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from fengqiao.publicmap.views import map_meta
from fengqiao.scope import STAFF_ROLES, Principal
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/r/map", response_class=HTMLResponse)
def public_map_page(
    request: Request, principal: Annotated[Principal | None, Depends(web.optional_principal)]
) -> HTMLResponse:
    """身边事: recent reports around the resident on a map, for anyone."""
    meta = map_meta(request, request.app.state.db, request.app.state.settings)
    # An attribute's value (Jinja escapes it): the page draws without asking for it.
    embedded = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    return web.render(
        request, "public_map.html", principal, tab="map", meta=embedded,
        # The base map's data is for those signed in (staff and residents, basemap/views.py);
        # signed out, the map stands on the towns' outlines.
        with_basemap=principal is not None and principal.has_any(*STAFF_ROLES, "resident"),
    )  # fmt: skip
