"""Rate limits on the doors anyone can knock on: logins, the public catalogue, Open311 and the
IoT webhook. One ASGI middleware with a table of (method, path) → rule, so the routes stay as
they are; counts live in memory, or in Redis when `FENGQIAO_REDIS_URL` is set so that every
instance shares them. A refusal is 429 problem+json with `Retry-After`, counted by rule.

The middleware also notes who is calling (`current_caller`): the client address as the rate
limits see it, which the login lockout counts by.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import Counter
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fengqiao.config import Settings
from fengqiao.errors import Problem, refusal_response

REFUSALS = Counter(
    "fengqiao_rate_limit_refusals",
    "Requests refused by a rate limit (429), by rule.",
    ["rule"],
)

# First match wins. Signed-in work is on no budget here: its callers are known and scoped.
RULE_TABLE: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/api/v1/auth/token$"), "login"),
    ("POST", re.compile(r"^/login$"), "login"),
    ("POST", re.compile(r"^/api/v1/users/me/password$"), "login"),
    ("POST", re.compile(r"^/open311/v2/requests\.[a-z]+$"), "open311_post"),
    ("GET", re.compile(r"^/api/v1/public/report-lookup/"), "lookup"),
    ("GET", re.compile(r"^/open311/v2/"), "public"),
    ("GET", re.compile(r"^/api/v1/public/"), "public"),
    ("GET", re.compile(r"^/services$"), "public"),
    ("GET", re.compile(r"^/tv$"), "public"),
    ("GET", re.compile(r"^/r/map$"), "public"),
    ("POST", re.compile(r"^/api/v1/iot/alarms$"), "iot"),
)


@dataclass(frozen=True)
class Caller:
    """Who sent the request being served: its client address and the serving app's state."""

    address: str
    app_state: Any


current_caller: ContextVar[Caller | None] = ContextVar("fengqiao_caller", default=None)


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`10.0.0.0/8, 127.0.0.1` → networks; a bad entry is a configuration error."""
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]


def _trusted(address: str, trusted: Sequence[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Any]) -> str:
    """The socket peer; when that is a trusted proxy, the rightmost X-Forwarded-For address that
    is not itself a trusted proxy (each proxy appends what it saw, so only the right end can be
    believed: a client may put anything at the left)."""
    if isinstance(trusted, Sequence) and trusted and isinstance(trusted[0], str):
        trusted = parse_networks(",".join(trusted))
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain: count the proxy, not a made-up name
        if not _trusted(hop, trusted):
            return hop
    return peer


class RateLimits:
    """The rules of one app: limits per rule, the storage and the strategy."""

    def __init__(self, settings: Settings) -> None:
        self.rules: dict[str, list[RateLimitItem]] = {
            "login": parse_many(settings.rate_limit_login),
            "public": parse_many(settings.rate_limit_public),
            "open311_post": parse_many(settings.rate_limit_open311_post),
            "iot": parse_many(settings.rate_limit_iot),
            "lookup": parse_many(settings.rate_limit_lookup),
            # Counted by the SMS sign-in route itself (the number is in the body).
            "sms_phone": parse_many(settings.rate_limit_sms_phone),
            "sms_address": parse_many(settings.rate_limit_sms_address),
        }
        self.enabled = settings.rate_limit_enabled
        self.trusted = parse_networks(settings.trusted_proxies)
        storage: Storage
        if settings.redis_url:
            url = settings.redis_url
            if not url.startswith("async+"):
                url = "async+" + url
            storage = RedisStorage(
                url, implementation="redispy", key_prefix=settings.rate_limit_key_prefix
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)

    @staticmethod
    def rule_for(method: str, path: str) -> str | None:
        for rule_method, pattern, rule in RULE_TABLE:
            if method == rule_method and pattern.match(path):
                return rule
        return None

    async def retry_after(self, rule: str, address: str) -> int | None:
        """None when the request may go on (and is counted); else seconds to wait."""
        for item in self.rules[rule]:
            if not await self.limiter.hit(item, rule, address):
                stats = await self.limiter.get_window_stats(item, rule, address)
                wait = math.ceil(stats.reset_time - time.time())
                return min(max(wait, 1), item.get_expiry())
        return None


def refusal(retry_after: int) -> Problem:
    return Problem(
        429, "rate-limited", "Too many requests", "请求过于频繁",
        f"too many requests from your address; retry in {retry_after} s",
        f"您的请求过于频繁，请 {retry_after} 秒后再试",
        headers={"Retry-After": str(retry_after)},
    )  # fmt: skip


class RateLimitMiddleware:
    """Counts the requests the rule table names and refuses those over their budget, before
    anything reads the body; notes the caller for everyone downstream."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else "unknown"
        forwarded = None
        if self.limits.trusted:
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    # Several headers read as one comma-separated list, in order.
                    forwarded = (
                        f"{forwarded}, {value.decode('latin-1')}"
                        if forwarded
                        else (value.decode("latin-1"))
                    )
        address = client_address(peer, forwarded, self.limits.trusted)
        app = scope.get("app")
        token = current_caller.set(Caller(address, getattr(app, "state", None)))
        try:
            rule = (
                self.limits.rule_for(scope["method"], scope["path"])
                if self.limits.enabled
                else None
            )
            if rule is not None:
                wait = await self.limits.retry_after(rule, address)
                if wait is not None:
                    REFUSALS.labels(rule=rule).inc()
                    await door_refusal(scope, refusal(wait))(scope, receive, send)
                    return
            await self.app(scope, receive, send)
        finally:
            current_caller.reset(token)


def door_refusal(scope: Scope, problem: Problem) -> Response:
    """The refusal as the door's callers expect it: a person at the login form gets the form
    again with a Chinese message; everyone else gets problem+json."""
    if scope["method"] == "POST" and scope["path"] == "/login":
        return RedirectResponse(
            "/login?reason=limited", status_code=303, headers=problem.headers or None
        )
    return refusal_response(scope, problem)


def install_rate_limits(app: Any, settings: Settings) -> RateLimits:
    """Put the rate limits in front of the app's routes."""
    limits = RateLimits(settings)
    app.state.rate_limits = limits
    app.add_middleware(RateLimitMiddleware, limits=limits)
    return limits
