"""CORS for the Open311 surface only, for the origins an administrator allows
(`open311_cors_origins`): a portal's page on another origin may read and post; every other
origin, and every path outside /open311/v2/, gets no CORS header at all."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Content-Type, X-Api-Key, Idempotency-Key"
MAX_AGE = "600"


class Open311Cors:
    """Answers preflights and marks responses under `prefix` for allowed origins."""

    def __init__(self, app: ASGIApp, prefix: str, origins: frozenset[str]) -> None:
        self.app, self.prefix, self.origins = app, prefix, origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        allowed = origin is not None and origin in self.origins
        if (
            scope["method"] == "OPTIONS"
            and allowed
            and "access-control-request-method" in Headers(scope=scope)
        ):
            response = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin or "",
                    "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Max-Age": MAX_AGE,
                    "Vary": "Origin",
                },
            )
            await response(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                if allowed:
                    headers["Access-Control-Allow-Origin"] = origin or ""
            await send(message)

        await self.app(scope, receive, marked)


def install(app: FastAPI, prefix: str) -> None:
    """Add the middleware when origins are configured (none: nothing changes)."""
    origins = frozenset(app.state.settings.open311_cors_origins)
    if origins:
        app.add_middleware(Open311Cors, prefix=prefix, origins=origins)
