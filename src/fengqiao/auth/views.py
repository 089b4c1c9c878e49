"""Login, the current user, users and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from fengqiao.auth import service, sms
from fengqiao.auth.models import User
from fengqiao.auth.schemas import (
    ApiKeyCreate,
    ApiKeyOut,
    OrgRef,
    PasswordChange,
    TokenOut,
    UnitRef,
    UserCreate,
    UserDetail,
    UserEdit,
    UserOut,
)
from fengqiao.auth.security import TokenClaims, TokenError, issue_token, token_claims
from fengqiao.auth.sessions import LoginThrottle, revoke_token
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.deps import AppSettings, CurrentPrincipal, DbSession, WriteSession, get_database
from fengqiao.errors import Problem, invalid
from fengqiao.org import service as org_service
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.schemas import OrgSummary
from fengqiao.paging import Page, Paging
from fengqiao.ratelimit import current_caller
from fengqiao.scope import ROLES, Principal, mask_phone

public = APIRouter(tags=["auth"])
router = APIRouter(tags=["users"])


def _client_address() -> str | None:
    caller = current_caller.get()
    return caller.address if caller else None


async def _check_password(
    request: Request, database: Database, username: str, password: str
) -> User | None:
    """The user if the password is right; counted by the lockout, checked in a thread."""
    throttle: LoginThrottle | None = getattr(request.app.state, "logins", None)
    address = _client_address()

    def check() -> User | None:
        with database.session() as session:
            return service.authenticate(
                db=session, username=username, password=password, address=address,
                throttle=throttle,
            )  # fmt: skip

    return await run_in_threadpool(check)


async def _check_sms_code(
    request: Request, database: Database, settings: Settings, form: LoginForm
) -> int:
    """The id of the resident signed in by `form.phone` and `form.code`, or a refusal."""
    if form.phone is None or form.code is None:
        raise invalid(
            "code" if form.phone is not None else "phone",
            "send both phone and code",
            "请同时填写手机号和短信验证码",
        )
    phone = sms.normalize_phone(form.phone)
    code, address = form.code.strip(), _client_address()
    now = request.app.state.clock.now()

    def check() -> int:
        return sms.verify_code(
            database=database, phone=phone, code=code, key=settings.resolved_secret_key(),
            now=now, throttle=getattr(request.app.state, "sms_logins", None), address=address,
            max_tries=settings.sms_code_failures,
            town_id=town_at(request, database, form.lat, form.lng),
        ).id  # fmt: skip

    return await run_in_threadpool(check)


def town_at(
    request: Request, database: Database, lat: float | None, lng: float | None
) -> int | None:
    """The town of the point a phone reported at sign-in (a new resident's home is its
    district), or None when none was sent or it lies in no grid: the process's grid index
    (`app.state.locator`, refreshed when due), no error for a point outside every grid."""
    if lat is None or lng is None:
        return None
    locator = request.app.state.locator
    try:
        if locator.needs_check():
            with database.session() as db:
                locator.refresh(db)
        return int(locator.locate(lng, lat).town_id)
    except Problem:
        return None


_LOGIN_REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"description": "Wrong username or password, or the account is disabled."},
    429: {"description": "Too many attempts: rate-limited, or the account or address is locked "
          "after wrong passwords (Retry-After says for how long)."},
    503: {"description": "Too many password checks at once; retry after Retry-After."},
}  # fmt: skip


class LoginForm:
    """The OAuth2 password form (RFC 6749 4.3), every field bounded before it is used."""

    def __init__(
        self,
        username: Annotated[str | None, Form(min_length=1, max_length=64)] = None,
        password: Annotated[str | None, Form(min_length=1, max_length=128)] = None,
        grant_type: Annotated[
            str | None, Form(max_length=16, pattern="^(password|sms_code)$")
        ] = None,
        scope: Annotated[str, Form(max_length=256)] = "",
        client_id: Annotated[str | None, Form(max_length=128)] = None,
        client_secret: Annotated[str | None, Form(max_length=128)] = None,
        phone: Annotated[
            str | None, Form(min_length=1, max_length=32, description="SMS sign-in: the number.")
        ] = None,
        code: Annotated[
            str | None,
            Form(min_length=1, max_length=16, description="SMS sign-in: the code it was sent."),
        ] = None,
        lat: Annotated[
            float | None,
            Form(ge=-90, le=90, description="SMS sign-in: where the phone is (WGS-84), optional."),
        ] = None,
        lng: Annotated[float | None, Form(ge=-180, le=180)] = None,
    ) -> None:
        self.lat = lat
        self.lng = lng
        self.username = username
        self.password = password
        self.phone = phone
        self.code = code
        self.scopes = scope.split()


@public.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Log in (OAuth2 password form)",
    responses=_LOGIN_REFUSALS,
)
async def login(
    request: Request,
    form: Annotated[LoginForm, Depends()],
    settings: AppSettings,
    database: Annotated[Database, Depends(get_database)],
) -> TokenOut:
    """Trade a username and password for a bearer token. Wrong passwords lock the account, and
    the client address, for a while after a few; a locked login is refused with 429.

    Residents send `phone` and `code` instead (the code from `POST /api/v1/auth/sms-code`): a
    new number gets a resident account. A wrong, expired or used code is 401; wrong codes lock
    the number and the address like wrong passwords (docs/residents.md)."""
    if form.phone is not None or form.code is not None:
        user_id = await _check_sms_code(request, database, settings, form)
        token = issue_token(
            user_id=user_id, key=settings.resolved_secret_key(), minutes=settings.token_minutes
        )
        return TokenOut(access_token=token, expires_in=settings.token_minutes * 60)
    if form.username is None or form.password is None:
        raise invalid(
            "username" if form.username is None else "password",
            "send username and password, or phone and code",
            "请填写用户名和密码，或手机号和验证码",
        )
    user = await _check_password(request, database, form.username, form.password)
    if user is None:
        raise Problem(
            401, "bad-credentials", "Wrong username or password", "用户名或密码错误",
            "wrong username or password, or the account is disabled",
            "用户名或密码错误，或账号已停用",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    token = issue_token(
        user_id=user.id, key=settings.resolved_secret_key(), minutes=settings.token_minutes
    )
    return TokenOut(access_token=token, expires_in=settings.token_minutes * 60)


def _presented_claims(request: Request, principal: Principal) -> list[TokenClaims]:
    """The token(s) of this caller in the request: the bearer token, else the session cookie
    (found as the cookie holding a valid token of this user)."""
    reader = request.app.state.tokens
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    candidates = (
        [bearer] if scheme.lower() == "bearer" and bearer else list(request.cookies.values())
    )
    found = []
    for candidate in candidates:
        try:
            claims = token_claims(candidate, key=reader.key)
        except TokenError:
            continue
        if claims.user_id == principal.user_id:
            found.append(claims)
    return found


@router.post("/auth/logout", status_code=204, summary="Log out: this token stops working")
def logout(request: Request, principal: CurrentPrincipal, db: WriteSession) -> Response:
    """End the session the request came with (bearer token or browser cookie) on every
    instance at once; the user's other sessions go on."""
    for claims in _presented_claims(request, principal):
        revoke_token(db=db, claims=claims)
    db.commit()
    return Response(status_code=204)


