"""Request dependencies: the database session, the settings and the authenticated caller.

Every API route depends on `CurrentPrincipal` unless it is explicitly public (health, login).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from fengqiao.auth.security import TokenError, api_key_prefix, hash_api_key
from fengqiao.auth.service import (
    PrincipalCache,
    accounts_generation,
    load_principal,
    principal_for_api_key,
)
from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.errors import forbidden, unauthorized
from fengqiao.geo.service import GridLocator
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import Rules, RulesCache
from fengqiao.web.session import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_matches

# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop that cost the grid lookup a third of its throughput.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_locator(request: Request) -> GridLocator:
    locator: GridLocator = request.app.state.locator
    return locator


def app_rules(request: Request, db: Session) -> Rules:
    """The process's snapshot of classes, routing, deadlines and questions, checked against the
    stored counter when due (see `RulesCache`)."""
    cache: RulesCache = request.app.state.rules
    return cache.get(db)


def read_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    session = database.session()
    try:
        yield session
    finally:
        session.close()


def write_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session holding the write lock; the view commits, anything unfinished rolls back."""
    session = database.session(write=True)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


async def current_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller, from a bearer token, an API key or the browser's session cookie (whose unsafe
    requests must carry the CSRF token); 401 with the reason otherwise."""
    app_state = request.app.state
    if not token and not api_key:
        token = request.cookies.get(SESSION_COOKIE)
        if token and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            if not csrf_matches(token, app_state.signing_key, sent):
                raise forbidden(
                    "missing or wrong CSRF token: send the page's X-CSRF-Token header",
                    "缺少或错误的 CSRF 令牌：请刷新页面后重试",
                )
    if token and api_key_prefix(token) is not None:
        token, api_key = None, token  # an API key sent as a bearer token
    if token:
        try:
            user_id = app_state.tokens.read(token)
        except TokenError as exc:
            if exc.expired:
                raise unauthorized("token expired; log in again", "登录已过期，请重新登录") from exc
            raise unauthorized("invalid token", "令牌无效") from exc
        principal = await principal_of_user(app_state, user_id)
        if principal is None:
            raise unauthorized("user disabled or removed", "用户已停用或不存在")
        return principal
    if api_key:
        principal = await principal_of_api_key(app_state, api_key)
        if principal is None:
            raise unauthorized("invalid or revoked API key", "API 密钥无效或已吊销")
        return principal
    raise unauthorized(
        "log in first: send a bearer token or an X-API-Key header",
        "请先登录：请求需携带令牌或 X-API-Key",
    )


async def principal_of_user(app_state: Any, user_id: int) -> Principal | None:
    """The user's principal, from the instance's cache while accounts have not changed."""
    cache: PrincipalCache = app_state.principals
    await _check_accounts(cache, app_state.db)
    key = ("user", user_id)
    principal = cache.get(key)
    if principal is None:
        principal = await run_in_threadpool(_load_user, app_state.db, user_id)
        if principal is not None:
            cache.put(key, principal)
    return principal


async def principal_of_api_key(app_state: Any, api_key: str) -> Principal | None:
    """The API key's principal (None: unknown, revoked or its account disabled), from the
    instance's cache while accounts have not changed."""
    cache: PrincipalCache = app_state.principals
    await _check_accounts(cache, app_state.db)
    key: object = ("key", hash_api_key(api_key))
    principal = cache.get(key)
    if principal is None:
        principal = await run_in_threadpool(_load_key, app_state.db, api_key)
        if principal is not None:
            cache.put(key, principal)
    return principal


async def _check_accounts(cache: PrincipalCache, database: Database) -> None:
    if cache.needs_check():
        await run_in_threadpool(_read_generation, cache, database)


def _read_generation(cache: PrincipalCache, database: Database) -> None:
    with database.session() as session:
        cache.refresh(accounts_generation(session))


def _load_user(database: Database, user_id: int) -> Principal | None:
    with database.session() as session:
        return load_principal(db=session, user_id=user_id)


def _load_key(database: Database, key: str) -> Principal | None:
    with database.session() as session:
        return principal_for_api_key(db=session, key=key)


async def ready_locator(request: Request) -> GridLocator:
    """The grid locator, checked against the stored grids at most every few seconds."""
    locator: GridLocator = request.app.state.locator
    if locator.needs_check():
        await run_in_threadpool(_refresh_locator, locator, request.app.state.db)
    return locator


def _refresh_locator(locator: GridLocator, database: Database) -> None:
    with database.session() as session:
        locator.refresh(session)


DbSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppClock = Annotated[Clock, Depends(get_clock)]
AppDatabase = Annotated[Database, Depends(get_database)]
Locator = Annotated[GridLocator, Depends(ready_locator)]
