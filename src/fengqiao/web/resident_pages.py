"""The residents' app (/r/): the 随手拍 page, sign-in by SMS code (/r/login), and the PWA's
manifest and service worker scoped to /r/. The other tabs (我的上报, 身边事, 通知) extend the same
shell (templates/resident_base.html) in their own modules."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from fengqiao.auth import sms
from fengqiao.auth.cookies import (
    CSRF_FIELD,
    login_token_matches,
    new_login_token,
    set_login_cookie,
    start_session,
)
from fengqiao.auth.security import issue_token
from fengqiao.basemap.service import area_box
from fengqiao.deps import AppDatabase, AppSettings
from fengqiao.errors import Problem
from fengqiao.events.schemas import EventCreate
from fengqiao.ratelimit import current_caller
from fengqiao.residents.views import request_code
from fengqiao.scope import Principal, mask_phone
from fengqiao.web import STATIC_DIR
from fengqiao.web.views import LoginRequired, PageRoute, _safe_next, page_principal, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

# Whether the filing API takes `notify_sms` (another part of issue 19 adds it): the page sends
# the checkbox only when it does, so either order of merging works.
NOTIFY_SMS_FIELD = "notify_sms" in EventCreate.model_fields
_NOBODY = Principal(user_id=0, username="", name="", roles=frozenset(), home_org_id=0, home_path="")


def _to_login(next_path: str, reason: str = "") -> RedirectResponse:
    query = f"?next={quote(next_path, safe='')}" + (f"&reason={reason}" if reason else "")
    return RedirectResponse("/r/login" + query, status_code=303)


@router.get("/r/", response_class=HTMLResponse)
async def report_page(request: Request) -> Response:
    """随手拍: pick a class, take photos, place the point, describe; queued offline."""
    try:
        principal = await page_principal(request)
    except LoginRequired as exc:
        return _to_login(exc.next_path, exc.reason)
    if not principal.has_any("resident"):
        raise Problem(
            403, "forbidden", "Residents only", "仅供群众使用",
            "the residents' app files reports as a resident; staff report in the worker app",
            "随手拍供群众使用；工作人员请在网格员手机版或事件中心上报",
        )  # fmt: skip

    def home_center() -> tuple[float, float]:
        with request.app.state.db.session() as db:
            box = area_box(db=db, path=principal.home_path)
        if box is None:
            return (30.08, 120.5)
        west, south, east, north = box
        return (round((south + north) / 2, 6), round((west + east) / 2, 6))

    center = await run_in_threadpool(home_center)
    return render(
        request, "resident_report.html", principal, tab="report",
        notify_sms_field=NOTIFY_SMS_FIELD, center=center,
    )  # fmt: skip


LOGIN_REASONS = {
    "expired": "登录已过期，请重新登录",
    "invalid": "登录已失效，请重新登录",
    "logout": "您已安全退出",
}


def _login_page(
    request: Request, *, status: int = 200, next_path: str = "", **context: Any
) -> HTMLResponse:
    token = new_login_token()
    response = render(
        request, "resident_login.html", None, status_code=status, login_token=token,
        next=next_path, **context,
    )  # fmt: skip
    set_login_cookie(response, request, request.app.state.settings, token)
    return response


@router.get("/r/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    """Sign in by phone number: ask for a code, then enter it."""
    return _login_page(
        request, next_path=_safe_next(next) or "", notice=LOGIN_REASONS.get(reason or "", "")
    )


@router.post("/r/login", response_class=HTMLResponse)
async def login_submit(request: Request, settings: AppSettings, database: AppDatabase) -> Response:
    """Two steps on one form: `step=send` sends a code to `phone`; `step=verify` trades
    `phone` and `code` for the session cookie, like the password login."""
    form = await request.form(max_files=0, max_fields=8)
    step = str(form.get("step") or "send")[:8]
    raw_phone = str(form.get("phone") or "")[:32]
    code = str(form.get("code") or "").strip()[:16]
    next_path = _safe_next(str(form.get("next") or "")[:512]) or ""

    def again(message: str, status: int, **context: Any) -> HTMLResponse:
        refused = _login_page(
            request, status=status, next_path=next_path, error=message, phone=raw_phone, **context
        )
        return refused

    if not login_token_matches(request, str(form.get(CSRF_FIELD) or "")):
        return again("页面已过期，请重新获取验证码", 403)
    try:
        phone = sms.normalize_phone(raw_phone)
        if step != "verify":
            _, seconds = await request_code(request, raw_phone)
            return _login_page(
                request, next_path=next_path, phone=phone, sent=True,
                masked=mask_phone(phone, _NOBODY), minutes=seconds // 60,
            )  # fmt: skip
        if not code:
            return again("请输入短信验证码", 422, sent=True, masked=mask_phone(phone, _NOBODY))
        now = request.app.state.clock.now()
        caller = current_caller.get()  # the address as the rate limits see it
        address = caller.address if caller else None

        def check() -> int:
            return sms.verify_code(
                database=database, phone=phone, code=code, key=settings.resolved_secret_key(),
                now=now, throttle=getattr(request.app.state, "sms_logins", None),
                address=address, max_tries=settings.sms_code_failures,
            ).id  # fmt: skip

        user_id = await run_in_threadpool(check)
    except Problem as refusal:
        # A code asked for again too soon: the one sent a moment ago still works, so the code
        # box stays (a resident holding the SMS need not wait out the limit to type it).
        sent = (step == "verify" and refusal.status != 422) or (
            step != "verify" and refusal.status == 429
        )
        masked = mask_phone(sms.normalize_phone(raw_phone), _NOBODY) if sent else None
        refused = again(
            refusal.detail_zh or refusal.title_zh, refusal.status, sent=sent, masked=masked
        )
        refused.headers.update(refusal.headers or {})
        return refused
    token = issue_token(
        user_id=user_id, key=settings.resolved_secret_key(), minutes=settings.token_minutes
    )
    response = RedirectResponse(next_path or "/r/", status_code=303)
    start_session(response, request, settings, token)
    return response


@router.get("/r/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "枫桥随手拍",
        "short_name": "随手拍",
        "start_url": "/r/",
        "scope": "/r/",
        "display": "standalone",
        "background_color": "#f3f7f5",
        "theme_color": "#0b7a53",
        "lang": "zh-CN",
        "icons": [
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@router.get("/r/sw.js")
def service_worker() -> FileResponse:
    # Served from /r/ so its scope is the residents' app; never cached stale.
    return FileResponse(
        STATIC_DIR / "resident_sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/r/"},
    )