@router.post(
    "/users/me/password",
    response_model=TokenOut,
    summary="Change one's own password; every session ends, a new token is returned",
)
async def change_password(
    body: PasswordChange,
    request: Request,
    principal: CurrentPrincipal,
    settings: AppSettings,
    database: Annotated[Database, Depends(get_database)],
) -> TokenOut:
    """The current password proves it is the user (wrong ones count towards the lockout); the
    new one must pass the password policy. Every session of the user ends, on every device,
    and the reply carries a new token for this one."""
    user = await _check_password(request, database, principal.username, body.current_password)
    if user is None:
        raise invalid("current_password", "wrong password", "当前密码不正确")

    def change() -> None:
        with database.transaction() as session:
            service.change_own_password(
                db=session, user_id=principal.user_id, new=body.new_password,
                policy=service.password_policy(settings),
            )  # fmt: skip

    await run_in_threadpool(change)
    token = issue_token(
        user_id=principal.user_id, key=settings.resolved_secret_key(),
        minutes=settings.token_minutes,
    )  # fmt: skip
    return TokenOut(access_token=token, expires_in=settings.token_minutes * 60)


def user_out(user: User, home: OrgUnit, principal: Principal) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        name=user.name,
        phone=mask_phone(user.phone, principal, subject=("user_account", user.id)),
        roles=user.roles,
        home=OrgRef(id=home.id, code=home.code, name=home.name, kind=home.kind),
        unit_id=user.unit_id,
        is_active=user.is_active,
    )


