"""The tracked tasks' pages: /tasks (the caller's tasks, JSON twin /api/v1/tasks) and
/tasks/{code} (one task for its owner on a phone and for the command room; JSON twin
/api/v1/tasks/{code})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from fengqiao.deps import AppDatabase
from fengqiao.tasks.service import READER_ROLES, get_task
from fengqiao.web import views as web

router = APIRouter(include_in_schema=False, route_class=web.PageRoute)


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, principal: web.PagePrincipal) -> HTMLResponse:
    """督办事项: the tasks of the caller's area and the caller's own, with their lights."""
    principal.require_role(*READER_ROLES)
    return web.render(request, "tasks.html", principal, page="tasks")


@router.get("/tasks/{code}", response_class=HTMLResponse)
def task_page(
    code: Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[A-Z]{2}\d{8,16}$")],
    request: Request, principal: web.PagePrincipal, database: AppDatabase,
) -> HTMLResponse:  # fmt: skip
    """One task: its light, deadline, owner, trail and photos; the owner reports progress,
    adds photos (the phone's camera) and closes it."""
    with database.session() as db:
        get_task(db, principal, code)  # 404 in the shell for a task the caller may not see
    return web.render(request, "task.html", principal, page="tasks", code=code)
