"""Server-rendered pages. They carry no data: the browser reads it from /api/v1 with its token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fengqiao import __version__
from fengqiao.web import TEMPLATES_DIR

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The home page: login, the caller's area in numbers and the grid map."""
    return templates.TemplateResponse(request, "home.html", {"version": __version__})
