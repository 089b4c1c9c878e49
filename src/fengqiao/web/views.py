"""Server-rendered pages. Each is a shell around data its script reads from /api/v1 (the page's
JSON twin) with the session cookie; the server decides who may open a page at all."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao import __version__, errors
from fengqiao.analytics.service import ANALYSIS_ROLES, today
from fengqiao.assessment.service import LEVELS, LEVELS_IN, RANK_LEVEL_ZH
from fengqiao.auth import service as auth_service
from fengqiao.auth.cookies import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    csrf_token,
    end_session,
    login_token_matches,
    new_login_token,
    set_login_cookie,
    start_session,
)
from fengqiao.auth.requests import load_user, principal_of_user
from fengqiao.auth.security import TokenError, issue_token
from fengqiao.auth.sessions import end_session_token
from fengqiao.db import Database
from fengqiao.deps import AppClock, AppDatabase, AppSettings
from fengqiao.errors import Problem, http_problem
from fengqiao.events import service as event_service
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.web import STATIC_DIR, TEMPLATES_DIR, labels, nav


def no_such_page() -> Problem:
    """404 for an address that names no page (mistyped, or an id that is not a number)."""
    return Problem(
        404, "not-found", "Page not found", "页面不存在", "there is no page at this address",
        "您访问的页面不存在：地址可能输错了，或页面已经移动。",
    )  # fmt: skip


class PageRoute(APIRoute):
    """A page route: a refusal (403, 404) is an HTML page in the shell, not problem+json; so is
    an address the route cannot read (/events/abc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Problem as problem:
                return await error_page(request, problem)
            except RequestValidationError:
                return await error_page(request, no_such_page())

        return page_handler


router = APIRouter(include_in_schema=False, route_class=PageRoute)
templates = Jinja2Templates(directory=TEMPLATES_DIR)
# The same words for the templates: a filter's <option>s come from the vocabulary that owns them
# (`options.html`), never from a copy typed into the page.
templates.env.globals["words"] = labels.vocabularies()
# The words of the scripts, rendered once into every page as JSON (escaped for a <script> block).
_LABELS = labels.shell_json()

ADMIN_SECTIONS = {
    "grids": "网格",
    "users": "用户",
    "units": "责任单位",
    "categories": "事件分类",
    "rules": "流转规则",
    "sla": "时限策略",
    "overrides": "区县分类设置",
    "holidays": "节假日",
    "basemap": "底图",
}


class LoginRequired(Exception):
    """The page needs a session; the browser goes to the login page and comes back after."""

    def __init__(self, next_path: str, reason: str = "") -> None:
        self.next_path = next_path
        self.reason = reason


async def page_principal(request: Request) -> Principal:
    """The signed-in user of a page, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    state = request.app.state
    try:
        user_id = state.tokens.read(token)
    except TokenError as exc:
        raise LoginRequired(target, "expired" if exc.expired else "invalid") from exc
    principal = await principal_of_user(state, user_id)
    if principal is None:
        raise LoginRequired(target, "invalid")
    request.state.principal = principal
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


async def optional_principal(request: Request) -> Principal | None:
    """The signed-in user when there is one (a public page or an error page shows them the
    navigation), else None."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return await page_principal(request)
    except LoginRequired:
        return None


# Paths whose callers expect problem+json (or a format of their own), never a page.
NOT_PAGES = ("/api/", "/open311/", "/static/", "/docs", "/openapi.json", "/healthz", "/metrics")


def wants_page(request: Request) -> bool:
    """A browser asking for a page: GET or HEAD of a non-API path, accepting HTML."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith(NOT_PAGES)
        and "text/html" in request.headers.get("accept", "")
    )


def _back_link(request: Request) -> str | None:
    """The page the user came from on this site (返回上一页), if the browser said so."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.path == request.url.path:
        return None
    return _safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


async def error_page(request: Request, problem: Problem) -> HTMLResponse:
    """`problem` as a page in the shell: its Chinese title and detail, the way home and back."""
    principal = getattr(request.state, "principal", None) or await optional_principal(request)
    response = render(
        request, "error.html", principal, status_code=problem.status, problem=problem,
        back=_back_link(request),
    )  # fmt: skip
    response.headers.update(problem.headers or {})
    return response


def _home_name(database: Database, org_id: int) -> str:
    with database.session() as db:
        return db.scalar(select(OrgUnit.name).where(OrgUnit.id == org_id)) or ""


def _home_kind(database: Database, org_id: int) -> str:
    """The level of the caller's home (province ... grid): what one level down means."""
    with database.session() as db:
        return db.scalar(select(OrgUnit.kind).where(OrgUnit.id == org_id)) or ""


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with the shell's context: who is signed in, their scope, the navigation."""
    settings = request.app.state.settings
    base: dict[str, Any] = {
        "version": __version__,
        "labels": _LABELS,
        "principal": principal,
        "basemap_url": settings.basemap_url,
        "basemap_attribution": settings.basemap_attribution,
        "demo_login_hint": settings.demo_login_hint,
    }
    if principal is not None:
        token = request.cookies.get(SESSION_COOKIE, "")
        base.update(
            csrf=csrf_token(token, request.app.state.signing_key),
            nav=nav.nav_for(principal),
            roles_zh="、".join(nav.ROLE_ZH.get(r, r) for r in sorted(principal.roles)),
            scope_name=_home_name(request.app.state.db, principal.home_org_id),
            is_staff=principal.has_any(*nav.STAFF),
        )
    base.update(context)
    response = templates.TemplateResponse(request, template, base, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    """The login redirect for pages (the API answers 401 problem+json instead)."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        query = f"?next={quote(exc.next_path, safe='')}"
        if exc.reason:
            query += f"&reason={exc.reason}"
        response = RedirectResponse("/login" + query, status_code=303)
        if exc.reason:
            end_session(response)
        return response

    app.add_exception_handler(LoginRequired, to_login)

    # A mistyped address under a page path (/evnets, /m/xyz) is a page too; every other request
    # keeps problem+json (errors.install_handlers registered these first).
    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_page(request) and exc.status_code in (403, 404):
            problem = no_such_page() if exc.status_code == 404 else http_problem(exc)
            return await error_page(request, problem)
        return await errors.on_http(request, exc)

    app.add_exception_handler(StarletteHTTPException, on_http)


def _safe_next(value: str | None) -> str | None:
    """Only a path on this site: never `//host` or `https://host` (an open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


# --- login, logout ---------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    token = new_login_token()
    message = {
        "expired": "登录已过期，请重新登录",
        "invalid": "登录已失效，请重新登录",
        "logout": "您已安全退出",
        "limited": "登录尝试过于频繁，请稍后再试",
    }.get(reason or "", "")
    response = render(
        request, "login.html", None, login_token=token, next=_safe_next(next) or "",
        notice=message,
    )  # fmt: skip
    set_login_cookie(response, request, request.app.state.settings, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, settings: AppSettings, database: AppDatabase) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = _safe_next(str(form.get("next") or ""))

    def again(message: str, status: int) -> Response:
        token = new_login_token()
        response = render(
            request, "login.html", None, status_code=status, login_token=token,
            next=next_path or "", error=message, username=username,
        )  # fmt: skip
        set_login_cookie(response, request, settings, token)
        return response

    if not login_token_matches(request, str(form.get(CSRF_FIELD) or "")):
        return again("页面已过期，请重新登录", 403)
    if not username or not password:
        return again("请输入用户名和密码", 422)

    def check() -> Any:
        with database.session() as session:
            return auth_service.authenticate(db=session, username=username, password=password)

    try:
        user = await run_in_threadpool(check)
    except Problem as refusal:
        if refusal.status not in (429, 503):
            raise
        # A locked account or address, or every password check busy: said on the form.
        refused = again(refusal.detail_zh or refusal.title_zh, refusal.status)
        refused.headers.update(refusal.headers or {})
        return refused
    if user is None:
        return again("用户名或密码错误，或账号已停用", 401)
    token = issue_token(
        user_id=user.id, key=settings.resolved_secret_key(), minutes=settings.token_minutes
    )
    principal = await run_in_threadpool(load_user, database, user.id)
    assert principal is not None
    response = RedirectResponse(next_path or nav.landing(principal), status_code=303)
    start_session(response, request, settings, token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    if token and not csrf_matches(token, request.app.state.signing_key, str(form.get(CSRF_FIELD))):
        return HTMLResponse("页面已过期，请刷新后再退出", status_code=403)
    if token:
        # The session ends on the server too: the cookie's token is refused on every instance.
        await run_in_threadpool(
            lambda: end_session_token(
                database=request.app.state.db, token=token, key=request.app.state.signing_key
            )
        )
    # The residents' app signs out to its own sign-in page (the form says so; only /r/ paths).
    then = "/r/login?reason=logout" if form.get("app") == "resident" else "/login?reason=logout"
    response = RedirectResponse(then, status_code=303)
    end_session(response)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


# --- the pages -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(principal: PagePrincipal) -> Response:
    return RedirectResponse(nav.landing(principal), status_code=303)


def _require(principal: Principal, *roles: str) -> None:
    principal.require_role(*roles)


@router.get("/map", response_class=HTMLResponse)
def one_map(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """一张图: the command room's live map. `home_kind` picks its levels of detail (map_levels.js):
    a province's or city's map starts from outlines, a district's from its grids."""
    _require(principal, *nav.STAFF)
    return render(
        request, "map.html", principal, page="map",
        onduty_minutes=request.app.state.settings.onduty_minutes,
        home_kind=_home_kind(request.app.state.db, principal.home_org_id),
    )  # fmt: skip


WALL_PANELS = 6  # the 3×2 wall: /wall?panel=1..6, one screen each (docs/wall.md)


@router.get("/wall", response_class=HTMLResponse)
def command_wall(
    request: Request,
    principal: PagePrincipal,
    panel: Annotated[int | None, Query(ge=1, le=WALL_PANELS)] = None,
) -> HTMLResponse:
    """驾驶舱: the command wall, every panel on one 1920×1080 screen, or one panel per screen."""
    _require(principal, *nav.STAFF)
    return render(
        request, "wall.html", principal, page="wall", panel=panel or 0,
        home_kind=_home_kind(request.app.state.db, principal.home_org_id),
    )  # fmt: skip


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """事件中心: the filterable list."""
    return render(request, "events.html", principal, page="events")


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(
    event_id: int, request: Request, principal: PagePrincipal, database: AppDatabase
) -> HTMLResponse:
    """One event: its card, trail and the steps the user may take. 404 outside the scope."""

    def check() -> None:
        with database.session() as db:
            event_service.get_event(db=db, principal=principal, event_id=event_id)

    await run_in_threadpool(check)
    return render(request, "event.html", principal, page="events", event_id=event_id)


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """督办单."""
    _require(principal, *nav.STAFF, "handler", "unit_leader")
    return render(request, "supervision.html", principal, page="supervision")


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(request: Request, principal: PagePrincipal, clock: AppClock) -> HTMLResponse:
    """分析研判: the 18 charts for a chosen area and range (JSON twins: /api/v1/analytics)."""
    _require(principal, *ANALYSIS_ROLES)
    day = today(clock.now()).isoformat()
    kind = _home_kind(request.app.state.db, principal.home_org_id)
    return render(request, "analytics.html", principal, page="analytics", today=day, home_kind=kind)


@router.get("/assessment", response_class=HTMLResponse)
def assessment_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """考核: rankings per level with each row's monthly trend."""
    _require(principal, *nav.STAFF)
    # The tabs the caller's area has, one level down first (the default): a province's cities,
    # a city's districts, a district's towns.
    kind = _home_kind(request.app.state.db, principal.home_org_id)
    levels = [(level, RANK_LEVEL_ZH[level]) for level in LEVELS_IN.get(kind, LEVELS)]
    return render(request, "assessment.html", principal, page="assessment", levels=levels)


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """每日通报: the days with their HTML, PDF and XLSX, and the subscription."""
    _require(principal, *nav.STAFF)
    return render(request, "bulletins.html", principal, page="bulletins")


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """预警: early warnings to acknowledge."""
    _require(principal, *nav.STAFF, "handler", "unit_leader")
    return render(request, "warnings.html", principal, page="warnings")


@router.get("/messages", response_class=HTMLResponse)
def messages_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """消息: the in-app inbox."""
    return render(request, "messages.html", principal, page="messages")


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """Messages that could not be sent, with resend."""
    _require(principal, "operator", "admin")
    return render(request, "outbox.html", principal, page="outbox")


@router.get("/m/", response_class=HTMLResponse)
def worker_app(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The phone app (a PWA scoped to /m/): grid workers' and unit handlers' tabs."""
    _require(principal, *nav.PHONE_ROLES)
    return render(
        request,
        "worker.html",
        principal,
        page="worker",
        patrol_interval=request.app.state.settings.patrol_interval_seconds,
        patrol_batch=request.app.state.settings.patrol_batch_points,
        alarm_category=request.app.state.settings.alarm_category,
    )


@router.get("/m/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "枫桥 · 网格员",
        "short_name": "枫桥网格",
        "start_url": "/m/",
        "scope": "/m/",
        "display": "standalone",
        "background_color": "#f5f6f8",
        "theme_color": "#b3261e",
        "lang": "zh-CN",
        "icons": [
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@router.get("/m/sw.js")
def service_worker() -> FileResponse:
    # Served from /m/ so its scope is the app; it must never be cached stale.
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/m/"},
    )


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    # What a browser asks for where no page names an icon (a JSON answer, /docs, /healthz):
    # static/favicon.ico, made from icon-192.png at 16, 32 and 48 px.
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_home() -> Response:
    return RedirectResponse("/admin/grids", status_code=303)


@router.get("/admin/{section}", response_class=HTMLResponse)
def admin_page(section: str, request: Request, principal: PagePrincipal) -> HTMLResponse:
    """Administration: forms over the same APIs."""
    _require(principal, "admin")
    if section not in ADMIN_SECTIONS:
        raise Problem(
            404, "not-found", "No such page", "页面不存在", f"no admin section {section!r}",
            "系统管理中没有这一栏目，请从左侧的栏目中选择。",
        )  # fmt: skip
    return render(
        request, "admin.html", principal, page="admin", section=section, sections=ADMIN_SECTIONS
    )


def swagger_page(request: Request) -> HTMLResponse:
    """The API explorer (/docs): vendored Swagger UI started from a static script, so it runs
    under the site's Content-Security-Policy (FastAPI's own page has an inline script)."""
    return templates.TemplateResponse(request, "swagger.html", {"version": __version__})
