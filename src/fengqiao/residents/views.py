"""The residents' API: ask for an SMS sign-in code, the classes to report in, the open reports
near a point and 我也遇到 (docs/residents.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from fengqiao.auth import sms
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem
from fengqiao.events import service as event_service
from fengqiao.geo.deps import Locator
from fengqiao.ratelimit import RateLimits, current_caller
from fengqiao.residents import service
from fengqiao.residents.schemas import (
    MeTooOut,
    NearbyReports,
    ReportClasses,
    SmsCodeRequest,
    SmsCodeSent,
)
from fengqiao.scope import Principal, mask_phone
from fengqiao.taxonomy.deps import app_rules
from fengqiao.taxonomy.public import hidden_codes

public = APIRouter(tags=["residents"])
router = APIRouter(tags=["residents"])


def flooded(wait: int, *, per_number: bool) -> Problem:
    """429 for a number (or an address) asking for codes too often."""
    who, who_zh = ("this number", "该手机号") if per_number else ("your address", "您的网络地址")
    return Problem(
        429, "sms-code-flood", "Too many code requests", "获取验证码过于频繁",
        f"too many sign-in codes asked for {who}; retry in {wait} s",
        f"{who_zh}获取验证码过于频繁，请 {wait} 秒后再试",
        headers={"Retry-After": str(wait)},
    )  # fmt: skip


async def check_flood(request: Request, phone: str) -> None:
    """Count this request against the per-address and per-number budgets; 429 when over."""
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None or not limits.enabled:
        return
    caller = current_caller.get()
    address = caller.address if caller else "unknown"
    wait = await limits.retry_after("sms_address", address)
    if wait is not None:
        raise flooded(wait, per_number=False)
    wait = await limits.retry_after("sms_phone", phone)
    if wait is not None:
        raise flooded(wait, per_number=True)


async def request_code(request: Request, raw_phone: str) -> tuple[str, int]:
    """Check, count and send a sign-in code to `raw_phone`: (the number, seconds it lives).
    One function for the API and the /r/login page."""
    settings, database = request.app.state.settings, request.app.state.db
    phone = sms.normalize_phone(raw_phone)
    await check_flood(request, phone)
    now = request.app.state.clock.now()

    def write() -> None:
        with database.transaction() as db:
            service.send_code(
                db=db, phone=phone, key=settings.resolved_secret_key(), now=now,
                minutes=settings.sms_code_minutes,
            )  # fmt: skip

    await run_in_threadpool(write)
    return phone, settings.sms_code_minutes * 60


_NOBODY = Principal(user_id=0, username="", name="", roles=frozenset(), home_org_id=0, home_path="")


@public.post(
    "/auth/sms-code",
    status_code=202,
    response_model=SmsCodeSent,
    summary="Send a one-time sign-in code by SMS",
    responses={429: {"description": "Too many codes asked for this number or address."}},
)
async def sms_code(body: SmsCodeRequest, request: Request) -> SmsCodeSent:
    """A six-digit code goes to the number by SMS (through the outbox); trade it with the number
    at `POST /api/v1/auth/token` (`phone`, `code`) within its life. Rate-limited per number and
    per client address; a new code ends the one before."""
    phone, seconds = await request_code(request, body.phone)
    return SmsCodeSent(
        phone=mask_phone(phone, _NOBODY) or "", expires_in=seconds,
        resend_after=60,
    )  # fmt: skip


@public.get(
    "/public/report-classes",
    response_model=ReportClasses,
    summary="The classes a resident may report in",
)
def report_classes(request: Request, database: AppDatabase, settings: AppSettings) -> ReportClasses:
    """Active minor classes by major class; the security classes (`open311_hidden_majors`) are
    left out, as in Open311."""
    with database.session() as db:
        rules = app_rules(request, db)
        return service.report_classes(
            rules=rules, hidden=hidden_codes(rules, settings.open311_hidden_majors)
        )


async def _optional_principal(request: Request) -> Principal | None:
    """The signed-in caller when the request carries a token or the session cookie (to mark
    the reports that are already theirs), else None: the list itself is public."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    token = bearer if scheme.lower() == "bearer" and bearer else None
    if token is None and not request.cookies:
        return None
    try:
        return await request.app.state.authenticate(request, token, None)
    except Problem:
        return None


@public.get(
    "/public/reports/nearby",
    response_model=NearbyReports,
    summary="Open reports of a class near a point (before filing a likely duplicate)",
)
async def nearby_reports(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    locator: Locator,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lng: Annotated[float, Query(ge=-180, le=180)],
    category: Annotated[str, Query(min_length=1, max_length=16)],
) -> NearbyReports:
    """The open reports of the class within `duplicate_radius_m` of the point filed in the last
    `duplicate_days`, nearest first, in public words (no names, no text, no exact point). A
    point outside the district and a hidden or unknown class are refused."""
    place = locator.locate(lng, lat)
    now = clock.now()

    def read() -> NearbyReports:
        with database.session() as db:
            rules = app_rules(request, db)
            hidden = hidden_codes(rules, settings.open311_hidden_majors)
            known = rules.categories.get(category)
            if known is None or not known.active or category in hidden:
                raise service.unknown_class(category)
            items = service.nearby(
                db=db, principal=principal, category_code=category, lat=place.lat,
                lng=place.lng, radius_m=settings.duplicate_radius_m,
                since=service.window(now, settings.duplicate_days),
            )  # fmt: skip
            return NearbyReports(radius_m=int(settings.duplicate_radius_m), items=items)

    principal = await _optional_principal(request)
    return await run_in_threadpool(read)


@router.post(
    "/public/reports/{code}/me-too",
    response_model=MeTooOut,
    status_code=201,
    responses={200: {"model": MeTooOut, "description": "Said before: nothing changed."}},
    summary="我也遇到: count yourself on an open report instead of filing it again",
)
def me_too(
    code: Annotated[str, Path(min_length=1, max_length=40, description="The report's code.")],
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> MeTooOut:
    """Residents only; once per resident and report (a repeat answers 200 with the same
    count). A closed report or one's own is refused (409); a hidden class's is not found."""
    with database.transaction() as db:
        rules = app_rules(request, db)
        count, added = service.me_too(
            db=db, principal=principal, code=code,
            hidden=hidden_codes(rules, settings.open311_hidden_majors), now=clock.now(),
        )  # fmt: skip
    if not added:
        response.status_code = 200
    return MeTooOut(code=code, me_too=count, added=added)


@router.get(
    "/events/{event_id}/me-too",
    response_model=MeTooOut,
    summary="How many residents said 我也遇到 on an event you may read",
)
def event_me_too(event_id: int, principal: CurrentPrincipal, database: AppDatabase) -> MeTooOut:
    """The count for the event page (staff) and the resident's own reports; 404 outside the
    caller's scope."""
    with database.session() as db:
        event = event_service.get_event(db=db, principal=principal, event_id=event_id)
        count = service.me_too_counts(db, [event.id]).get(event.id, 0)
        return MeTooOut(code=event.code, me_too=count, added=False)
