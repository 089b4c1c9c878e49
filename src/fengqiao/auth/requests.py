"""Who is calling: the principal of a bearer token, an API key or the browser's session cookie
(whose unsafe requests must carry the CSRF token), cached per instance while accounts have not
changed. `app.py` installs `authenticate` as the app's authenticator; `deps.CurrentPrincipal`
calls it, so the request wiring below auth needs nothing from auth.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from fengqiao.auth.cookies import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_matches
from fengqiao.auth.security import TokenError, api_key_prefix, hash_api_key
from fengqiao.auth.service import (
    PrincipalCache,
    accounts_generation,
    load_principal,
    principal_for_api_key,
)
from fengqiao.db import Database
from fengqiao.errors import forbidden, unauthorized
from fengqiao.scope import Principal


async def authenticate(request: Request, token: str | None, api_key: str | None) -> Principal:
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
        principal = await run_in_threadpool(load_user, app_state.db, user_id)
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


def load_user(database: Database, user_id: int) -> Principal | None:
    """The user's principal read from the database now (no cache)."""
    with database.session() as session:
        return load_principal(db=session, user_id=user_id)


def _load_key(database: Database, key: str) -> Principal | None:
    with database.session() as session:
        return principal_for_api_key(db=session, key=key)