@router.get("/users/me", response_model=UserOut)
def me(principal: CurrentPrincipal, db: DbSession) -> UserOut:
    """The caller's own account."""
    _, rows = service.list_users(db=db, principal=principal, limit=1, username=principal.username)
    if not rows:
        raise invalid("token", "account no longer exists", "账号不存在")
    user, home = rows[0]
    return user_out(user, home, principal)


@router.get("/users", response_model=Page[UserOut])
def list_users(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    role: str | None = None,
    org: str | None = None,
    q: Annotated[
        str | None, Query(max_length=64, description="Start of a username or part of a name.")
    ] = None,
) -> Page[UserOut]:
    """Users whose home lies in the caller's scope; filter by role, org unit code and text."""
    principal.require_role("admin", "operator", "leader", "grid_leader")
    if role is not None and role not in ROLES:
        raise invalid(
            "role",
            f"unknown role; known: {', '.join(ROLES)}",
            f"未知角色；可选：{'、'.join(ROLES)}",
        )
    total, rows = service.list_users(
        db=db, principal=principal, role=role, org_code=org, text=(q or "").strip() or None,
        offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    items = [user_out(u, h, principal) for u, h in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(
    body: UserCreate, principal: CurrentPrincipal, db: WriteSession, settings: AppSettings
) -> UserOut:
    """Add a user (administrators only; the new user's home must lie in the caller's scope).
    A password must pass the password policy (docs/security.md)."""
    principal.require_role("admin")
    user = service.create_user(db=db, **body.model_dump(), policy=service.password_policy(settings))
    home = db.get(OrgUnit, user.home_org_id)
    assert home is not None
    principal.require_covers(home.path)
    db.commit()
    return user_out(user, home, principal)


def user_detail(db: Session, user: User, home: OrgUnit, principal: Principal) -> UserDetail:
    unit = db.get(Unit, user.unit_id) if user.unit_id is not None else None
    return UserDetail(
        **user_out(user, home, principal).model_dump(),
        grids=[
            OrgRef(id=g.id, code=g.code, name=g.name, kind=g.kind)
            for g in service.user_grids(db=db, user_id=user.id)
        ],
        unit=UnitRef(id=unit.id, code=unit.code, name=unit.name) if unit else None,
    )


@router.get("/users/{user_id}", response_model=UserDetail)
def get_user(user_id: int, principal: CurrentPrincipal, db: DbSession) -> UserDetail:
    """One user in the caller's scope, with the grids they serve and their unit."""
    principal.require_role("admin", "operator", "leader", "grid_leader")
    user, home = service.get_user_in_scope(db=db, principal=principal, user_id=user_id)
    return user_detail(db, user, home, principal)


@router.patch("/users/{user_id}", response_model=UserDetail)
def edit_user(
    user_id: int,
    body: UserEdit,
    request: Request,
    principal: CurrentPrincipal,
    db: WriteSession,
    settings: AppSettings,
) -> UserDetail:
    """Change a user (administrators; the user's old and new home must lie in their scope).
    A new password, or new roles, home, unit or active flag, ends the user's sessions on every
    instance at once."""
    principal.require_role("admin")
    user, _ = service.get_user_in_scope(db=db, principal=principal, user_id=user_id)
    service.edit_user(
        db=db, principal=principal, user=user, changes=body.model_dump(exclude_unset=True),
        policy=service.password_policy(settings),
    )  # fmt: skip
    db.commit()
    # The user's tokens are refused everywhere at once (auth.sessions); API keys' principals on
    # other instances follow within the cache's check interval.
    request.app.state.principals.clear()
    home = db.get(OrgUnit, user.home_org_id)
    assert home is not None
    return user_detail(db, user, home, principal)


@router.post("/api-keys", response_model=ApiKeyOut, status_code=201)
def create_api_key(body: ApiKeyCreate, principal: CurrentPrincipal, db: WriteSession) -> ApiKeyOut:
    """Make an API key for a machine account; the key is in this response only."""
    principal.require_role("admin")
    made = service.create_api_key(db=db, username=body.username, name=body.name)
    db.commit()
    return ApiKeyOut(key=made.key, prefix=made.prefix)


# Counts the org tree and the people in it; auth sits above org, so the route lives here.
org_router = APIRouter(tags=["org"])


@org_router.get("/org/summary", response_model=OrgSummary)
def org_summary(principal: CurrentPrincipal, db: DbSession) -> OrgSummary:
    """Counts of towns, villages, grids, grid workers, units and users in the caller's scope."""
    return OrgSummary(
        **org_service.summary(db=db, principal=principal),
        **service.staff_counts(db=db, principal=principal),
    )
