"""Browser sessions: the access token in an HttpOnly cookie, and CSRF tokens for what it sends.

A page's scripts call the same /api/v1 as every other client, authenticated by the session
cookie instead of a bearer header. Because a browser attaches cookies to requests other sites
make it send, every unsafe request authenticated by the cookie must carry the CSRF token
(header `X-CSRF-Token`, or the form field `csrf_token` for the few plain HTML forms). The token
is an HMAC of the session token, so it needs no server storage, changes with every login, and
cannot be planted by a sibling subdomain the way a plain double-submit cookie can.

Checked in the principal dependency rather than in a middleware: API clients with bearer tokens
or API keys pay nothing, and the hot endpoints stay free of a per-request ASGI wrapper.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from fengqiao.config import Settings

SESSION_COOKIE = "fq_session"
# Before login there is no session to bind to: the login form carries a random token that must
# match this cookie (double submit), so no other site can log a visitor into its own account.
LOGIN_COOKIE = "fq_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str, key: str) -> str:
    """The CSRF token that goes with one session."""
    return hmac.new(key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, key: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_token, key), sent or "")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_token_matches(request: Request, sent: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE)
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie or "", sent or "")


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def start_session(response: Response, request: Request, settings: Settings, token: str) -> None:
    """Set the session cookie; it lives as long as the token inside it."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def set_login_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
        path="/",
    )
